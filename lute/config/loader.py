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

The file is read and resolved within the limits of ``lute.config.limits``
(its size, nesting, and what substitutions may produce). Loading a Task's
parameters resolves only the header and that Task's section (and what its
substitutions refer to): another Task's section may be wrong, or enormous,
without stopping or slowing this one. An explicit ``work_dir`` must exist.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from lute.config.limits import MAX_PRODUCED, Budget
from lute.config.models.base import AnalysisHeader, TaskParameters
from lute.config.overrides import apply_overrides, find_overrides
from lute.config.reading import read_documents
from lute.config.substitution import Substituter
from lute.core.exceptions import ConfigurationError
from lute.core.names import close_names

logger = logging.getLogger(__name__)

SECTION_TYPO_CUTOFF = 0.7
"""How alike a section's name must be to the Task's to be taken for a typo of it."""
EXECUTOR_KEY = "lute_executor"
"""Reserved key of a Task's section: how to run the Task, not one of its parameters
(read by ``lute.config.executor_settings``)."""


def load_documents(
    path: str | os.PathLike[str], task_name: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read the header and the Task sections, with substitutions applied.

    Args:
        path: The configuration file.
        task_name: Resolve only this Task's section (and what its
            substitutions refer to); the other sections are returned as
            written, so a mistake in another Task's section, however large,
            neither stops nor slows this Task. ``None`` resolves every
            section.

    Raises:
        ConfigurationError: The file is missing, too large, not valid YAML,
            does not have the two-document shape, names an unknown variable,
            its substitutions produce too much, or its explicit ``work_dir``
            does not exist.
    """
    wanted = None if task_name is None else [task_name]
    return _load(path, wanted)


def _load(
    path: str | os.PathLike[str], wanted: list[str] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``load_documents``, resolving the sections named in ``wanted`` (all if ``None``)."""
    where = str(path)
    documents = read_documents(path)
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
    budget = Budget(
        where,
        MAX_PRODUCED,
        "values and characters produced by expanding aliases and substitutions",
        "an alias or substitution that multiplies?",
    )
    header = Substituter(where, {}, header, budget).resolve(header, {}, "")
    _check_work_dir(where, header)
    header = _with_env_fallbacks(header)
    substituter = Substituter(where, tasks, header, budget)
    names = list(tasks) if wanted is None else [name for name in wanted if name in tasks]
    resolved = {name: substituter.resolve(tasks[name], tasks[name], str(name)) for name in names}
    return header, {**tasks, **resolved}


def _check_work_dir(where: str, header: dict[str, Any]) -> None:
    """Refuse an explicit ``work_dir`` that is not an existing directory.

    lute would otherwise create it, and every directory above it, wherever
    a typo or a copied config points (as root, anywhere). The default work
    dir (``$LUTE_WORK_DIR`` or ``./lute_work``) is not checked: lute creates
    it, so a new user's first run needs no setup.
    """
    given = header.get("work_dir")
    if not given or not isinstance(given, str):
        return  # the default, or a bad type the header model reports
    path = Path(given).expanduser()
    if path.is_dir():
        return
    state = "is not a directory" if path.exists() else "does not exist; create it first"
    shown = given if given.isprintable() else repr(given)
    raise ConfigurationError(f"{where}: work_dir {shown} {state}")


def _with_env_fallbacks(header: dict[str, Any]) -> dict[str, Any]:
    """Give substitutions the same experiment/run/work_dir the model will use."""
    known = {k: v for k, v in header.items() if k in AnalysisHeader.model_fields}
    try:
        filled = AnalysisHeader.model_validate(known)
    except ValidationError:
        return header  # reported, with the key, when the Task section is validated
    return {**header, **filled.model_dump()}


def check_section(
    where: str, task_name: str, sections: Iterable[str], other_tasks: Iterable[str]
) -> None:
    """Refuse a config whose section for ``task_name`` looks misspelt.

    Without its section a Task runs on every default, which is right for a
    Task without parameters and wrong when the section is there under a
    misspelt name (``Tset:`` for ``Test``). A section counts as a typo when
    its name is close to the Task's and is not itself another Task's name.

    Args:
        where: The configuration file, for the message.
        task_name: The Task about to run.
        sections: The names of the file's sections.
        other_tasks: Every Task name lute knows.

    Raises:
        ConfigurationError: ``task_name`` has no section and one is close.
    """
    names = [str(name) for name in sections]
    if task_name in names:
        return
    known = set(other_tasks)
    close = close_names(task_name, [n for n in names if n not in known], cutoff=SECTION_TYPO_CUTOFF)
    if close:
        raise ConfigurationError(
            f"{where}: no section '{task_name}' for Task {task_name}; did you mean"
            f" '{close[0]}'? (a Task's section is named after the Task; add"
            f" '{task_name}: {{}}' to run it on its defaults)"
        )


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
    section = {key: value for key, value in section.items() if key != EXECUTOR_KEY}
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
    path: str | os.PathLike[str],
    task_name: str,
    model: type[TaskParameters],
    *,
    known_tasks: Callable[[], Iterable[str]] | None = None,
) -> TaskParameters:
    """Load ``path`` and return ``task_name``'s validated parameters.

    Only the header and this Task's section are resolved (see
    ``load_documents``).

    Args:
        path: The configuration file.
        task_name: The Task whose parameters to return.
        model: Its parameter model.
        known_tasks: Gives every Task name lute knows. When given, a missing
            section is checked for a typo (``check_section``), and a Task
            run without a section is logged as a warning. The Executor
            gives it; the Task process, which loads the same file after the
            Executor checked it, does not, so the warning is logged once.

    Raises:
        ConfigurationError: See ``load_documents``, ``check_section`` and
            ``validate_task_section``.
    """
    where = str(path)
    header, tasks = load_documents(path, task_name)
    missing = known_tasks is not None and task_name not in tasks
    if missing:
        check_section(where, task_name, tasks, known_tasks())
    params = validate_task_section(where, task_name, model, header, tasks)
    if missing:
        logger.warning(
            "%s: no section '%s': Task %s runs with every parameter at its default",
            where,
            task_name,
            task_name,
        )
    return params


def load_header(path: str | os.PathLike[str]) -> AnalysisHeader:
    """The validated header of the configuration at ``path``.

    For callers that need only the shared settings (the work dir, the
    experiment and run that name batch jobs), before any Task's section is
    known to be valid.

    Raises:
        ConfigurationError: The file or its header is invalid; all problems
            on one line.
    """
    header, _ = _load(path, [])
    try:
        return AnalysisHeader.model_validate(header)
    except ValidationError as err:
        problems = "; ".join(
            f"{_format_location(error['loc'])}: {error['msg']}" for error in err.errors()
        )
        raise ConfigurationError(f"{path}: header: {problems}") from err
