"""The workflow-run tables on SQLite and PostgreSQL: record, link, read back, settle."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from lute.core.analysis import TaskStatus
from lute.core.procinfo import process_start_ticks
from lute.db.schema import open_database
from lute.db.store import record_analysis
from lute.db.workflow_records import NodeRecord, NodeState, WorkflowRecord
from lute.db.workflow_runs import WorkflowStore, now_utc
from tests.database.helpers import ScanParameters, header, make_run


def workflow(wf_id: str, **fields) -> WorkflowRecord:
    values = {
        "wf_id": wf_id,
        "dag_path": "/d/dag.yaml",
        "dag_digest": "d" * 64,
        "dag_text": "task_name: Scanner\n",
        "config_path": "/d/c.yaml",
        "config_digest": "c" * 64,
        "mode": "local",
        "user": "me",
        "host": socket.gethostname(),
        "runner_pid": None,
        "runner_start": None,
        "start_time": now_utc(),
        "end_time": None,
        "status": "RUNNING",
        "options": {"max_parallel": 2},
        **fields,
    }
    return WorkflowRecord(**values)


def node(wf_id: str, name: str, position: int, **fields) -> NodeRecord:
    return NodeRecord(wf_id, name, position, "Scanner", "Scan", (), NodeState.PENDING, **fields)


def test_a_workflow_run_links_its_nodes_to_their_runs(db_url, work_dir):
    run = make_run(ScanParameters(lute_config=header(work_dir)), "Scan")
    record_analysis(run, db_url)
    store = WorkflowStore(open_database(db_url), create=True)
    wf_id = "ab" * 16
    store.add_workflow(workflow(wf_id), [node(wf_id, "A", 0), node(wf_id, "B", 1)])
    store.update_node(wf_id, "A", state=NodeState.RUNNING, run_id=run.run_id)
    store.update_nodes(wf_id, {"A": {"state": NodeState.COMPLETED}, "B": {"state": "NOT_RUN"}})
    assert store.finish(wf_id, TaskStatus.FAILED, "B did not run")
    assert not store.finish(wf_id, TaskStatus.COMPLETED)  # a final record stays as it is

    found = store.get(wf_id[:6])
    assert (found.status, found.reason, found.options) == (
        "FAILED",
        "B did not run",
        {"max_parallel": 2},
    )
    assert found.final and found.end_time is not None
    nodes = store.node_records(wf_id)
    assert [(n.node, n.state, n.run_id) for n in nodes] == [
        ("A", NodeState.COMPLETED, run.run_id),
        ("B", NodeState.NOT_RUN, None),
    ]
    [state] = store.run_states([run.run_id]).values()
    assert (state.attempt, state.status, state.valid) == (1, "COMPLETED", True)
    assert store.nodes_of_runs([run.run_id])[run.run_id].node == "A"
    assert [r.wf_id for r in store.recent()] == [wf_id]


def test_a_dead_local_runner_is_settled_by_the_next_reader(db_url):
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    pid = int(gone.stdout)
    store = WorkflowStore(open_database(db_url), create=True)
    dead, alive = "de" * 16, "a1" * 16
    store.add_workflow(workflow(dead, runner_pid=pid, runner_start="1"), [node(dead, "A", 0)])
    me = os.getpid()
    store.add_workflow(
        workflow(alive, runner_pid=me, runner_start=process_start_ticks(me)), [node(alive, "A", 0)]
    )
    assert store.settle_dead_runners() == [dead]
    settled = store.get(dead)
    assert settled.status == "FAILED" and f"pid {pid}" in (settled.reason or "")
    assert store.node_records(dead)[0].state is NodeState.NOT_RUN
    assert not store.get(alive).final
