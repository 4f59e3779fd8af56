"""Recording a workflow run as it happens: its record, then each node's changes.

A workflow run is recorded before its first node starts (``start_workflow``)
and its nodes as they change (``WorkflowTracker``). Recording is bookkeeping
around work that is itself recorded run by run: if the database refuses a
node's change while the workflow runs, the change is logged and written
again with the final state of every node when the workflow ends.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import logging
import os
import socket
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lute.batch.dag import Workflow
from lute.config.loader import load_header
from lute.core.analysis import TaskStatus
from lute.core.procinfo import process_start_ticks
from lute.db.engine import database_url
from lute.db.errors import DatabaseError
from lute.db.schema import open_database
from lute.db.workflow_records import NodeRecord, NodeState, WorkflowRecord
from lute.db.workflow_runs import WorkflowStore, now_utc
from lute.managed_tasks import get_managed_task

logger = logging.getLogger(__name__)

LOCAL = "local"
SLURM = "slurm"


@dataclass(frozen=True)
class Reused:
    """A node a rerun does not run: an earlier valid run of it completed.

    Attributes:
        run_id: That run.
        wf_id: The workflow run it belonged to.
    """

    run_id: str
    wf_id: str


@dataclass(frozen=True)
class WorkflowStart:
    """What a workflow run is, as it starts.

    Attributes:
        workflow: The graph.
        config: The configuration every node uses.
        mode: ``local`` or ``slurm``.
        options: How it runs, kept so that a rerun runs the same way.
        rerun_of: The workflow run this one repeats.
        rerun_mode: ``failed`` or ``from NODE``.
        reused: Nodes not run, by name.
    """

    workflow: Workflow
    config: str
    mode: str
    options: dict[str, Any] = field(default_factory=dict)
    rerun_of: str | None = None
    rerun_mode: str | None = None
    reused: Mapping[str, Reused] = field(default_factory=dict)


def workflow_store(config: str, create: bool = True) -> WorkflowStore:
    """The workflow tables of the database ``config``'s runs are recorded in.

    Raises:
        ConfigurationError: The configuration's header is invalid.
        DatabaseError: The database cannot be opened.
    """
    header = load_header(config)
    database = open_database(database_url(header.work_dir, header.db_url), create=create)
    return WorkflowStore(database, create=create)


def new_workflow_id() -> str:
    """A fresh workflow-run id (32 hexadecimal digits, like a run id)."""
    return uuid.uuid4().hex


def start_workflow(store: WorkflowStore, start: WorkflowStart, wf_id: str | None = None) -> str:
    """Record a workflow run that starts now; return its id.

    Args:
        store: Where to record it.
        start: What it is.
        wf_id: Its id, when the caller chose it (``new_workflow_id``).

    Raises:
        DatabaseError: It cannot be recorded (nothing has started then).
    """
    wf_id = wf_id or new_workflow_id()
    workflow = start.workflow
    local = start.mode == LOCAL
    record = WorkflowRecord(
        wf_id=wf_id,
        dag_path=str(Path(workflow.source).resolve()) if workflow.source else "",
        dag_digest=workflow.digest,
        dag_text=workflow.text,
        config_path=str(Path(start.config).resolve()),
        config_digest=_file_digest(start.config),
        mode=start.mode,
        user=_user(),
        host=socket.gethostname(),
        runner_pid=os.getpid() if local else None,
        runner_start=process_start_ticks(os.getpid()) if local else None,
        start_time=now_utc(),
        end_time=None,
        status=TaskStatus.RUNNING.value,
        rerun_of=start.rerun_of,
        rerun_mode=start.rerun_mode,
        options=start.options,
    )
    waiting = NodeState.PENDING if local else NodeState.QUEUED
    nodes = []
    for position, (name, node) in enumerate(workflow.nodes.items()):
        reused = start.reused.get(name)
        nodes.append(
            NodeRecord(
                wf_id=wf_id,
                node=name,
                position=position,
                managed_task=node.task_name,
                task_name=get_managed_task(node.task_name).task_name,
                parents=node.parents,
                state=NodeState.SKIPPED if reused else waiting,
                run_id=reused.run_id if reused else None,
                reused_from=reused.wf_id if reused else None,
            )
        )
    try:
        store.add_workflow(record, nodes)
    except Exception as err:
        raise DatabaseError(f"cannot record the workflow run: {err}") from err
    logger.info("workflow %s: %s (%s)", wf_id, workflow.source, start.mode)
    return wf_id


class WorkflowTracker:
    """Keeps a local workflow run's node rows up to date with its runner.

    Args:
        store: Where the workflow run is recorded.
        wf_id: Its id.
        run_ids: The run id each node will be recorded under.
        log_path: Gives a node's log file.
        skipped: Nodes the run reuses and does not run.
    """

    def __init__(
        self,
        store: WorkflowStore,
        wf_id: str,
        run_ids: Mapping[str, str],
        log_path: Callable[[str], Path],
        skipped: Mapping[str, Reused] | None = None,
    ) -> None:
        self._store = store
        self._wf_id = wf_id
        self._run_ids = dict(run_ids)
        self._log_path = log_path
        self._skipped = dict(skipped or {})
        self._started: set[str] = set()
        self.states: dict[str, NodeState] = {}
        self._changes: dict[str, dict[str, Any]] = {}

    def __call__(self, name: str, status: TaskStatus) -> None:
        """Record that node ``name`` is now ``status`` (a ``LocalRunner`` callback)."""
        if name in self._skipped:
            return
        values: dict[str, Any]
        if status is TaskStatus.RUNNING:
            self._started.add(name)
            values = {
                "state": NodeState.RUNNING,
                "run_id": self._run_ids[name],
                "log_path": str(self._log_path(name)),
                "start_time": now_utc(),
            }
        else:
            state = NodeState(status.value)
            if status is TaskStatus.CANCELLED and name not in self._started:
                state = NodeState.NOT_RUN
            values = {"state": state, "end_time": now_utc()}
        self.states[name] = values["state"]
        self._changes.setdefault(name, {}).update(values)
        try:
            self._store.update_node(self._wf_id, name, **values)
        except Exception as err:
            logger.warning(
                "could not record node %s of workflow %s (%s); trying again at the end",
                name,
                self._wf_id,
                err,
            )

    def finish(self, status: TaskStatus, reason: str | None = None) -> bool:
        """Record every node's last state and how the workflow run ended.

        Returns:
            Whether both were recorded.
        """
        try:
            self._store.update_nodes(self._wf_id, self._changes)
            self._store.finish(self._wf_id, status, reason)
        except Exception as err:
            logger.error("could not record the end of workflow %s: %s", self._wf_id, err)
            return False
        return True


def overall_status(statuses: Mapping[str, TaskStatus | NodeState]) -> TaskStatus:
    """A workflow run's status from its nodes' final states.

    COMPLETED when every node completed (or was reused), FAILED when one
    failed or timed out, CANCELLED otherwise (nodes were cancelled).
    """
    values = {status.value for status in statuses.values()}
    if values <= {NodeState.COMPLETED.value, NodeState.SKIPPED.value}:
        return TaskStatus.COMPLETED
    if values & {NodeState.FAILED.value, NodeState.TIMEDOUT.value}:
        return TaskStatus.FAILED
    return TaskStatus.CANCELLED


def _file_digest(path: str) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return ""


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def stamp() -> str:
    """A local-time stamp for names of log directories."""
    return dt.datetime.now().strftime("%Y%m%dT%H%M%S")
