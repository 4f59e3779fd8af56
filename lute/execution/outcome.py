"""What a run's messages and its end mean for its record.

Pure functions over a ``DescribedAnalysis`` and a ``RunState``: the record is
brought up to date with each message before any hook sees it, and the final
status is decided from the messages, the exit status and what the
Supervisor did. Keeping them apart from the Executor's process handling lets
them be read (and tested) as the rules they are.
"""

from __future__ import annotations

import os
import reprlib
import socket
import time
from dataclasses import dataclass
from typing import Any

from lute.config.models.base import TaskParameters
from lute.core.analysis import DescribedAnalysis, TaskResult, TaskStatus
from lute.core.progress import TaskProgress
from lute.execution.process import CANCEL_REQUEST, signal_name
from lute.execution.supervisor import RunState
from lute.ipc.message import Message


@dataclass(frozen=True)
class Outcome:
    """How an attempt ended.

    Attributes:
        status: The final status.
        hook: The hook that announces it.
        reason: Why it is not COMPLETED (``None`` when it is).
    """

    status: TaskStatus
    hook: str
    reason: str | None = None


def new_attempt(
    task_name: str, params: TaskParameters, run_id: str, attempt: int, env: dict[str, str]
) -> DescribedAnalysis:
    """The record of an attempt about to start: where, which run, with what."""
    return DescribedAnalysis(
        task_result=TaskResult(task_name),
        task_parameters=params,
        task_env=env,
        host=socket.gethostname(),
        run_id=run_id,
        attempt=attempt,
        slurm_job_id=os.environ.get("SLURM_JOB_ID"),
    )


def track_message(desc: DescribedAnalysis, msg: Message) -> None:
    """Keep the record up to date with a Task's message, before any hook runs."""
    if msg.signal == "TASK_STARTED":
        if isinstance(msg.contents, TaskParameters):
            desc.task_parameters = msg.contents
            declared = msg.contents.result_from_parameters()
            if declared is not None:
                desc.task_result.payload = declared
            desc.task_result.impl_schemas = type(msg.contents).impl_schemas
        desc.task_result.task_status = TaskStatus.RUNNING
    elif msg.signal in ("TASK_FAILED", "TASK_RESULT"):
        if isinstance(msg.contents, TaskResult):
            adopt_result(desc, msg.contents)
        if msg.signal == "TASK_FAILED":
            desc.task_result.task_status = TaskStatus.FAILED
    elif isinstance(msg.contents, TaskProgress):
        desc.progress, desc.progress_time = msg.contents, time.time()


def adopt_result(desc: DescribedAnalysis, reported: TaskResult) -> None:
    """Take the Task's result, keeping a payload declared by its parameters."""
    current = desc.task_result
    if reported.payload in ("", None) and current.payload not in ("", None):
        reported.payload = current.payload
    reported.impl_schemas = reported.impl_schemas or current.impl_schemas
    desc.task_result = reported


def decide_outcome(state: RunState, code: int | None, reported: TaskStatus) -> Outcome:
    """The final status of an attempt.

    Exit status 0 alone is not success: a Python Task's last word is
    ``TASK_RESULT`` (or ``TASK_FAILED``), so one that exits 0 without it
    (``os._exit(0)``, a C extension calling ``exit``) did not finish its work.
    A third-party Task speaks the protocol only until it ``exec``s its
    program; it says so with ``NO_PICKLE_MODE`` just before, and from then on
    the program's exit status is the result.

    Args:
        state: What the Supervisor saw and did.
        code: The Task process's exit status (negative: killed by a signal).
        reported: The status the Task's own messages left in the record.
    """
    if state.proc is None:
        return Outcome(TaskStatus.FAILED, "task_failed", f"could not start: {state.start_error}")
    if state.timed_out:
        return Outcome(
            TaskStatus.TIMEDOUT, "task_cancelled", f"exceeded its time limit of {state.limit:g}s"
        )
    if state.cancelled_by is not None:
        why = (
            "Executor.cancel() was called"
            if state.cancelled_by == CANCEL_REQUEST
            else f"the Executor received {signal_name(state.cancelled_by)}"
        )
        return Outcome(TaskStatus.CANCELLED, "task_cancelled", f"was cancelled ({why})")
    if code is not None and code < 0:
        return Outcome(TaskStatus.FAILED, "task_failed", f"was killed by {signal_name(-code)}")
    if code:
        return Outcome(TaskStatus.FAILED, "task_failed", f"exited with code {code}")
    if reported is TaskStatus.FAILED:
        return Outcome(TaskStatus.FAILED, "task_failed", "reported a failure")
    if not state.signals & {"TASK_RESULT", "NO_PICKLE_MODE"}:
        return Outcome(
            TaskStatus.FAILED, "task_failed", f"exited with code {code} without reporting a result"
        )
    return Outcome(TaskStatus.COMPLETED, "task_done")


def describe_contents(contents: Any) -> str:
    """A short, bounded description of a message's contents for the log."""
    short = reprlib.Repr()
    short.maxstring = 200
    short.maxother = 200
    if isinstance(contents, dict):
        return "{" + ", ".join(f"{k!r}: {_brief(v, short)}" for k, v in contents.items()) + "}"
    return _brief(contents, short)


def _brief(value: Any, short: reprlib.Repr) -> str:
    shape = getattr(value, "shape", None)
    if shape is not None and hasattr(value, "dtype"):
        return f"<array shape={tuple(shape)} dtype={value.dtype}>"
    return short.repr(value)
