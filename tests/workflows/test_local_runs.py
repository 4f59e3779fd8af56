"""Local workflow runs are records: status, rerun of what failed, settled nodes, results.

Every test runs the real ``lute workflow`` command on a real SQLite database
and reads what it left: the command's output and the tables.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from conftest import run_lute, task_rows, write_config
from faultkit import SYNC_TIMEOUT_S, Fifo, release
from workflow_helpers import final_table, workflow_id, write_dag

from lute import get_result, get_workflow_result
from lute.core.analysis import TaskStatus
from tests.workflows.helpers import db_rows, status_rows, workflow_header

# Two roots: a chain whose middle node fails while the config says so, and a
# node of its own whose first attempt fails and which the DAG lets retry once.
TWO_ROOTS = [
    {
        "task_name": "WriteTester",
        "name": "A",
        "next": [
            {"task_name": "Tester", "name": "B", "next": [{"task_name": "ReadTester", "name": "C"}]}
        ],
    },
    {"task_name": "FaultTester", "name": "R", "retries": 1},
]


def chain_config(path, work_dir, fail: bool):
    return write_config(
        path,
        {
            "TestWriteOutput": {"num_lines": 2},
            "Test": {"loops": 1, "throw_error": fail},
            "TestReadOutput": {},
            "Fault": {"mode": "fail_times", "fail_times": 1, "counter_file": str(work_dir / "n")},
        },
        {"work_dir": str(work_dir)},
    )


def counts(work_dir):
    tables = {"A": "TestWriteOutput", "B": "Test", "C": "TestReadOutput", "R": "Fault"}
    runs = {
        node: {row["run_id"] for row in task_rows(work_dir / "lute.db", table)}
        for node, table in tables.items()
    }
    return {node: len(ids) for node, ids in runs.items()}


def test_failed_node_then_rerun_failed_runs_exactly_it_and_its_descendants(
    lute_env, work_dir, tmp_path
):
    dag = write_dag(tmp_path / "two_roots.yaml", TWO_ROOTS)
    config = chain_config(tmp_path / "c.yaml", work_dir, fail=True)
    first = run_lute(["workflow", "run", str(dag), "-c", str(config)], lute_env)
    assert first.returncode == 1
    wf_id = workflow_id(first.stdout)  # the id alone on stdout; the table went to stderr
    assert "FAILED" in final_table(first.stderr)["B"]

    shown = status_rows(wf_id, work_dir, lute_env)
    assert {node: row["STATUS"] for node, row in shown.items()} == {
        "A": "COMPLETED",
        "R": "COMPLETED",  # the second root ran too
        "B": "FAILED",
        "C": "CANCELLED (not run)",
    }
    assert shown["B"]["ATTEMPT"] == "1" and shown["C"]["RUN ID"] == "-"
    assert shown["R"]["ATTEMPT"] == "2"  # the node's own retries reached its Executor
    assert shown["B"]["LOG"].endswith("/B.log")
    [workflow] = db_rows(work_dir, "SELECT * FROM workflow_runs")
    assert workflow["status"] == "FAILED" and workflow["end_time"] is not None
    assert workflow["dag_text"] == dag.read_text() and len(workflow["dag_digest"]) == 64
    links = {
        row["node"]: row["run_id"]
        for row in db_rows(work_dir, "SELECT * FROM workflow_nodes WHERE wf_id = ?", wf_id)
    }
    [b_run] = task_rows(work_dir / "lute.db", "Test")
    assert links["B"] == b_run["run_id"] == shown["B"]["RUN ID"]
    assert counts(work_dir) == {"A": 1, "B": 1, "C": 0, "R": 1}

    chain_config(config, work_dir, fail=False)  # the fix
    second = run_lute(["workflow", "rerun", wf_id, "--failed", "-c", str(config)], lute_env)
    assert second.returncode == 0, second.stderr
    rerun_id = workflow_id(second.stdout)
    assert rerun_id != wf_id
    assert counts(work_dir) == {"A": 1, "B": 2, "C": 1, "R": 1}  # only B and C ran again

    done = run_lute(["workflow", "status", rerun_id, "--work-dir", str(work_dir)], lute_env)
    assert workflow_header(done.stdout)["rerun of"] == f"{wf_id} (failed)"
    shown = status_rows(rerun_id, work_dir, lute_env)
    assert shown["A"]["STATUS"] == shown["R"]["STATUS"] == f"SKIPPED (done in {wf_id[:8]})"
    assert shown["A"]["RUN ID"] == links["A"]  # the earlier run, reused
    assert shown["B"]["STATUS"] == shown["C"]["STATUS"] == "COMPLETED"
    assert shown["B"]["RUN ID"] != links["B"]
    [rerun] = db_rows(work_dir, "SELECT * FROM workflow_runs WHERE wf_id = ?", rerun_id)
    assert rerun["rerun_of"] == wf_id and rerun["status"] == "COMPLETED"

    nothing = run_lute(["workflow", "rerun", rerun_id, "--work-dir", str(work_dir)], lute_env)
    assert nothing.returncode == 0 and nothing.stdout == ""
    assert "nothing to rerun" in nothing.stderr
    url = f"sqlite:///{work_dir / 'lute.db'}"
    listing = run_lute(["workflow", "list", "--url", url], lute_env)
    assert [line.split()[0] for line in listing.stdout.splitlines()[2:]] == [rerun_id, wf_id]


def test_status_shows_a_node_settled_after_its_executor_was_killed(lute_env, work_dir, tmp_path):
    ready = Fifo(tmp_path / "ready")
    dag = write_dag(
        tmp_path / "dag.yaml", {"task_name": "FaultTester", "next": [{"task_name": "Tester"}]}
    )
    config = write_config(
        tmp_path / "c.yaml",
        {"Fault": {"mode": "sleep", "seconds": 300, "ready_fifo": str(ready.path)}, "Test": {}},
        {"work_dir": str(work_dir)},
    )
    runner = subprocess.Popen(
        [sys.executable, "-m", "lute", "workflow", "run", str(dag), "-c", str(config)],
        # A Task forked from its Executor shows the Executor's environment in
        # /proc (docs/executors.md); read the Task's own in a fresh interpreter.
        env={**lute_env, "LUTE_TASK_START": "exec"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    [task_pid] = [int(pid) for pid in ready.read_line().split()]
    ready.close()
    [run] = db_rows(work_dir, "SELECT * FROM runs")
    task_env = Path(f"/proc/{task_pid}/environ").read_bytes().split(b"\0")
    # The Task runs under the run id its workflow chose, and does not inherit the choice.
    assert f"LUTE_RUN_ID={run['run_id']}".encode() in task_env
    assert not any(item.startswith(b"LUTE_ASSIGNED_RUN_ID=") for item in task_env)
    os.kill(run["executor_pid"], signal.SIGKILL)  # the node's Executor, as the OOM killer would
    out, _ = runner.communicate(timeout=SYNC_TIMEOUT_S)
    assert runner.returncode == 1
    assert db_rows(work_dir, "SELECT status FROM runs") == [{"status": "RUNNING"}]

    shown = status_rows(workflow_id(out), work_dir, lute_env)
    assert shown["FaultTester"]["STATUS"] == "FAILED"  # settled by the reader
    assert shown["FaultTester"]["RUN ID"] == run["run_id"]
    assert shown["Tester"]["STATUS"] == "CANCELLED (not run)"
    [row] = task_rows(work_dir / "lute.db", "Fault")
    assert row["valid_flag"] == 0 and "ended without recording" in row["invalid_reason"]


def test_get_workflow_result_waits_for_the_end(lute_env, work_dir, tmp_path, monkeypatch):
    ready = Fifo(tmp_path / "ready")
    hold = tmp_path / "hold"
    os.mkfifo(hold)
    dag = write_dag(
        tmp_path / "dag.yaml",
        {"task_name": "FaultTester", "next": [{"task_name": "WriteTester", "name": "W"}]},
    )
    fault = {"mode": "sleep", "seconds": 300, "ready_fifo": str(ready.path)}
    config = write_config(
        tmp_path / "c.yaml",
        {"Fault": {**fault, "release_fifo": str(hold)}, "TestWriteOutput": {"num_lines": 1}},
        {"work_dir": str(work_dir)},
    )
    monkeypatch.delenv("LUTE_DB_URL", raising=False)
    runner = subprocess.Popen(
        [sys.executable, "-m", "lute", "workflow", "run", str(dag), "-c", str(config)],
        env=lute_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    wf_id = runner.stdout.readline().strip()  # printed before the first node starts
    ready.read_line()  # the first node runs and waits to be released
    ready.close()
    running = get_workflow_result(wf_id, work_dir)
    assert running.status is TaskStatus.RUNNING
    assert running.nodes["FaultTester"].state.value == "RUNNING"
    assert running.nodes["W"].state.value == "PENDING"

    release(hold)
    result = get_workflow_result(wf_id[:8], work_dir, wait=True, timeout=SYNC_TIMEOUT_S)
    assert result.wf_id == wf_id and result.end_time is not None
    assert result.status is TaskStatus.COMPLETED
    assert {name: node.state.value for name, node in result.nodes.items()} == {
        "FaultTester": "COMPLETED",
        "W": "COMPLETED",
    }
    outputs = result.get_all_node_outputs()
    assert outputs["W"] == str(work_dir / "test_output.txt")
    written = result.get_node_result("W")
    assert written.status is TaskStatus.COMPLETED and written.parameters["num_vals"] == 1
    assert get_result(written.run_id, work_dir, wait=True).payload == outputs["W"]
    runner.communicate(timeout=SYNC_TIMEOUT_S)
    assert runner.returncode == 0
