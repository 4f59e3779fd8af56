"""An Executor as data: described on one host, rebuilt on another.

``lute submit`` and workflows describe a managed task's Executor as JSON
and the batch node rebuilds it. Environment changes travel as the steps
that made them (replayed on the new host's environment, not copied), hooks
and tasklets by import path, and default hooks are implied by the class.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from lute.core.exceptions import ConfigurationError
from lute.execution.hooks import Hook, Tasklet
from lute.execution.plugins import callable_path, executor_class, import_path

if TYPE_CHECKING:
    from lute.execution.executor import BaseExecutor

ExecutorT = TypeVar("ExecutorT", bound="BaseExecutor")


def describe_executor(
    executor_type: type[BaseExecutor],
    task_name: str,
    *,
    options: Mapping[str, Any],
    environment: Sequence[Mapping[str, Any]],
    hooks: Mapping[str, Hook],
    tasklets: Sequence[Tasklet],
) -> dict[str, Any]:
    """A JSON-serialisable description that ``rebuild_executor`` turns back into an Executor.

    Args:
        executor_type: The Executor's class.
        task_name: The Task it runs.
        options: Its constructor's keyword arguments.
        environment: The environment steps applied to it, in order.
        hooks: Hooks that differ from the class's defaults.
        tasklets: Its tasklets.

    Raises:
        ConfigurationError: A hook or tasklet has no import path (a lambda, a
            nested function, code in ``__main__``) or an option or tasklet
            argument is not JSON-serialisable.
    """
    description = {
        "executor": f"{executor_type.__module__}:{executor_type.__qualname__}",
        "task_name": task_name,
        "options": dict(options),
        "environment": [dict(step) for step in environment],
        "hooks": {name: callable_path(hook, f"hook {name}") for name, hook in hooks.items()},
        "tasklets": [
            {
                "function": callable_path(tasklet.function, "tasklet"),
                "args": list(tasklet.args),
                "when": tasklet.when,
                "set_result": tasklet.set_result,
                "set_summary": tasklet.set_summary,
            }
            for tasklet in tasklets
        ],
    }
    try:
        json.dumps(description)
    except (TypeError, ValueError) as err:
        raise ConfigurationError(
            f"{executor_type.__name__}.to_dict: not JSON-serialisable: {err}"
        ) from err
    return description


def rebuild_executor(base: type[ExecutorT], description: Mapping[str, Any]) -> ExecutorT:
    """Build the Executor ``describe_executor`` described, e.g. on a batch node.

    Raises:
        ConfigurationError: The description is incomplete, names an unknown
            class, hook or tasklet, or a class that is not ``base`` or a
            subclass of it.
    """
    try:
        executor_type = executor_class(description["executor"])
        if not issubclass(executor_type, base):
            raise ConfigurationError(
                f"{description['executor']} is not a {base.__name__}; cannot rebuild it as one"
            )
        executor = executor_type(description["task_name"], **description.get("options", {}))
        for step in description.get("environment", []):
            if "source" in step:
                executor.shell_source(step["source"])
            else:
                executor.update_environment(step["update"], step["update_path"])
        for name, path in description.get("hooks", {}).items():
            executor.add_hook(name, import_path(path))
        for tasklet in description.get("tasklets", []):
            executor.add_tasklet(
                import_path(tasklet["function"]),
                tuple(tasklet["args"]),
                tasklet["when"],
                tasklet["set_result"],
                tasklet["set_summary"],
            )
    except (KeyError, TypeError) as err:
        raise ConfigurationError(f"invalid executor description: {err!r}") from err
    return executor
