"""Cancelling a workflow run: end its running nodes, drop its queued ones.

* A local workflow run is ended by its runner, which already knows how:
  ``cancel_workflow`` sends it SIGTERM and waits for it to exit (on a pidfd,
  not by polling). The runner sends SIGTERM to its running nodes, whose
  Executors record their runs CANCELLED, records the nodes not started as
  not run, and the workflow run as CANCELLED. If the runner is gone, this
  does its work instead: each running node's run is cancelled by its run id
  (``lute.execution.control.cancel_run``), and the records are settled.
* A submitted workflow run has no runner: each job that has not ended is
  cancelled (``lute.batch.slurm.cancel_job``), dependants first. A running
  job's Executor records its run CANCELLED; a queued job never ran, and its
  node is recorded as not run. The workflow run is recorded CANCELLED.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import os
import select
import signal
import socket
from dataclasses import dataclass, field

from lute.batch import slurm
from lute.batch.follow import WorkflowView, follow_workflow
from lute.batch.tracking import LOCAL
from lute.core.analysis import TaskStatus
from lute.core.exceptions import ControlError, LuteError
from lute.core.procinfo import process_start_ticks
from lute.db.workflow_records import NodeState
from lute.db.workflow_runs import WorkflowStore
from lute.execution.control import cancel_run

logger = logging.getLogger(__name__)

RUNNER_WAIT_S = 120.0
"""How long to wait for a local runner to stop its nodes and exit."""


@dataclass(frozen=True)
class CancelReport:
    """What cancelling a workflow run did.

    Attributes:
        wf_id: The workflow run.
        already_ended: It had ended before; nothing was done.
        stopped: Nodes that were running and were asked to stop.
        dropped: Nodes whose queued job was removed.
    """

    wf_id: str
    already_ended: bool = False
    stopped: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


def cancel_workflow(
    store: WorkflowStore, wf_id: str, wait_s: float = RUNNER_WAIT_S
) -> CancelReport:
    """Cancel workflow run ``wf_id``: see the module docstring.

    Raises:
        UnknownNameError: No such workflow run.
        ControlError: It runs on another host, or its runner did not stop in time.
        SubmissionError: SLURM refused to cancel a job.
    """
    view = follow_workflow(store, wf_id)
    record = view.record
    if view.final:
        return CancelReport(record.wf_id, already_ended=True)
    running = [n.name for n in view.nodes.values() if n.state is NodeState.RUNNING]
    if record.mode == LOCAL:
        _cancel_local(store, view, wait_s)
        return CancelReport(record.wf_id, stopped=running)
    queued = [n for n in view.nodes.values() if n.slurm_job_id and not n.state.final]
    dropped = []
    for node in reversed(queued):  # dependants before the jobs they wait for
        before = slurm.cancel_job(node.slurm_job_id or "")
        if not before.state.final and before.state.value not in ("RUNNING", "COMPLETING"):
            dropped.append(node.name)
    # A job that was running keeps its row until its run (or SLURM) says how it ended.
    store.update_nodes(record.wf_id, {name: {"state": NodeState.NOT_RUN} for name in dropped})
    store.finish(record.wf_id, TaskStatus.CANCELLED, f"cancelled by {_who()}")
    stopped = [n.name for n in queued if n.name not in dropped]
    return CancelReport(record.wf_id, stopped=stopped, dropped=dropped)


def _cancel_local(store: WorkflowStore, view: WorkflowView, wait_s: float) -> None:
    record = view.record
    here = socket.gethostname()
    if record.host != here:
        raise ControlError(
            f"workflow run {record.wf_id} runs on {record.host}; cancel it there (this is {here})"
        )
    pid = record.runner_pid
    if pid is not None and process_start_ticks(pid) == record.runner_start:
        _stop_runner(pid, wait_s)
        if store.get(record.wf_id).final:
            return
    # The runner is gone (or ended without recording): do its work.
    work_dir = str(record.options.get("work_dir") or "")
    for node in view.nodes.values():
        if node.state is NodeState.RUNNING and node.run_id:
            with contextlib.suppress(LuteError):
                cancel_run(node.run_id, work_dir)
    store.finish(record.wf_id, TaskStatus.CANCELLED, f"cancelled by {_who()}")
    store.mark_unstarted(record.wf_id, NodeState.NOT_RUN)


def _stop_runner(pid: int, wait_s: float) -> None:
    """SIGTERM the runner and wait for it to exit, on a pidfd."""
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        os.kill(pid, signal.SIGTERM)
        readable, _, _ = select.select([handle], [], [], wait_s)
    except ProcessLookupError:
        return
    finally:
        os.close(handle)
    if not readable:
        raise ControlError(f"the workflow runner (pid {pid}) did not stop within {wait_s:.0f}s")
    logger.info("the workflow runner (pid %d) stopped", pid)


def _who() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "?"
    return f"{user} on {socket.gethostname()}"
