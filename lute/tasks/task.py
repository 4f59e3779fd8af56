"""The Task side of a managed task: base classes for analysis code.

A ``Task`` subclass implements ``_run`` (and optionally ``_pre_run`` and
``_post_run``); ``run`` wraps them with the messages the Executor expects:
``TASK_STARTED`` with the validated parameters first, then any number of
``TASK_LOG`` reports, then ``TASK_RESULT`` with the ``TaskResult``, or
``TASK_FAILED`` with the traceback if anything raised.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import traceback
from typing import Any

from lute.exceptions import ConfigurationError
from lute.execution.ipc import Message, PipeWriter, SocketWriter, task_channel
from lute.io.models.base import TaskParameters, ThirdPartyParameters
from lute.tasks.dataclasses import TaskResult, TaskStatus

logger = logging.getLogger(__name__)


class Task:
    """Base class of analysis Tasks.

    Args:
        params: The validated parameters of this Task.
        name: The name the Task runs under (its config section); defaults to
            the class name. Generic classes such as ``ThirdPartyTask`` serve
            several names.
        channel: Where to report; by default the channel the Executor set up
            for this process.
    """

    def __init__(
        self,
        params: TaskParameters,
        name: str | None = None,
        channel: PipeWriter | SocketWriter | None = None,
    ) -> None:
        self._task_parameters = params
        self._name = name or type(self).__name__
        self._channel = channel
        self._result = TaskResult(task_name=self._name)

    @property
    def name(self) -> str:
        """The name this Task runs under."""
        return self._name

    def run(self) -> None:
        """Run the Task, reporting its start, progress and result."""
        self._report_to_executor(Message(self._task_parameters, "TASK_STARTED"))
        self._result.task_status = TaskStatus.RUNNING
        try:
            self._pre_run()
            self._run()
            self._post_run()
        except BaseException as err:
            self._result.task_status = TaskStatus.FAILED
            self._result.summary = "".join(traceback.format_exception(err))
            self._report_to_executor(Message(self._result, "TASK_FAILED"))
            raise
        if self._result.task_status is TaskStatus.RUNNING:
            self._result.task_status = TaskStatus.COMPLETED
        self._report_to_executor(Message(self._result, "TASK_RESULT"))
        self._close_channel()

    def _pre_run(self) -> None:
        """Prepare inputs; runs before ``_run``."""

    def _run(self) -> None:
        """Do the analysis. Subclasses must implement this."""
        raise NotImplementedError(f"{self.name} does not implement _run()")

    def _post_run(self) -> None:
        """Tidy up and fill ``self._result``; runs after ``_run``."""

    def _report_to_executor(self, msg: Message) -> None:
        """Send a message to the Executor on whichever channel it set up."""
        if self._channel is None:
            self._channel = task_channel()
        self._channel.write(msg)

    def _report(self, contents: Any) -> None:
        """Report progress or data; the Executor logs it and passes it to hooks."""
        self._report_to_executor(Message(contents, "TASK_LOG"))

    def _close_channel(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None


def build_command(params: ThirdPartyParameters) -> list[str]:
    """Turn third-party parameters into an argument vector.

    Rules, per field (``json_schema_extra`` keys in brackets):

    * ``executable`` is the program; ``lute_config`` is never passed on.
    * Fields named ``p_arg1``, ``p_arg2``, ... are positional, in that order.
    * ``None``, empty strings and empty lists are left out.
    * ``True`` booleans become a bare flag; ``False`` ones are left out.
    * Other values become ``--name value`` (one-letter names: ``-n value``);
      ``flag_type`` ("-", "--" or "") overrides the dashes and
      ``rename_param`` the name; ``long_flags_use_eq`` gives ``--name=value``.
    * Lists repeat their values after one flag.
    """
    positional: list[tuple[int, list[str]]] = []
    flags: list[str] = []
    fields = type(params).model_fields
    values = {name: getattr(params, name) for name in fields}
    values.update(params.model_extra or {})
    for name, value in values.items():
        if name in ("executable", "lute_config") or _is_empty(value) or value is False:
            continue
        info = fields.get(name)
        extra = info.json_schema_extra if info is not None else None
        options: dict[str, Any] = extra if isinstance(extra, dict) else {}
        rendered = [str(v) for v in value] if isinstance(value, list) else [str(value)]
        if name.startswith("p_arg") and name[5:].isdigit():
            positional.append((int(name[5:]), rendered))
            continue
        flag_name = str(options.get("rename_param", name))
        dashes = options.get("flag_type", "-" if len(flag_name) == 1 else "--")
        flag = f"{dashes}{flag_name}"
        if value is True:
            flags.append(flag)
        elif options.get("long_flags_use_eq") and not isinstance(value, list):
            flags.append(f"{flag}={rendered[0]}")
        else:
            flags.extend([flag, *rendered])
    args = [arg for _, group in sorted(positional) for arg in group]
    return [params.executable, *flags, *args]


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, (str, list, dict)) and len(value) == 0)


class ThirdPartyTask(Task):
    """Runs an external program in place of the Task process.

    The Task announces itself, then ``exec``s the program, so the program's
    exit status is the process's and its output reaches the Executor over
    the same pipes.
    """

    def _run(self) -> None:
        params = self._task_parameters
        if not isinstance(params, ThirdPartyParameters):
            raise ConfigurationError(
                f"{self.name}: parameters must derive from ThirdPartyParameters"
            )
        command = build_command(params)
        program = shutil.which(command[0])
        if program is None:
            raise ConfigurationError(
                f"{self.name}: executable '{command[0]}' not found"
                f" (PATH={os.environ.get('PATH', '')})"
            )
        logger.debug("exec: %s", command)
        self._report(f"Running: {' '.join(command)}")
        self._close_channel()
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(program, command)
