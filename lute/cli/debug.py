"""Debug exits of ``lute run``: show what would run, run nothing, record nothing.

* ``LUTE_DEBUG_EXIT_AT_YAML``: load and validate the configuration (with
  substitutions and ``LUTE_<param>`` overrides), print the parameters the
  Task would get, exit 0.
* ``LUTE_DEBUG_BEFORE_TPP_EXEC``: for a third-party Task, do everything the
  Task does before ``exec`` (render the config template, which is written,
  switch to the program's environment, resolve the program) and print the
  command instead of running it, exit 0. Other Tasks run as usual.

Both act in the ``lute`` process before any Executor is built, so no Task
process starts and the database is not touched: a debug exit can never be
mistaken for a real run. Any value other than empty or ``0`` turns one on.
"""

from __future__ import annotations

import os
import sys

import yaml

from lute.config.loader import load_task_parameters
from lute.managed_tasks import ManagedTask
from lute.tasks import registry

ENV_EXIT_AT_YAML = "LUTE_DEBUG_EXIT_AT_YAML"
ENV_BEFORE_TPP_EXEC = "LUTE_DEBUG_BEFORE_TPP_EXEC"


def requested(variable: str) -> bool:
    """Whether the debug exit ``variable`` is turned on."""
    return os.environ.get(variable, "") not in ("", "0")


def exit_at_yaml(managed: ManagedTask, config: str, why: str = ENV_EXIT_AT_YAML) -> None:
    """Print the validated parameters of ``managed``'s Task as YAML.

    Args:
        managed: The managed task that would run.
        config: Its configuration file.
        why: What asked for it (``--dry-run`` or the variable), named in the output.
    """
    task = managed.task_name
    params = load_task_parameters(
        config, task, registry.parameter_model(task), known_tasks=registry.task_names
    )
    sys.stdout.write(
        f"# {why}: validated parameters of {task} from {config}, after substitutions,"
        " LUTE_<param> overrides and defaults; nothing was run\n"
    )
    sys.stdout.write(yaml.safe_dump({task: params.model_dump(mode="json")}, sort_keys=False))


def is_third_party(managed: ManagedTask) -> bool:
    """Whether ``managed`` runs an external program."""
    from lute.tasks.third_party import ThirdPartyTask  # noqa: PLC0415 (debug path only)

    return issubclass(registry.task_class(managed.task_name), ThirdPartyTask)


def before_exec(managed: ManagedTask, config: str) -> None:
    """Prepare ``managed``'s program as its Task would, and print the command."""
    task = managed.task_name
    params = load_task_parameters(config, task, registry.parameter_model(task))
    environ = dict(os.environ)
    if managed.program_env is not None:
        environ.update(managed.program_env.task_variables())
    prepared = registry.task_class(task)(params, name=task).prepare(environ)
    sys.stdout.write(f"# {ENV_BEFORE_TPP_EXEC}: would exec {prepared.program} as:\n")
    sys.stdout.write(f"{prepared}\n")
