"""``lute run --dry-run``: how a managed task would run, and where each setting comes from.

Loads and validates the configuration (the Task's parameters and every
Executor setting), then prints each Executor setting with its value and its
source, in the precedence of ``lute.config.executor_settings``, and the
sbatch defaults ``lute submit`` would write into the batch script. Nothing
is started and nothing is recorded.
"""

from __future__ import annotations

import inspect

from lute.cli.table import format_table
from lute.config.executor_settings import SETTINGS, SOURCE_DEFAULT
from lute.config.loader import load_task_parameters
from lute.managed_tasks import ManagedTask
from lute.tasks import registry

UNCUT = 10_000
"""Sources are paths: shown whole."""


def describe_run(name: str, managed: ManagedTask, config: str) -> str:
    """What ``lute run -t NAME -c CONFIG`` would run, as text.

    Raises:
        ConfigurationError: The configuration or a setting is invalid.
    """
    model = registry.parameter_model(managed.task_name)
    params = load_task_parameters(config, managed.task_name, model, known_tasks=registry.task_names)
    settings = managed.settings(config)
    defaults = _constructor_defaults(managed)
    rows = []
    for key in SETTINGS:
        if key in settings.options:
            rows.append([key, settings.options[key], settings.sources[key]])
        else:
            rows.append([key, defaults.get(key), SOURCE_DEFAULT + _note(key, params)])
    lines = [
        f"managed task {name}: Task {managed.task_name}, Executor {managed.executor}",
        f"configuration {config}: valid",
        "",
        format_table(["EXECUTOR SETTING", "VALUE", "FROM"], rows, limit=UNCUT),
    ]
    if settings.sbatch:
        sbatch = [
            [f"--{key}", value, settings.sbatch_sources[key]]
            for key, value in settings.sbatch.items()
        ]
        lines += ["", format_table(["SBATCH DEFAULT", "VALUE", "FROM"], sbatch, limit=UNCUT)]
    lines += ["", "dry run: nothing was started or recorded"]
    return "\n".join(lines)


def _constructor_defaults(managed: ManagedTask) -> dict[str, object]:
    from lute.execution.executor import BaseExecutor  # noqa: PLC0415 (only for --dry-run)

    signature = inspect.signature(BaseExecutor.__init__)
    return {
        name: parameter.default
        for name, parameter in signature.parameters.items()
        if name in SETTINGS and parameter.default is not inspect.Parameter.empty
    }


def _note(key: str, params: object) -> str:
    if key == "time_limit":
        timeout = params.lute_config.task_timeout  # type: ignore[attr-defined]
        return f" (none: the header's task_timeout, {timeout:g} s, applies)"
    if key in ("log_dir", "log_stdout", "log_stderr"):
        return " (logs/<Task>/<run id>/attempt-<N>.out|.err in the work dir)"
    return ""
