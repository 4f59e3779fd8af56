"""Load a lute YAML configuration, substitute variables, validate a Task's section.

A configuration file holds two YAML documents: a header shared by all Tasks
(``title``, ``experiment``, ``run``, ``date``, ``lute_version``,
``task_timeout``, ``work_dir``), then one section per Task. Any string may
contain substitutions:

* ``{{ key }}`` or ``{{ nested.key }}``: a value from the same Task's
  section, else from the whole second document, else from the header (also
  reachable as ``{{ lute_config.key }}``);
* ``{{ $NAME }}``: the environment variable ``NAME``;
* ``{{ run:04d }}``: any of the above with a Python format spec.

A string that is exactly one substitution without a format keeps the
substituted value's type (``{{ run }}`` stays an integer).

When a section is validated, ``LUTE_<param>`` environment variables override
its parameters (see ``lute.config.overrides``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from lute.config.models.base import AnalysisHeader, TaskParameters
from lute.config.overrides import apply_overrides, find_overrides
from lute.core.exceptions import ConfigurationError

_SUBSTITUTION = re.compile(r"\{\{\s*(?P<name>\$?[A-Za-z_][\w.\-]*)\s*(?::(?P<spec>[^}]*?))?\s*\}\}")
_MAX_DEPTH = 10
_MISSING = object()


def load_documents(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read the header and the Task sections, with substitutions applied.

    Raises:
        ConfigurationError: The file is missing, is not valid YAML, does not
            have the two-document shape, or names an unknown variable.
    """
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigurationError(f"{where}: cannot read config: {err.strerror}") from err
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        position = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigurationError(f"{where}{position}: invalid YAML: {problem}") from err
    if len(documents) != 2:
        raise ConfigurationError(
            f"{where}: expected 2 YAML documents (header, then Task sections "
            f"separated by '---'), found {len(documents)}"
        )
    header, tasks = documents
    header = {} if header is None else header
    tasks = {} if tasks is None else tasks
    for name, document in (("header", header), ("Task sections", tasks)):
        if not isinstance(document, dict):
            raise ConfigurationError(
                f"{where}: the {name} document must be a mapping of keys to values,"
                f" not {type(document).__name__}"
            )
    header = _Substituter(where, header, {}, header).apply(header, [])
    header = _with_env_fallbacks(header)
    tasks = _Substituter(where, tasks, tasks, header).resolve_sections()
    return header, tasks


def _with_env_fallbacks(header: dict[str, Any]) -> dict[str, Any]:
    """Give substitutions the same experiment/run/work_dir the model will use."""
    known = {k: v for k, v in header.items() if k in AnalysisHeader.model_fields}
    try:
        filled = AnalysisHeader.model_validate(known)
    except ValidationError:
        return header  # reported, with the key, when the Task section is validated
    return {**header, **filled.model_dump()}


class _Substituter:
    """Resolves ``{{ ... }}`` in one document, naming the key on any error."""

    def __init__(
        self,
        where: str,
        document: dict[str, Any],
        sections: dict[str, Any],
        header: dict[str, Any],
    ) -> None:
        self._where = where
        self._document = document
        self._sections = sections
        self._header = header
        self._section: dict[str, Any] = {}

    def resolve_sections(self) -> dict[str, Any]:
        resolved: dict[str, Any] = {}
        for name, section in self._document.items():
            self._section = section if isinstance(section, dict) else {}
            resolved[name] = self.apply(section, [str(name)])
        return resolved

    def apply(self, value: Any, path: list[str], depth: int = 0) -> Any:
        if isinstance(value, dict):
            return {k: self.apply(v, [*path, str(k)], depth) for k, v in value.items()}
        if isinstance(value, list):
            return [
                self.apply(v, [*path[:-1], f"{path[-1]}[{i}]"] if path else [f"[{i}]"], depth)
                for i, v in enumerate(value)
            ]
        if not isinstance(value, str) or "{{" not in value:
            return value
        if depth >= _MAX_DEPTH:
            raise ConfigurationError(
                f"{self._where}: {'.'.join(path)}: substitutions nest more than "
                f"{_MAX_DEPTH} deep (a cycle?)"
            )
        whole = _SUBSTITUTION.fullmatch(value.strip())
        if whole and not whole.group("spec"):
            return self.apply(self._lookup(whole.group("name"), path), path, depth + 1)

        def replace(match: re.Match[str]) -> str:
            found = self.apply(self._lookup(match.group("name"), path), path, depth + 1)
            spec = match.group("spec") or ""
            try:
                return format(found, spec)
            except (ValueError, TypeError) as err:
                raise ConfigurationError(
                    f"{self._where}: {'.'.join(path)}: cannot format "
                    f"{match.group('name')}={found!r} with ':{spec}': {err}"
                ) from err

        return _SUBSTITUTION.sub(replace, value)

    def _lookup(self, name: str, path: list[str]) -> Any:
        if name.startswith("$"):
            value = os.environ.get(name[1:])
            if value is None:
                raise ConfigurationError(
                    f"{self._where}: {'.'.join(path)}: environment variable "
                    f"{name[1:]} is not set (used as {{{{ {name} }}}})"
                )
            return value
        keys = name.split(".")
        scopes: list[dict[str, Any]] = [self._section, self._sections, self._header]
        if keys[0] == "lute_config":
            scopes, keys = [self._header], keys[1:]
        for scope in scopes:
            found = _dig(scope, keys)
            if found is not _MISSING:
                return found
        raise ConfigurationError(
            f"{self._where}: {'.'.join(path)}: unknown substitution variable "
            f"{{{{ {name} }}}} (not a key of this Task's section, of another "
            "section, or of the header)"
        )


def _dig(scope: dict[str, Any], keys: list[str]) -> Any:
    node: Any = scope
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return _MISSING
        node = node[key]
    return node


def validate_task_section(
    where: str,
    task_name: str,
    model: type[TaskParameters],
    header: dict[str, Any],
    tasks: dict[str, Any],
    *,
    environ: Mapping[str, str] | None = None,
) -> TaskParameters:
    """Validate one Task's section, with ``LUTE_<param>`` overrides, against its model.

    Args:
        where: The config file, for messages.
        task_name: The section to validate.
        model: Its parameter model.
        header: The first document.
        tasks: The second document.
        environ: Where overrides are read; defaults to ``os.environ``.

    Raises:
        ConfigurationError: One line per problem, each naming the key and,
            for an overridden value, the environment variable.
    """
    section = tasks.get(task_name)
    if section is None:
        section = {}
    if not isinstance(section, dict):
        raise ConfigurationError(
            f"{where}: {task_name}: section must be a mapping, not {type(section).__name__}"
        )
    overrides = find_overrides(model.model_fields, os.environ if environ is None else environ)
    section = apply_overrides(section, overrides)
    try:
        return model.model_validate({**section, "lute_config": header})
    except ValidationError as err:
        problems = []
        for error in err.errors():
            key = _format_location(error["loc"], within=task_name)
            given = ""
            if error["type"] not in ("missing", "extra_forbidden") and "input" in error:
                given = f" (got {error['input']!r})"
            source = next((o.variable for o in overrides if o.covers(error["loc"])), None)
            origin = f" (from environment variable {source})" if source else ""
            problems.append(f"{where}: {key}: {error['msg']}{given}{origin}")
        if task_name not in tasks:
            problems.append(f"{where}: no section named '{task_name}' in the config")
        raise ConfigurationError("\n".join(problems)) from err


def _format_location(loc: tuple[int | str, ...], *, within: str = "") -> str:
    """A pydantic error location as a key path: ``within.key[0].sub``."""
    parts = [within] if within else []
    for item in loc:
        if isinstance(item, int) and parts:
            parts[-1] += f"[{item}]"
        else:
            parts.append(str(item))
    return ".".join(parts)


def load_task_parameters(
    path: str | os.PathLike[str], task_name: str, model: type[TaskParameters]
) -> TaskParameters:
    """Load ``path`` and return ``task_name``'s validated parameters."""
    header, tasks = load_documents(path)
    return validate_task_section(str(path), task_name, model, header, tasks)


def load_header(path: str | os.PathLike[str]) -> AnalysisHeader:
    """The validated header of the configuration at ``path``.

    For callers that need only the shared settings (the work dir, the
    experiment and run that name batch jobs), before any Task's section is
    known to be valid.

    Raises:
        ConfigurationError: The file or its header is invalid; all problems
            on one line.
    """
    header, _ = load_documents(path)
    try:
        return AnalysisHeader.model_validate(header)
    except ValidationError as err:
        problems = "; ".join(
            f"{_format_location(error['loc'])}: {error['msg']}" for error in err.errors()
        )
        raise ConfigurationError(f"{path}: header: {problems}") from err
