"""Status, result and run-record types shared by the Task and Executor sides."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from lute.core.progress import TaskProgress


class TaskStatus(enum.Enum):
    """Where a Task is in its life.

    Final states end a run; ``STOPPED`` is not final because a stopped Task
    can be continued.
    """

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    STOPPED = "STOPPED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMEDOUT = "TIMEDOUT"

    @property
    def final(self) -> bool:
        """Whether no further transition can happen from this state."""
        return self in _FINAL_STATES

    @property
    def successful(self) -> bool:
        """Whether the run produced a result that downstream Tasks may use."""
        return self is TaskStatus.COMPLETED


_FINAL_STATES = frozenset(
    {
        TaskStatus.COMPLETED,
        TaskStatus.FAILED,
        TaskStatus.CANCELLED,
        TaskStatus.TIMEDOUT,
    }
)


@dataclass
class TaskResult:
    """What a Task reports back: its status and whatever it produced.

    Attributes:
        task_name: Name of the Task class that ran.
        task_status: Final (or current) status.
        summary: Short human-readable outcome, or a dict of summary values
            (dicts become eLog run-table parameters).
        payload: The result proper, e.g. a path to an output file.
        impl_schemas: Names of schemas the payload follows, for consumers.
    """

    task_name: str
    task_status: TaskStatus = TaskStatus.PENDING
    summary: Any = ""
    payload: Any = ""
    impl_schemas: str | None = None


@dataclass
class DescribedAnalysis:
    """Everything needed to reproduce and audit one run of a managed task.

    Attributes:
        task_result: The result, as reported by the Task and finalised by the
            Executor.
        task_parameters: The validated parameter model (``None`` until known).
        task_env: Environment the Task process was started with.
            communicator_desc: One line per communicator, for the record.
        start_time: POSIX time the Task process was started.
        end_time: POSIX time the run was finalised.
        exit_code: Exit status of the Task process (negative: killed by that
            signal number), ``None`` if it never started.
        host: Host name the Task ran on.
        attempt: 1 for the first attempt, higher for retries.
        slurm_job_id: Batch job id when running under SLURM.
        run_id: Unique identifier of this run (also names its log files).
        log_paths: Where the Task's stdout and stderr were written.
        executor_errors: Failures on the Executor's side (a hook, a tasklet,
            recording) that did not stop the run but must not go unseen.
        executor_pid: The Executor's process, so that a later reader can tell
            whether a RUNNING record still has an Executor behind it.
        executor_start: When that process started (``/proc`` clock ticks):
            with the pid, an identity that pid reuse cannot fake.
        task_pgid: The Task's process group, which holds everything it started.
        progress: The Task's last progress report, so the record says how far
            it got (``Task._report_progress``); ``None`` if it reported none.
        progress_time: POSIX time that report arrived.
    """

    task_result: TaskResult
    task_parameters: Any = None
    task_env: dict[str, str] = field(default_factory=dict)
    communicator_desc: list[str] = field(default_factory=list)
    start_time: float | None = None
    end_time: float | None = None
    exit_code: int | None = None
    host: str = ""
    attempt: int = 1
    slurm_job_id: str | None = None
    run_id: str = ""
    log_paths: dict[str, str] = field(default_factory=dict)
    executor_errors: list[str] = field(default_factory=list)
    executor_pid: int | None = None
    executor_start: str | None = None
    task_pgid: int | None = None
    progress: TaskProgress | None = None
    progress_time: float | None = None

    @property
    def duration(self) -> float | None:
        """Wall time of the run in seconds, when both ends are known."""
        if self.start_time is None or self.end_time is None:
            return None
        return self.end_time - self.start_time


@dataclass
class ElogSummaryPlots:
    """A summary report for the eLog, returned by a Task as its result payload.

    The Executor writes it as ``<summary dir>/<display_name>/report.html``,
    where the logbook shows it, and records that path as the payload.

    Attributes:
        display_name: Name of the report in the logbook; also its directory,
            so it may contain ``/`` to nest reports (never ``..``).
        figures: The report: an HTML string, or an object with a
            ``save(path)`` method that writes HTML (e.g. a panel layout).
    """

    display_name: str
    figures: Any
