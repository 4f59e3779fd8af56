"""Executor settings in YAML: per Task in the configuration, and a site file.

How a managed task is run (how often a failed attempt is retried, its time
limit, the grace between SIGTERM and SIGKILL, where its logs go) can be set
without Python. Each setting is taken from the first of these that gives it,
highest precedence first:

1. a workflow node's ``retries`` / ``time_limit`` (the workflow hands them to
   the node's ``lute run`` in ``$LUTE_EXECUTOR_SETTINGS``, a JSON object);
2. the Task's section of the configuration, under the reserved key
   ``lute_executor``::

       Test:
         loops: 3
         lute_executor: {retries: 2, time_limit: 1800, kill_grace: 10}

3. the managed task's definition in Python (``lute.managed_tasks`` or a
   plugin's);
4. the site file named by ``$LUTE_SITE_CONFIG``, under ``executor:``;
5. the Executor's own defaults.

The most specific source wins: a node of this workflow, then this
experiment's configuration, then the code that defines the managed task,
then the facility. The site file also holds the facility's default sbatch
options, which a Task's ``lute_executor.sbatch`` extends or overrides::

    executor: {kill_grace: 10}
    sbatch: {partition: milano, account: "lcls:{{ experiment }}"}

Values of the site file may use the configuration's substitutions
(``{{ experiment }}``, ``{{ run }}``, ``{{ $VAR }}``), resolved against the
header of the configuration being run. ``lute run --dry-run`` shows each
setting with the source it came from. A setting that lute does not know, or
a value of the wrong kind, is refused before anything runs, naming the file
(or variable) and the key.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lute.config.limits import MAX_PRODUCED, Budget
from lute.config.loader import EXECUTOR_KEY, load_documents
from lute.config.reading import read_documents
from lute.config.substitution import Substituter
from lute.core.exceptions import ConfigurationError
from lute.core.names import check_line

ENV_SITE_CONFIG = "LUTE_SITE_CONFIG"
ENV_NODE_SETTINGS = "LUTE_EXECUTOR_SETTINGS"

SETTINGS = ("retries", "time_limit", "kill_grace", "log_dir", "log_stdout", "log_stderr")
"""Executor options that YAML may set (the ``BaseExecutor`` constructor's)."""
SITE_SECTIONS = ("executor", "sbatch")
_OPTION_NAME = re.compile(r"[a-z][a-z0-9-]*")
_IN_SCRIPT = "it is written into the batch script"

SOURCE_DEFAULT = "the Executor's default"


@dataclass(frozen=True)
class ExecutorSettings:
    """The settings a managed task runs with, each with where it came from.

    Attributes:
        options: Executor constructor options that some source set.
        sources: For each of ``options``, the source that set it.
        sbatch: Default sbatch options (name -> value; ``True`` for a flag).
        sbatch_sources: For each of ``sbatch``, the source that set it.
    """

    options: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    sbatch: dict[str, Any] = field(default_factory=dict)
    sbatch_sources: dict[str, str] = field(default_factory=dict)

    def sbatch_args(self) -> tuple[str, ...]:
        """The sbatch defaults as command-line options (``--partition=milano``)."""
        return tuple(
            f"--{name}" if value is True else f"--{name}={value}"
            for name, value in self.sbatch.items()
        )


def resolve_executor_settings(
    config: str | os.PathLike[str],
    task_name: str,
    managed_options: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
) -> ExecutorSettings:
    """Merge every source of a Task's Executor settings (see the module docstring).

    Args:
        config: The configuration being run.
        task_name: The Task whose section may hold ``lute_executor``.
        managed_options: The managed task's own Executor options.
        environ: Where ``$LUTE_SITE_CONFIG`` and ``$LUTE_EXECUTOR_SETTINGS``
            are read; defaults to ``os.environ``.

    Raises:
        ConfigurationError: A source names an unknown setting or has a bad
            value; the message names the file or variable and the key.
    """
    env = os.environ if environ is None else environ
    where = str(config)
    header, tasks = load_documents(config, task_name)
    section = tasks.get(task_name)
    given = section.get(EXECUTOR_KEY) if isinstance(section, dict) else None
    task_options, task_sbatch = _split(given, where, f"{task_name}.{EXECUTOR_KEY}")
    site_options: dict[str, Any] = {}
    site_sbatch: dict[str, Any] = {}
    site = env.get(ENV_SITE_CONFIG)
    if site:
        site_options, site_sbatch = read_site_file(site, header)
    node = _node_settings(env)
    layers = [
        (site_options, f"site file {site} (executor)"),
        ({k: v for k, v in managed_options.items() if k in SETTINGS}, "the managed task"),
        (task_options, f"{where} ({task_name}.{EXECUTOR_KEY})"),
        (node, f"the workflow node (${ENV_NODE_SETTINGS})"),
    ]
    settings = ExecutorSettings()
    for values, source in layers:
        for key, value in values.items():
            settings.options[key] = value
            settings.sources[key] = source
    for values, source in (
        (site_sbatch, f"site file {site} (sbatch)"),
        (task_sbatch, f"{where} ({task_name}.{EXECUTOR_KEY}.sbatch)"),
    ):
        for key, value in values.items():
            settings.sbatch[key] = value
            settings.sbatch_sources[key] = source
    for key in [k for k, v in settings.sbatch.items() if v is False or v is None]:
        del settings.sbatch[key]
        del settings.sbatch_sources[key]
    return settings


def read_site_file(path: str, header: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``executor`` and ``sbatch`` settings of a site file, resolved against ``header``.

    Raises:
        ConfigurationError: The file is unreadable or invalid; the message
            names it and the key.
    """
    documents = read_documents(path)
    document = documents[0] if documents else None
    if len(documents) > 1 or not isinstance(document, dict | None):
        raise ConfigurationError(f"{path}: a site file is one YAML mapping with executor, sbatch")
    document = document or {}
    unknown = sorted(set(map(str, document)) - set(SITE_SECTIONS))
    if unknown:
        raise ConfigurationError(
            f"{path}: {unknown[0]}: unknown section; valid sections: {', '.join(SITE_SECTIONS)}"
        )
    budget = Budget(path, MAX_PRODUCED, "values produced by substitutions", "a loop?")
    resolved = Substituter(path, {}, dict(header), budget).resolve(document, {}, "")
    options = _check_options(resolved.get("executor"), path, "executor")
    sbatch = _check_sbatch(resolved.get("sbatch"), path, "sbatch")
    return options, sbatch


def _split(value: Any, where: str, location: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A ``lute_executor`` mapping as (Executor options, sbatch options)."""
    if value is None:
        return {}, {}
    if not isinstance(value, dict):
        raise ConfigurationError(
            f"{where}: {location}: must be a mapping of settings, not {type(value).__name__}"
        )
    options = {k: v for k, v in value.items() if k != "sbatch"}
    return (
        _check_options(options, where, location),
        _check_sbatch(value.get("sbatch"), where, f"{location}.sbatch"),
    )


def _check_options(value: Any, where: str, location: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigurationError(
            f"{where}: {location}: must be a mapping of settings, not {type(value).__name__}"
        )
    valid = (*SETTINGS, "sbatch") if location.endswith(EXECUTOR_KEY) else SETTINGS
    checked = {}
    for key, item in value.items():
        if key not in SETTINGS:
            raise ConfigurationError(
                f"{where}: {location}.{key}: unknown setting; valid settings: {', '.join(valid)}"
            )
        checked[key] = _check_value(key, item, f"{where}: {location}.{key}")
    return checked


def _check_value(key: str, value: Any, label: str) -> Any:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if key == "retries":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigurationError(f"{label}: must be a whole number >= 0, not {value!r}")
        return value
    if key == "time_limit":
        if not number or value <= 0:
            raise ConfigurationError(f"{label}: must be seconds > 0, not {value!r}")
        return float(value)
    if key == "kill_grace":
        if not number or value < 0:
            raise ConfigurationError(f"{label}: must be seconds >= 0, not {value!r}")
        return float(value)
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{label}: must be a path template, not {value!r}")
    return value


def _check_sbatch(value: Any, where: str, location: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigurationError(
            f"{where}: {location}: must map sbatch option names to values"
            f" ({{partition: milano}}), not {type(value).__name__}"
        )
    checked: dict[str, Any] = {}
    for key, item in value.items():
        name = str(key)
        if not _OPTION_NAME.fullmatch(name):
            raise ConfigurationError(
                f"{where}: {location}.{name}: not an sbatch option name (write it without"
                " dashes: partition, account, time)"
            )
        if item is None or isinstance(item, bool):
            checked[name] = item
        elif isinstance(item, str | int | float):
            checked[name] = check_line(f"{where}: {location}.{name}", str(item), _IN_SCRIPT)
        else:
            raise ConfigurationError(
                f"{where}: {location}.{name}: must be a value or true, not {type(item).__name__}"
            )
    return checked


def _node_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    text = environ.get(ENV_NODE_SETTINGS)
    if not text:
        return {}
    where = f"environment variable {ENV_NODE_SETTINGS}"
    try:
        value = json.loads(text)
    except ValueError as err:
        raise ConfigurationError(f"{where}: not a JSON object: {err}") from err
    return _check_options(value, where, "settings")
