"""An Executor's extension points: hooks, tasklets and environment changes.

A hook is called when the Task sends a signal; a tasklet is a function the
Executor runs in its own process before or after the Task. Both are plain
callables, so a managed task can be configured without subclassing.
"""

from __future__ import annotations

import logging
import re
import reprlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lute.core.analysis import DescribedAnalysis, TaskResult
from lute.core.exceptions import ConfigurationError
from lute.core.progress import TaskProgress
from lute.execution.outcome import describe_contents
from lute.ipc.message import LUTE_SIGNALS, Message
from lute.tasks.environment import merge_environment, source_script

if TYPE_CHECKING:
    from lute.execution.executor import BaseExecutor

logger = logging.getLogger(__name__)

Hook = Callable[["BaseExecutor", Message], None]
"""Called as ``hook(executor, message)`` when the Task sends its signal."""
HOOK_NAMES: tuple[str, ...] = tuple(name.lower() for name in LUTE_SIGNALS)
TASKLET_WHEN = ("before", "after")
_PARAMETER = re.compile(r"\{\{\s*([A-Za-z_][\w.]*)\s*\}\}")


@dataclass
class Tasklet:
    """A function the Executor runs in its own process before or after the Task.

    Attributes:
        function: What to call.
        args: Positional arguments for it.
        when: ``"before"`` the Task starts, or ``"after"`` it completed.
        set_result: Store the return value as the result payload.
        set_summary: Store the return value as the result summary.
    """

    function: Callable[..., Any]
    args: tuple[Any, ...] = ()
    when: str = "after"
    set_result: bool = False
    set_summary: bool = False


def fill_arguments(args: tuple[Any, ...], params: Any) -> tuple[Any, ...]:
    """``args`` with each ``{{ name }}`` (``{{ lute_config.run }}``) read from ``params``.

    An argument that is exactly one ``{{ name }}`` is the parameter's value,
    of its own type (LUTE converts the text back instead); otherwise the
    values are written into the text.

    Raises:
        ConfigurationError: A name is not a parameter of the Task.
    """

    def value_of(match: re.Match[str]) -> Any:
        node = params
        for part in match.group(1).split("."):
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif hasattr(node, part):
                node = getattr(node, part)
            else:
                raise ConfigurationError(
                    f"tasklet argument {match.group(0)!r}: the Task has no parameter"
                    f" {match.group(1)!r}"
                )
        return node

    filled = []
    for arg in args:
        if not isinstance(arg, str) or "{{" not in arg:
            filled.append(arg)
            continue
        whole = _PARAMETER.fullmatch(arg.strip())
        if whole:
            filled.append(value_of(whole))
        else:
            filled.append(_PARAMETER.sub(lambda m: str(value_of(m)), arg))
    return tuple(filled)


def _added(current: Any, value: Any) -> Any:
    if current in (None, ""):
        return value
    if isinstance(current, list):
        return [*current, value]
    return [current, value]


class DefaultHooks:
    """What an Executor does with each signal unless a hook replaces it: log it.

    The record itself is kept by the Executor before any hook runs, so these
    only tell the person watching.
    """

    _task_name: str
    _analysis_desc: DescribedAnalysis

    def _hook_task_started(self, msg: Message) -> None:
        if isinstance(msg.contents, TaskResult):
            logger.info("%s resumed", self._task_name)
        else:
            logger.info("%s started", self._task_name)

    def _hook_task_failed(self, msg: Message) -> None:
        logger.error("%s failed", self._task_name)

    def _hook_task_stopped(self, msg: Message) -> None:
        logger.warning("%s stopped", self._task_name)

    def _hook_task_done(self, msg: Message) -> None:
        logger.debug("%s done", self._task_name)

    def _hook_task_cancelled(self, msg: Message) -> None:
        logger.warning(
            "%s ended: %s", self._task_name, self._analysis_desc.task_result.task_status.value
        )

    def _hook_task_result(self, msg: Message) -> None:
        result = self._analysis_desc.task_result
        logger.info("%s result: %s", self._task_name, result.summary)
        if result.payload not in ("", None):
            payload = (
                result.payload
                if isinstance(result.payload, str)
                else describe_contents(result.payload)
            )
            logger.info("%s payload: %s", self._task_name, payload)

    def _hook_task_log(self, msg: Message) -> None:
        if isinstance(msg.contents, TaskProgress):
            return  # the Supervisor shows progress as a bar or a line every 10 %
        text = msg.contents if isinstance(msg.contents, str) else describe_contents(msg.contents)
        logging.getLogger(f"lute.task.{self._task_name}").info("%s", text)

    def _hook_no_pickle_mode(self, msg: Message) -> None:
        logger.debug("%s asked for text-only messages", self._task_name)


class ExecutorExtensions(DefaultHooks):
    """What a managed task adds to its Executor: hooks, tasklets, environment changes.

    Environment changes are kept as the steps that made them, so a described
    Executor replays them on another host. An exception in a tasklet is
    reported through ``_record_executor_error`` (the Executor keeps it in the
    run's record); it never changes the Task's status.
    """

    _hooks: dict[str, Hook]
    _tasklets: list[Tasklet]
    _env: dict[str, str]
    _env_steps: list[dict[str, Any]]
    _record_executor_error: Callable[[str], None]

    def add_default_hooks(self) -> None:
        """Install the hook for every signal; subclasses may add their own."""
        for name in HOOK_NAMES:
            self._hooks[name] = getattr(type(self), f"_hook_{name}")

    def add_hook(self, event: str, hook: Hook) -> None:
        """Replace the function called when the Task sends ``event``.

        The Executor keeps the run's status and result itself, so a hook is
        free to do anything (or nothing) with the message.

        Args:
            event: A signal name such as ``task_started`` (any case).
            hook: Called as ``hook(executor, message)``.

        Raises:
            ConfigurationError: ``event`` is not a known signal.
        """
        name = event.lower()
        if name not in HOOK_NAMES:
            raise ConfigurationError(
                f"no event {event!r}; hooks exist for: {', '.join(HOOK_NAMES)}"
            )
        self._hooks[name] = hook

    def add_tasklet(
        self,
        tasklet: Callable[..., Any],
        args: tuple[Any, ...] = (),
        when: str = "after",
        set_result: bool = False,
        set_summary: bool = False,
    ) -> None:
        """Run ``tasklet(*args)`` in the Executor before or after the Task.

        Before-tasklets run before every attempt; after-tasklets only when
        the Task completed. A string argument may name the Task's parameters
        as ``"{{ out_file }}"`` or ``"r{{ lute_config.run }}"`` (see
        ``fill_arguments``). An exception in a tasklet (or an unknown name)
        is logged and recorded; it does not change the Task's status.
        """
        if when not in TASKLET_WHEN:
            raise ConfigurationError(
                f"tasklet when={when!r} is not valid; choose one of: {', '.join(TASKLET_WHEN)}"
            )
        self._tasklets.append(Tasklet(tasklet, tuple(args), when, set_result, set_summary))

    def _run_tasklets(self, when: str) -> None:
        """Run the tasklets of ``when``, their ``{{ param }}`` arguments filled in.

        As in LUTE, a value a tasklet returns for the summary (or payload)
        is added to what is there: it becomes the value when there is none,
        else the two become a list, and a list grows.
        """
        result = self._analysis_desc.task_result
        for tasklet in self._tasklets:
            if tasklet.when != when:
                continue
            name = getattr(tasklet.function, "__name__", repr(tasklet.function))
            try:
                args = fill_arguments(tasklet.args, self._analysis_desc.task_parameters)
                value = tasklet.function(*args)
            except Exception:
                self._record_executor_error(f"tasklet {name} raised")
                continue
            logger.info("tasklet %s returned %s", name, reprlib.repr(value))
            if value is None:
                continue
            if tasklet.set_result:
                result.payload = _added(result.payload, value)
            if tasklet.set_summary:
                result.summary = _added(result.summary, value)

    def update_environment(self, env: dict[str, str], update_path: str = "prepend") -> None:
        """Set variables in the Task's environment; see ``merge_environment``."""
        self._env = merge_environment(self._env, env, update_path)
        self._env_steps.append({"update": dict(env), "update_path": update_path})

    def shell_source(self, script: str) -> None:
        """Replace the Task's environment with the one ``script`` sets up."""
        self._env = source_script(script, self._env)
        self._env_steps.append({"source": str(script)})
