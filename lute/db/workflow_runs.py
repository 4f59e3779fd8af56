"""Workflow runs: one record per execution of a workflow, one row per node.

A workflow leaves more than the runs of its nodes: which graph ran (the DAG
file, its text and SHA-256 digest), with which configuration, who ran it
where, when, how it ended, and which run each node became. Two tables hold
that, next to the runs they link to and created the first time a workflow
is recorded:

* ``workflow_runs``: one row per execution, keyed by its ``wf_id``. A rerun
  is a new row whose ``rerun_of`` names the execution it repeats.
* ``workflow_nodes``: one row per node of an execution, unique on
  ``(wf_id, node)``: the workflow's own word about the node (``state``), the
  run it became (``run_id``; every attempt of that run is in ``runs`` under
  the same id), its SLURM job and its log. A node a rerun did not run
  because an earlier valid run of it completed links to that earlier run,
  so one run may belong to several workflow runs: that is why the link
  lives here and not in the Task tables or the ``runs`` catalogue.

A local workflow's runner is recorded with its host, pid and start time. A
reader on that host settles a workflow whose runner died without recording
how it ended, as ``lute.db.orphans`` does for runs (``settle_dead_runners``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import socket
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, ProgrammingError

from lute.core.analysis import TaskStatus
from lute.core.exceptions import UnknownNameError
from lute.core.procinfo import process_start_ticks
from lute.db.columns import as_utc
from lute.db.ddl import create_table
from lute.db.engine import redacted, write_transaction
from lute.db.schema import DDL_RETRIES, Database
from lute.db.workflow_records import NodeRecord, NodeState, RunState, WorkflowRecord

logger = logging.getLogger(__name__)

MIN_PREFIX = 4
"""Shortest workflow-id prefix accepted, as for run ids."""


_RECORD_FIELDS = [f.name for f in dataclasses.fields(WorkflowRecord)]
_NODE_FIELDS = [f.name for f in dataclasses.fields(NodeRecord)]


class WorkflowStore:
    """The workflow tables of one run database.

    Args:
        database: The run database (``lute.db.schema.open_database``).
        create: Create the tables if they are missing (writers); readers
            pass ``False`` and are told when nothing was recorded yet.

    Raises:
        UnknownNameError: ``create`` is false and no workflow was ever recorded there.
    """

    def __init__(self, database: Database, create: bool = False) -> None:
        self.database = database
        self.engine = database.engine
        metadata = sa.MetaData()
        self.workflows = sa.Table(
            "workflow_runs",
            metadata,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("wf_id", sa.String(64), nullable=False, unique=True),
            sa.Column("dag_path", sa.Text),
            sa.Column("dag_digest", sa.String(64)),
            sa.Column("dag_text", sa.Text),
            sa.Column("config_path", sa.Text),
            sa.Column("config_digest", sa.String(64)),
            sa.Column("mode", sa.Text),
            sa.Column("user", sa.Text),
            sa.Column("host", sa.Text),
            sa.Column("runner_pid", sa.Integer),
            sa.Column("runner_start", sa.Text),
            sa.Column("start_time", sa.DateTime, index=True),
            sa.Column("end_time", sa.DateTime),
            sa.Column("status", sa.Text),
            sa.Column("rerun_of", sa.String(64)),
            sa.Column("rerun_mode", sa.Text),
            sa.Column("options", sa.Text),
            sa.Column("reason", sa.Text),
        )
        self.nodes = sa.Table(
            "workflow_nodes",
            metadata,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("wf_id", sa.String(64), nullable=False),
            sa.Column("node", sa.Text, nullable=False),
            sa.Column("position", sa.Integer, nullable=False),
            sa.Column("managed_task", sa.Text),
            sa.Column("task_name", sa.Text),
            sa.Column("parents", sa.Text),
            sa.Column("state", sa.Text),
            sa.Column("run_id", sa.String(64), index=True),
            sa.Column("slurm_job_id", sa.Text),
            sa.Column("log_path", sa.Text),
            sa.Column("reused_from", sa.String(64)),
            sa.Column("start_time", sa.DateTime),
            sa.Column("end_time", sa.DateTime),
            sa.UniqueConstraint("wf_id", "node", name="uq_workflow_nodes_wf_node"),
        )
        if create:
            self._create_tables()
        elif not self.exists():
            raise UnknownNameError(f"no workflow runs recorded in {redacted(database.url)}")

    def _create_tables(self) -> None:
        """Create the tables unless they exist.

        On PostgreSQL two processes creating them at the same moment can
        collide on the system catalogs even with ``IF NOT EXISTS``; the loser
        simply tries again (as ``lute.db.schema`` does for its tables).
        """
        for attempt in range(1, DDL_RETRIES + 1):
            try:
                with write_transaction(self.engine) as conn:
                    create_table(conn, self.workflows)
                    create_table(conn, self.nodes)
                return
            except (IntegrityError, ProgrammingError):
                if attempt == DDL_RETRIES:
                    raise

    def exists(self) -> bool:
        """Whether any workflow was ever recorded in this database."""
        with self.engine.connect() as conn:
            return sa.inspect(conn).has_table("workflow_runs")

    # -- writing

    def add_workflow(self, record: WorkflowRecord, nodes: Sequence[NodeRecord]) -> None:
        """Record a workflow run that starts now, with every node, in one transaction."""
        values = {name: getattr(record, name) for name in _RECORD_FIELDS}
        values["options"] = json.dumps(record.options, sort_keys=True)
        with write_transaction(self.engine) as conn:
            conn.execute(self.workflows.insert().values(_naive_times(values)))
            if nodes:
                conn.execute(self.nodes.insert(), [_node_row(node) for node in nodes])

    def update_node(self, wf_id: str, node: str, **values: Any) -> None:
        """Change some fields of one node row (``state`` may be a ``NodeState``)."""
        with write_transaction(self.engine) as conn:
            self._update_node(conn, wf_id, node, values)

    def update_nodes(self, wf_id: str, changes: Mapping[str, Mapping[str, Any]]) -> None:
        """Change several node rows in one transaction: node name -> fields."""
        if not changes:
            return
        with write_transaction(self.engine) as conn:
            for node, values in changes.items():
                self._update_node(conn, wf_id, node, values)

    def _update_node(
        self, conn: Connection, wf_id: str, node: str, values: Mapping[str, Any]
    ) -> None:
        row = {k: (v.value if isinstance(v, NodeState) else v) for k, v in values.items()}
        conn.execute(
            self.nodes.update()
            .where(self.nodes.c.wf_id == wf_id, self.nodes.c.node == node)
            .values(_naive_times(row))
        )

    def finish(self, wf_id: str, status: TaskStatus, reason: str | None = None) -> bool:
        """Record how a workflow run ended, unless its end is already recorded.

        Returns:
            Whether this call recorded it (a final record is never changed).
        """
        workflows = self.workflows
        with write_transaction(self.engine) as conn:
            done = conn.execute(
                workflows.update()
                .where(workflows.c.wf_id == wf_id, workflows.c.end_time.is_(None))
                .values(status=status.value, end_time=_now(), reason=reason)
            )
        return bool(done.rowcount)

    # -- reading

    def get(self, wf_id: str) -> WorkflowRecord:
        """The workflow run with this id, or the only one whose id starts so.

        Raises:
            UnknownNameError: No workflow run matches, or a prefix matches several.
        """
        workflows = self.workflows
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(workflows).where(workflows.c.wf_id == wf_id)).all()
            if not rows and len(wf_id) >= MIN_PREFIX:
                escaped = wf_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                pattern = workflows.c.wf_id.like(f"{escaped}%", escape="\\")
                rows = conn.execute(sa.select(workflows).where(pattern).limit(6)).all()
        if not rows:
            raise UnknownNameError(
                f"no workflow run {wf_id!r} in the database {redacted(self.database.url)}"
                " (`lute workflow list` shows them)"
            )
        if len(rows) > 1:
            ids = ", ".join(row.wf_id for row in rows[:5])
            raise UnknownNameError(
                f"workflow run {wf_id!r} is ambiguous: it starts {ids}...; give more characters"
            )
        return _record(rows[0])

    def recent(self, limit: int | None = None) -> list[WorkflowRecord]:
        """Workflow runs, newest first."""
        workflows = self.workflows
        query = sa.select(workflows).order_by(workflows.c.start_time.desc(), workflows.c.id.desc())
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [_record(row) for row in conn.execute(query)]

    def node_records(self, wf_id: str) -> list[NodeRecord]:
        """The nodes of a workflow run, parents first."""
        nodes = self.nodes
        query = sa.select(nodes).where(nodes.c.wf_id == wf_id).order_by(nodes.c.position)
        with self.engine.connect() as conn:
            return [_node(row) for row in conn.execute(query)]

    def live(self) -> list[WorkflowRecord]:
        """Workflow runs that have not ended."""
        workflows = self.workflows
        query = sa.select(workflows).where(workflows.c.end_time.is_(None))
        with self.engine.connect() as conn:
            return [_record(row) for row in conn.execute(query)]

    def run_states(self, run_ids: Iterable[str]) -> dict[str, RunState]:
        """The latest attempt of each of these runs that is recorded."""
        wanted = sorted(set(run_ids))
        if not wanted:
            return {}
        runs = self.database.runs
        query = sa.select(runs).where(runs.c.run_id.in_(wanted)).order_by(runs.c.attempt)
        found: dict[str, RunState] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                found[row.run_id] = RunState(
                    run_id=row.run_id,
                    attempt=row.attempt,
                    status=row.status or "",
                    valid=bool(row.valid_flag),
                    start_time=as_utc(row.start_time),
                    end_time=as_utc(row.end_time),
                    host=row.host,
                )
        return found

    def nodes_of_runs(self, run_ids: Iterable[str]) -> dict[str, NodeRecord]:
        """The node each of these runs belongs to (the one that ran it, not a reuse)."""
        wanted = sorted(set(run_ids))
        if not wanted:
            return {}
        nodes = self.nodes
        query = sa.select(nodes).where(
            nodes.c.run_id.in_(wanted), nodes.c.state != NodeState.SKIPPED.value
        )
        with self.engine.connect() as conn:
            return {row.run_id: _node(row) for row in conn.execute(query)}

    def run_of_job(self, task_name: str, job_id: str) -> str | None:
        """The run a batch job became: the latest run of ``task_name`` recorded under ``job_id``."""
        table = self.database.task_table(task_name, refresh=True)
        if table is None:
            return None
        query = (
            sa.select(table.c.run_id)
            .where(table.c.slurm_job_id == job_id)
            .order_by(table.c.id.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            return conn.execute(query).scalar()

    def settle_dead_runners(self, host: str | None = None) -> list[str]:
        """End the local workflow runs of ``host`` whose runner died; return their ids.

        A runner killed outright cannot record how its workflow ended. Its
        nodes' runs are settled by their own rules; here the workflow is
        recorded FAILED with the reason, and its nodes that never started
        NOT_RUN. Runs of other hosts are left to that host.
        """
        host = host or socket.gethostname()
        settled = []
        for record in self.live():
            if record.mode != "local" or record.host != host or record.runner_pid is None:
                continue
            if process_start_ticks(record.runner_pid) == record.runner_start:
                continue
            reason = (
                f"the workflow runner (pid {record.runner_pid} on {host}) ended without"
                " recording how the workflow ended"
            )
            if self.finish(record.wf_id, TaskStatus.FAILED, reason):
                self.mark_unstarted(record.wf_id, NodeState.NOT_RUN)
                logger.warning("workflow %s: %s; recorded FAILED", record.wf_id, reason)
                settled.append(record.wf_id)
        return settled

    def mark_unstarted(self, wf_id: str, state: NodeState) -> None:
        """Give every node of ``wf_id`` still PENDING or QUEUED the final ``state``."""
        nodes = self.nodes
        waiting = (NodeState.PENDING.value, NodeState.QUEUED.value)
        with write_transaction(self.engine) as conn:
            conn.execute(
                nodes.update()
                .where(nodes.c.wf_id == wf_id, nodes.c.state.in_(waiting))
                .values(state=state.value, end_time=_now())
            )


def _node_row(node: NodeRecord) -> dict[str, Any]:
    row = {name: getattr(node, name) for name in _NODE_FIELDS}
    row["parents"] = json.dumps(list(node.parents))
    row["state"] = node.state.value
    return _naive_times(row)


def _record(row: Any) -> WorkflowRecord:
    values = {name: getattr(row, name) for name in _RECORD_FIELDS}
    values["options"] = json.loads(row.options) if row.options else {}
    values["start_time"] = as_utc(row.start_time)
    values["end_time"] = as_utc(row.end_time)
    return WorkflowRecord(**values)


def _node(row: Any) -> NodeRecord:
    values = {name: getattr(row, name) for name in _NODE_FIELDS}
    values["parents"] = tuple(json.loads(row.parents or "[]"))
    try:
        values["state"] = NodeState(row.state)
    except ValueError:
        values["state"] = NodeState.UNKNOWN
    values["start_time"] = as_utc(row.start_time)
    values["end_time"] = as_utc(row.end_time)
    return NodeRecord(**values)


def _now() -> dt.datetime:
    """Now in UTC, naive: the database stores UTC without a zone, as for runs."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _naive_times(values: dict[str, Any]) -> dict[str, Any]:
    return {
        key: (value.astimezone(dt.timezone.utc).replace(tzinfo=None) if _aware(value) else value)
        for key, value in values.items()
    }


def _aware(value: Any) -> bool:
    return isinstance(value, dt.datetime) and value.tzinfo is not None


def now_utc() -> dt.datetime:
    """The current time as the workflow records keep it (UTC, zone attached)."""
    return dt.datetime.now(dt.timezone.utc)
