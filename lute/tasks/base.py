"""The Task side of a managed task: base classes for analysis code.

A ``Task`` subclass implements ``_run`` (and optionally ``_pre_run`` and
``_post_run``); ``run`` wraps them with the messages the Executor expects:
``TASK_STARTED`` with the validated parameters first, then any number of
``TASK_LOG`` reports, then ``TASK_RESULT`` with the ``TaskResult``, or
``TASK_FAILED`` with the traceback if anything raised.
"""

from __future__ import annotations

import inspect
import logging
import os
import traceback
from typing import Any

from lute.config.models.base import TaskParameters
from lute.core.analysis import TaskResult, TaskStatus
from lute.core.exceptions import ConfigurationError, LuteError
from lute.core.progress import TaskProgress
from lute.ipc.message import Message
from lute.ipc.task_side import PipeWriter, SocketWriter, task_channel

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
        use_mpi: LUTE's switch for MPI Tasks; lute's are ``MPITask``
            subclasses (``lute.tasks.mpi``), so only ``False`` is accepted.

    Raises:
        ConfigurationError: ``use_mpi`` is true.
    """

    def __init__(
        self,
        params: TaskParameters,
        name: str | None = None,
        channel: PipeWriter | SocketWriter | None = None,
        *,
        use_mpi: bool = False,
    ) -> None:
        if use_mpi:
            raise ConfigurationError(
                f"{type(self).__name__}: use_mpi=True is LUTE's; derive from"
                " lute.tasks.mpi.MPITask instead, whose ranks report as one"
            )
        self._task_parameters = params
        self._name = name or type(self).__name__
        self._channel = channel
        self._result = TaskResult(task_name=self._name)

    @property
    def name(self) -> str:
        """The name this Task runs under."""
        return self._name

    def run(self) -> None:
        """Run the Task, reporting its start, progress and result.

        On failure the summary is the error's message for a ``LuteError``
        (which already says what and where), else the full traceback.
        """
        self._report_to_executor(Message(self._task_parameters, "TASK_STARTED"))
        self._result.task_status = TaskStatus.RUNNING
        try:
            self._enter_run_directory()
            self._pre_run()
            self._run()
            self._post_run()
        except BaseException as err:
            self._result.task_status = TaskStatus.FAILED
            self._result.summary = (
                str(err) if isinstance(err, LuteError) else "".join(traceback.format_exception(err))
            )
            self._report_to_executor(Message(self._result, "TASK_FAILED"))
            raise
        if self._result.task_status is TaskStatus.RUNNING:
            self._result.task_status = TaskStatus.COMPLETED
        self._report_to_executor(Message(self._result, "TASK_RESULT"))
        self._close_channel()

    def _enter_run_directory(self) -> None:
        """Change to the model's LUTE ``Config.run_directory``, if it names one.

        Some programs look for their inputs in the directory they run in.
        A directory that does not exist is a failure of the run, not a
        warning as in LUTE: the program would fail later, less clearly.
        """
        directory = getattr(getattr(self._task_parameters, "Config", None), "run_directory", None)
        if directory:
            try:
                os.chdir(directory)
            except OSError as err:
                raise ConfigurationError(
                    f"{self.name}: cannot run in run_directory {directory}: {err.strerror}"
                ) from err
            logger.debug("%s runs in %s", self.name, directory)

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

    def _report_progress(self, done: float, total: float, text: str = "") -> None:
        """Tell the person watching how far the Task has got (``done`` of ``total``).

        Shown as a progress bar on a terminal and as a line every 10 %
        elsewhere; cheap enough to call for every unit of work.
        """
        self._report(TaskProgress(done, total, text))

    def _close_channel(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None


def build_task(task_cls: type[Task], params: TaskParameters, name: str) -> Task:
    """A ``task_cls`` for ``params``, running under ``name``, whichever constructor it has.

    lute's Tasks take ``(params, name=...)``; Tasks written for LUTE define
    ``__init__(self, *, params)`` and call ``super().__init__(params=params)``.
    Both are built here, so LUTE Task code runs unchanged.
    """
    accepted = inspect.signature(task_cls).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    if takes_any or "name" in accepted:
        return task_cls(params=params, name=name)
    task = task_cls(params=params)
    task._name = name
    task._result.task_name = name
    return task
