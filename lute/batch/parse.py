"""Reading what ``sbatch``, ``squeue`` and ``sacct`` print, and asking them for it.

Only pure functions live here: the command lines that query the scheduler
and the parsers of their output. They are tested against output recorded on
a real cluster, without SLURM installed; ``lute.batch.slurm`` runs them.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass

from lute.core.exceptions import SubmissionError

SQUEUE_FORMAT = "%i|%T|%r|%S|%e"
SACCT_FIELDS = "JobID,State,Reason,Start,End"
_SUBMITTED = re.compile(r"^(?:Submitted batch job )?(\d+)(?:;\S+)?$")


class JobState(enum.Enum):
    """A SLURM job state, as ``squeue %T`` and ``sacct State`` spell it."""

    PENDING = "PENDING"
    CONFIGURING = "CONFIGURING"
    RUNNING = "RUNNING"
    SUSPENDED = "SUSPENDED"
    COMPLETING = "COMPLETING"
    REQUEUED = "REQUEUED"
    RESIZING = "RESIZING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMEOUT = "TIMEOUT"
    NODE_FAIL = "NODE_FAIL"
    PREEMPTED = "PREEMPTED"
    OUT_OF_MEMORY = "OUT_OF_MEMORY"
    BOOT_FAIL = "BOOT_FAIL"
    DEADLINE = "DEADLINE"
    UNKNOWN = "UNKNOWN"

    @classmethod
    def parse(cls, text: str) -> JobState:
        """The state named by ``text`` (``"CANCELLED by 0"`` is CANCELLED)."""
        word = text.split(maxsplit=1)[0].rstrip("+") if text.strip() else ""
        try:
            return cls(word)
        except ValueError:
            return cls.UNKNOWN

    @property
    def final(self) -> bool:
        """Whether the job has ended (UNKNOWN is not known to have ended)."""
        return self not in _ACTIVE_STATES and self is not JobState.UNKNOWN


_ACTIVE_STATES = frozenset(
    {
        JobState.PENDING,
        JobState.CONFIGURING,
        JobState.RUNNING,
        JobState.SUSPENDED,
        JobState.COMPLETING,
        JobState.REQUEUED,
        JobState.RESIZING,
    }
)


@dataclass(frozen=True)
class JobInfo:
    """What the scheduler says about one job.

    Attributes:
        job_id: The job id.
        state: Its state.
        reason: Why it is pending or how it ended (``None`` when SLURM has none).
        start: Start time as SLURM prints it, ``None`` if not started.
        end: End time, ``None`` if not ended.
    """

    job_id: str
    state: JobState
    reason: str | None = None
    start: str | None = None
    end: str | None = None


def parse_sbatch_output(stdout: str) -> str:
    """The job id in ``sbatch`` output (``--parsable`` or not).

    Raises:
        SubmissionError: The output holds no job id.
    """
    for line in reversed(stdout.strip().splitlines()):
        match = _SUBMITTED.match(line.strip())
        if match:
            return match.group(1)
    raise SubmissionError(f"sbatch printed no job id: {stdout.strip()!r}")


def squeue_command(job_ids: Sequence[str]) -> list[str]:
    """Ask ``squeue`` about ``job_ids``, finished ones included."""
    return [
        "squeue",
        "--noheader",
        "--states=all",
        f"--jobs={','.join(job_ids)}",
        f"--format={SQUEUE_FORMAT}",
    ]


def parse_squeue_output(stdout: str) -> list[JobInfo]:
    """Jobs in the output of ``squeue_command``."""
    return [_job_info(line) for line in stdout.splitlines() if line.strip()]


def sacct_command(job_ids: Sequence[str]) -> list[str]:
    """Ask accounting about ``job_ids`` (for jobs ``squeue`` forgot)."""
    return [
        "sacct",
        "--noheader",
        "--parsable2",
        f"--jobs={','.join(job_ids)}",
        f"--format={SACCT_FIELDS}",
    ]


def parse_sacct_output(stdout: str) -> list[JobInfo]:
    """Jobs in the output of ``sacct_command``; steps (``12.batch``) are skipped."""
    jobs = []
    for line in stdout.splitlines():
        if line.strip() and "." not in line.split("|", 1)[0]:
            jobs.append(_job_info(line))
    return jobs


def _job_info(line: str) -> JobInfo:
    fields = [*line.strip().split("|"), "", "", "", ""][:5]
    job_id, state, reason, start, end = fields

    def known(value: str) -> str | None:
        return None if value in ("", "None", "N/A", "NONE", "Unknown") else value

    return JobInfo(job_id, JobState.parse(state), known(reason), known(start), known(end))


QUEUE_FORMAT = "%i|%T|%r|%j|%M|%P|%o"


@dataclass(frozen=True)
class QueuedJob:
    """One of a user's jobs as ``squeue`` lists it (pending or running).

    Attributes:
        job_id: The job id (``123_4`` for an array task).
        state: Its state.
        reason: Why it waits, if it does.
        name: The job name.
        elapsed: Time used so far, as SLURM prints it (``1:02:03``).
        partition: Where it runs or waits.
        command: The batch script.
    """

    job_id: str
    state: JobState
    reason: str | None
    name: str
    elapsed: str
    partition: str
    command: str


def queue_command(user: str) -> list[str]:
    """Ask ``squeue`` for ``user``'s jobs that are pending or running."""
    return ["squeue", "--noheader", f"--user={user}", f"--format={QUEUE_FORMAT}"]


def parse_queue_output(stdout: str) -> list[QueuedJob]:
    """Jobs in the output of ``queue_command`` (the script path may hold ``|``)."""
    jobs = []
    for line in stdout.splitlines():
        if not line.strip():
            continue
        fields = line.strip().split("|", 6)
        if len(fields) < 7:
            continue
        job_id, state, reason, name, elapsed, partition, command = fields
        jobs.append(
            QueuedJob(
                job_id,
                JobState.parse(state),
                None if reason in ("", "None", "N/A") else reason,
                name,
                elapsed,
                partition,
                command,
            )
        )
    return jobs
