"""What lute is doing now: runs in progress and lute's jobs in the SLURM queue.

Two sources, one list (``lute ps``):

* the run records: every run RUNNING or STOPPED (after runs whose Executor
  died were settled), with the time since it started and the workflow node
  it belongs to;
* ``squeue``: the user's pending and running jobs whose batch script lute
  wrote (it says so in its first lines), with SLURM's time used and, for a
  job that waits, why.

A batch job whose run has started is both; it is listed once, as its run,
with its job id.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from lute.batch import slurm
from lute.batch.parse import QueuedJob
from lute.batch.script import SCRIPT_MARK
from lute.core.analysis import TaskStatus
from lute.core.exceptions import SubmissionError, UnknownNameError
from lute.db.results import RecordedProgress, export_results, list_runs
from lute.db.schema import Database
from lute.db.workflow_runs import WorkflowStore

logger = logging.getLogger(__name__)

_SCRIPT_HEAD = 4096


@dataclass(frozen=True)
class Activity:
    """One thing running or queued now.

    Attributes:
        kind: ``run`` (from the records) or ``job`` (a queued SLURM job).
        ident: The run id, or the job id.
        name: The Task, or the job's name.
        state: RUNNING, STOPPED, or SLURM's state.
        elapsed: Seconds since the run started; for a job, SLURM's time used.
        where: The host of a run; the partition (and why it waits) of a job.
        job_id: The run's batch job, if it has one.
        workflow: ``WF_ID NODE`` when it is a node of a workflow run.
        progress: The run's latest recorded progress report, if any.
    """

    kind: str
    ident: str
    name: str
    state: str
    elapsed: float | str | None
    where: str
    job_id: str | None = None
    workflow: str | None = None
    progress: RecordedProgress | None = None


def running_now(database: Database | None, *, ask_slurm: bool = True) -> list[Activity]:
    """Runs in progress in ``database`` and lute's jobs in SLURM's queue.

    Args:
        database: The run database (``None`` when there is none yet).
        ask_slurm: Also list queued jobs (when ``squeue`` is installed).
    """
    found = _runs(database) if database is not None else []
    listed_jobs = {item.job_id for item in found if item.job_id}
    if ask_slurm and shutil.which("squeue"):
        found += [job for job in _jobs() if job.ident not in listed_jobs]
    return found


def _runs(database: Database) -> list[Activity]:
    live = [
        summary
        for status in (TaskStatus.RUNNING, TaskStatus.STOPPED)
        for summary in list_runs(database, status=status.value)
    ]
    results = export_results(database, live)
    links = {}
    with contextlib.suppress(UnknownNameError):  # no workflow was ever recorded here
        links = WorkflowStore(database).nodes_of_runs(result.run_id for result in results)
    now = dt.datetime.now(dt.timezone.utc)
    activities = []
    for result in results:
        node = links.get(result.run_id)
        activities.append(
            Activity(
                kind="run",
                ident=result.run_id,
                name=result.task_name,
                state=result.status.value,
                elapsed=(now - result.start_time).total_seconds() if result.start_time else None,
                where=result.host or "-",
                job_id=result.slurm_job_id,
                workflow=f"{node.wf_id[:8]} {node.node}" if node else None,
                progress=result.progress,
            )
        )
    return activities


def _jobs() -> list[Activity]:
    try:
        queued = slurm.queued_jobs(getpass.getuser())
    except SubmissionError as err:
        logger.warning("cannot list SLURM's queue: %s", err)
        return []
    return [_job_activity(job) for job in queued if _written_by_lute(job)]


def _job_activity(job: QueuedJob) -> Activity:
    where = job.partition + (f" ({job.reason})" if job.reason else "")
    return Activity("job", job.job_id, job.name, job.state.value, job.elapsed, where, job.job_id)


def _written_by_lute(job: QueuedJob) -> bool:
    """Whether ``job``'s batch script is one lute wrote."""
    try:
        with open(Path(job.command), encoding="utf-8", errors="replace") as script:
            return SCRIPT_MARK in script.read(_SCRIPT_HEAD)
    except OSError:
        return False
