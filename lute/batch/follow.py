"""Following a workflow run: the state of every node, from the records and from SLURM.

The run records are the authority on a node that ran: its status, attempt,
times and validity come from the ``runs`` catalogue, after runs whose
Executor died were settled (``lute.db.orphans``). What only the workflow
knows comes from its own rows: a node not started yet, not run because a
parent failed, or reused by a rerun. A node submitted to SLURM that has not
started, or that ended without a run record, is what SLURM says of its job
(asked once for all such nodes). What is learnt from SLURM that can no
longer change (a job that ended, the run a job became) is written back, so
the next reader does not need SLURM for it, and a submitted workflow run
whose nodes have all ended is recorded as ended.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from lute.batch import slurm
from lute.batch.parse import JobInfo, JobState
from lute.batch.tracking import SLURM, overall_status
from lute.core.analysis import TaskStatus
from lute.core.exceptions import SubmissionError
from lute.db.orphans import settle_orphans
from lute.db.workflow_records import NodeRecord, NodeState, RunState, WorkflowRecord
from lute.db.workflow_runs import WorkflowStore

logger = logging.getLogger(__name__)

_QUEUED_JOB = frozenset({JobState.PENDING, JobState.CONFIGURING, JobState.REQUEUED})
_RUNNING_JOB = frozenset(
    {JobState.RUNNING, JobState.COMPLETING, JobState.SUSPENDED, JobState.RESIZING}
)


@dataclass(frozen=True)
class NodeView:
    """One node of a workflow run as it stands.

    Attributes:
        name: The node.
        managed_task: The managed task it runs.
        task_name: The Task (names its table in the database).
        state: Where it is.
        run_id: The run it became (or the earlier run a rerun reused).
        attempt: The run's latest attempt.
        start_time: When that attempt started (UTC).
        end_time: When it ended.
        valid: Whether the run is valid (``None`` without a run).
        slurm_job_id: Its batch job.
        log_path: Its log.
        reused_from: The workflow run whose run a rerun reused.
        reason: Why SLURM holds or ended the job, when that is all there is.
    """

    name: str
    managed_task: str
    task_name: str
    state: NodeState
    run_id: str | None
    attempt: int | None
    start_time: dt.datetime | None
    end_time: dt.datetime | None
    valid: bool | None
    slurm_job_id: str | None
    log_path: str | None
    reused_from: str | None = None
    reason: str | None = None

    @property
    def duration(self) -> float | None:
        """Seconds from start to end, when both are known."""
        if self.start_time is None or self.end_time is None:
            return None
        return (self.end_time - self.start_time).total_seconds()

    @property
    def label(self) -> str:
        """The state as shown to people."""
        if self.state is NodeState.NOT_RUN:
            return "CANCELLED (not run)"
        if self.state is NodeState.SKIPPED and self.reused_from:
            return f"SKIPPED (done in {self.reused_from[:8]})"
        return self.state.value

    @property
    def completed_validly(self) -> bool:
        """Whether a valid completed run of this node exists (a rerun may reuse it)."""
        return self.state.done and self.run_id is not None and bool(self.valid)


@dataclass(frozen=True)
class WorkflowView:
    """A workflow run and its nodes as they stand.

    Attributes:
        record: The workflow run's record.
        nodes: Its nodes, parents first.
        status: Its status: the recorded end, or RUNNING.
    """

    record: WorkflowRecord
    nodes: dict[str, NodeView]
    status: TaskStatus

    @property
    def final(self) -> bool:
        """Whether the workflow run has ended."""
        return self.status.final


def follow_workflow(store: WorkflowStore, wf_id: str, *, ask_slurm: bool = True) -> WorkflowView:
    """The workflow run ``wf_id`` (or a unique prefix of it) and its nodes now.

    Args:
        store: The workflow tables.
        wf_id: The workflow run.
        ask_slurm: Ask SLURM about submitted nodes that the records cannot
            place; without it they keep their recorded state.

    Raises:
        UnknownNameError: No such workflow run.
    """
    settle_orphans(store.database)
    store.settle_dead_runners()
    record = store.get(wf_id)
    nodes = store.node_records(record.wf_id)
    if record.mode == SLURM:
        nodes = _link_jobs(store, nodes)
    runs = store.run_states(node.run_id for node in nodes if node.run_id)
    jobs: dict[str, JobInfo] = {}
    if record.mode == SLURM and ask_slurm:
        jobs = _ask_slurm([n for n in nodes if _needs_slurm(n, runs.get(n.run_id or ""))])
    views = {
        node.node: _view(
            node, runs.get(node.run_id or ""), jobs.get(node.slurm_job_id or ""), record
        )
        for node in nodes
    }
    _write_back(store, record, nodes, views)
    if record.final:
        return WorkflowView(record, views, TaskStatus(record.status))
    if record.mode == SLURM and all(view.state.final for view in views.values()):
        # Nothing runs it but SLURM: the reader that sees it ended records so.
        store.finish(record.wf_id, overall_status({n: v.state for n, v in views.items()}))
        record = store.get(record.wf_id)
        return WorkflowView(record, views, TaskStatus(record.status))
    return WorkflowView(record, views, TaskStatus.RUNNING)


def _link_jobs(store: WorkflowStore, nodes: list[NodeRecord]) -> list[NodeRecord]:
    """Find the run each started batch job became; record the link."""
    linked = []
    for node in nodes:
        run_id = None
        if node.run_id is None and node.slurm_job_id and node.state is not NodeState.SKIPPED:
            run_id = store.run_of_job(node.task_name, node.slurm_job_id)
        if run_id is None:
            linked.append(node)
            continue
        store.update_node(node.wf_id, node.node, run_id=run_id)
        linked.append(dataclasses.replace(node, run_id=run_id))
    return linked


def _needs_slurm(node: NodeRecord, run: RunState | None) -> bool:
    if not node.slurm_job_id or node.state.final:
        return False
    return run is None or not _run_state(run).final


def _ask_slurm(nodes: list[NodeRecord]) -> dict[str, JobInfo]:
    job_ids = [node.slurm_job_id for node in nodes if node.slurm_job_id]
    if not job_ids:
        return {}
    try:
        return {info.job_id: info for info in slurm.job_status(job_ids)}
    except SubmissionError as err:
        logger.warning("cannot ask SLURM about the workflow's jobs: %s", err)
        return {}


def _run_state(run: RunState) -> NodeState:
    try:
        return NodeState(run.status)
    except ValueError:
        return NodeState.UNKNOWN


def _view(
    node: NodeRecord, run: RunState | None, job: JobInfo | None, record: WorkflowRecord
) -> NodeView:
    state = node.state
    reason = None
    if run is not None and state is not NodeState.SKIPPED:
        state = _run_state(run)
        if not state.final and job is not None and job.state.final:
            state = NodeState.CANCELLED if record.status == "CANCELLED" else NodeState.FAILED
            reason = f"job {job.job_id} ended {job.state.value} before the run recorded its end"
    elif run is None and job is not None:
        state, reason = _job_state(job, record)
    elif run is None and record.final and not state.final:
        state, reason = NodeState.FAILED, "it ended without a run record"
    return NodeView(
        name=node.node,
        managed_task=node.managed_task,
        task_name=node.task_name,
        state=state,
        run_id=node.run_id,
        attempt=run.attempt if run else None,
        start_time=run.start_time if run else node.start_time,
        end_time=run.end_time if run else node.end_time,
        valid=run.valid if run else None,
        slurm_job_id=node.slurm_job_id,
        log_path=node.log_path,
        reused_from=node.reused_from,
        reason=reason,
    )


def _job_state(job: JobInfo, record: WorkflowRecord) -> tuple[NodeState, str | None]:
    """A node's state from its job alone (it has no run record)."""
    if job.state in _QUEUED_JOB:
        return NodeState.QUEUED, job.reason
    if job.state in _RUNNING_JOB:
        return NodeState.RUNNING, None
    if job.state is JobState.UNKNOWN:
        return NodeState.UNKNOWN, "SLURM no longer knows the job and it left no run record"
    if job.state is JobState.CANCELLED:  # before lute ran in it: it left no run record
        return NodeState.NOT_RUN, job.reason
    if record.status == TaskStatus.CANCELLED.value:
        return NodeState.CANCELLED, f"job {job.state.value}"
    return NodeState.FAILED, f"job {job.state.value} without a run record"


def _write_back(
    store: WorkflowStore,
    record: WorkflowRecord,
    nodes: list[NodeRecord],
    views: Mapping[str, NodeView],
) -> None:
    """Record the final states learnt from SLURM, so later readers need not ask it."""
    if record.mode != SLURM:
        return
    changes = {
        node.node: {"state": views[node.node].state}
        for node in nodes
        if views[node.node].state.final and views[node.node].state is not node.state
    }
    try:
        store.update_nodes(record.wf_id, changes)
    except Exception as err:
        logger.warning("could not record what SLURM said of workflow run %s: %s", record.wf_id, err)
