"""What a workflow run's record says: the workflow run, its nodes, their states.

Plain values, read and written by ``lute.db.workflow_runs``; the workflow
modules of ``lute.batch`` build on them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from typing import Any

from lute.core.analysis import TaskStatus


class NodeState(str, enum.Enum):
    """What a workflow says about one of its nodes.

    The run statuses, plus three that only a workflow knows: ``QUEUED`` (a
    batch job waiting in SLURM), ``NOT_RUN`` (cancelled before it started,
    because a parent failed or the workflow was cancelled) and ``SKIPPED``
    (a rerun reused an earlier valid, completed run of it).
    """

    PENDING = "PENDING"
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMEDOUT = "TIMEDOUT"
    STOPPED = "STOPPED"
    NOT_RUN = "NOT_RUN"
    SKIPPED = "SKIPPED"
    UNKNOWN = "UNKNOWN"

    @property
    def final(self) -> bool:
        """Whether the node has ended (UNKNOWN is not known to have ended)."""
        return self in _FINAL_NODE_STATES

    @property
    def done(self) -> bool:
        """Whether the node's result is there for its children."""
        return self in (NodeState.COMPLETED, NodeState.SKIPPED)


_FINAL_NODE_STATES = frozenset(
    {
        NodeState.COMPLETED,
        NodeState.FAILED,
        NodeState.CANCELLED,
        NodeState.TIMEDOUT,
        NodeState.NOT_RUN,
        NodeState.SKIPPED,
    }
)


@dataclasses.dataclass(frozen=True)
class WorkflowRecord:
    """One execution of a workflow.

    Attributes:
        wf_id: Its id (32 hexadecimal digits).
        dag_path: The DAG file as given.
        dag_digest: SHA-256 of the DAG file's text.
        dag_text: The DAG file's text, so a rerun runs the same graph.
        config_path: The configuration every node used.
        config_digest: SHA-256 of the configuration's text when it started.
        mode: ``local`` or ``slurm``.
        user: Who ran it.
        host: Where ``lute workflow run|submit`` ran.
        runner_pid: The local runner's pid (``None`` for SLURM).
        runner_start: The runner's start time in clock ticks, which with the
            pid identifies the process.
        start_time: When it started (UTC).
        end_time: When it ended, ``None`` while it runs.
        status: RUNNING, COMPLETED, FAILED or CANCELLED.
        rerun_of: The workflow run this one repeats, if any.
        rerun_mode: ``failed`` or ``from NODE`` for a rerun.
        options: How it ran (max parallel, sbatch options, debug, ...), to
            run it again the same way.
        reason: Why it ended so, when lute settled it.
    """

    wf_id: str
    dag_path: str
    dag_digest: str
    dag_text: str
    config_path: str
    config_digest: str
    mode: str
    user: str | None
    host: str | None
    runner_pid: int | None
    runner_start: str | None
    start_time: dt.datetime | None
    end_time: dt.datetime | None
    status: str
    rerun_of: str | None = None
    rerun_mode: str | None = None
    options: dict[str, Any] = dataclasses.field(default_factory=dict)
    reason: str | None = None

    @property
    def final(self) -> bool:
        """Whether the workflow run has ended."""
        return _final_status(self.status)


@dataclasses.dataclass(frozen=True)
class NodeRecord:
    """One node of a workflow run, as the workflow recorded it.

    Attributes:
        wf_id: The workflow run.
        node: The node's name.
        position: Its place in the graph's order (parents first).
        managed_task: The managed task it runs.
        task_name: The Task that managed task runs (names its table).
        parents: Names of its parents.
        state: The workflow's word about it.
        run_id: The run it became (or, when SKIPPED, the earlier run reused).
        slurm_job_id: Its batch job, under SLURM.
        log_path: Its log file (the ``lute run`` output, or the job log).
        reused_from: The workflow run whose run of this node was reused.
        start_time: When the workflow started it.
        end_time: When the workflow saw it end.
    """

    wf_id: str
    node: str
    position: int
    managed_task: str
    task_name: str
    parents: tuple[str, ...]
    state: NodeState
    run_id: str | None = None
    slurm_job_id: str | None = None
    log_path: str | None = None
    reused_from: str | None = None
    start_time: dt.datetime | None = None
    end_time: dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class RunState:
    """What the ``runs`` catalogue says about the latest attempt of a run."""

    run_id: str
    attempt: int
    status: str
    valid: bool
    start_time: dt.datetime | None
    end_time: dt.datetime | None
    host: str | None


def _final_status(status: str | None) -> bool:
    try:
        return TaskStatus(status).final
    except ValueError:
        return False
