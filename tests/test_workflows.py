"""Workflow graphs: validation, and local runs of real ``lute run`` processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
import yaml
from conftest import log_lines, run_lute, task_rows, write_config
from faultkit import Fifo
from workflow_helpers import (
    DIAMOND,
    FAILING_CHAIN,
    diamond_intervals,
    final_table,
    workflow_id,
    write_dag,
    write_workflow_config,
)

from lute.batch.workflows import LocalRunner, load_workflow, parse_workflow
from lute.core.analysis import TaskStatus
from lute.core.exceptions import ConfigurationError

REPO_DAG = os.path.join(os.path.dirname(__file__), "..", "config", "workflows", "diamond.yaml")


def test_diamond_merges_the_node_listed_under_both_parents():
    workflow = parse_workflow(DIAMOND, "dag.yaml")
    assert list(workflow.nodes) == ["A", "B", "C", "D"]
    assert workflow.nodes["D"].parents == ("B", "C")
    assert workflow.nodes["A"].children == ("B", "C")
    assert workflow.descendants("A") == ["B", "C", "D"]
    assert workflow.descendants("B") == ["D"]


def test_example_dag_in_config_is_valid():
    workflow = load_workflow(REPO_DAG)
    assert workflow.nodes["BinaryTester"].parents == ("ReadTester", "SocketTester")
    assert workflow.nodes["SocketTester"].slurm_params == ("--time=00:05:00", "--mem=2G")
    assert workflow.nodes["WriteTester"].slurm_params is None


def test_slurm_params_as_list_or_string():
    graph = {"task_name": "Tester", "slurm_params": ["--time=1", "--comment=a b"]}
    assert parse_workflow(graph, "x").nodes["Tester"].slurm_params == ("--time=1", "--comment=a b")
    graph = {"task_name": "Tester", "slurm_params": "--time=1 --comment='a b'"}
    assert parse_workflow(graph, "x").nodes["Tester"].slurm_params == ("--time=1", "--comment=a b")


@pytest.mark.parametrize(
    ("graph", "message"),
    [
        (
            {"task_name": "Tester", "next": [{"task_name": "ReadTester", "nxt": []}]},
            r"dag\.yaml: node 'ReadTester' \(root\.next\[0\]\): unknown field 'nxt';"
            r" valid fields: task_name, name, slurm_params, next",
        ),
        (
            {"task_name": "Tester", "next": [{"task_name": "NoSuchTester"}]},
            r"node 'NoSuchTester' \(root\.next\[0\]\): unknown managed task 'NoSuchTester'",
        ),
        ({"name": "A"}, r"node 'A' \(root\): task_name is required"),
        (["Tester"], r"roots\[0\]: a node must be a mapping"),
        (
            {"task_name": "Tester", "slurm_params": 5},
            r"node 'Tester' \(root\): slurm_params must be a string or a list",
        ),
        ({"task_name": "Tester", "next": {"task_name": "Tester"}}, r"next must be a list"),
        (
            {
                "task_name": "Tester",
                "name": "A",
                "next": [
                    {
                        "task_name": "ReadTester",
                        "name": "B",
                        "next": [{"name": "A", "task_name": "Tester"}],
                    }
                ],
            },
            r"node 'A': cycle: A -> B -> A",
        ),
        (
            {
                "task_name": "Tester",
                "next": [
                    {"task_name": "ReadTester", "name": "X"},
                    {"task_name": "WriteTester", "name": "X"},
                ],
            },
            r"node 'X' \(root\.next\[1\]\): task_name differs from another occurrence",
        ),
    ],
)
def test_invalid_graphs_are_rejected_naming_the_node(graph, message):
    with pytest.raises(ConfigurationError, match=message):
        parse_workflow(graph, "dag.yaml")


def test_yaml_alias_back_to_an_ancestor_is_a_cycle(tmp_path):
    dag = tmp_path / "loop.yaml"
    dag.write_text("&top\ntask_name: Tester\nnext:\n  - task_name: ReadTester\n    next: [*top]\n")
    with pytest.raises(ConfigurationError, match="cycle: ReadTester -> Tester -> ReadTester"):
        load_workflow(dag)


def test_invalid_graph_runs_nothing(lute_env, work_dir, tmp_path):
    dag = write_dag(tmp_path / "bad.yaml", {"task_name": "Tester", "next": [{"task_name": "Nope"}]})
    config = write_workflow_config(tmp_path / "c.yaml", work_dir, parties=2)
    done = run_lute(["workflow", "run", str(dag), "-c", str(config)], lute_env)
    assert done.returncode == 2
    assert "node 'Nope'" in done.stderr
    assert not (work_dir / "lute.db").exists()


def test_local_diamond_runs_b_and_c_in_parallel(lute_env, work_dir, tmp_path):
    dag = write_dag(tmp_path / "diamond.yaml", DIAMOND)
    config = write_workflow_config(tmp_path / "c.yaml", work_dir, parties=2)
    done = run_lute(["workflow", "run", str(dag), "-c", str(config), "-j", "2"], lute_env)
    assert done.returncode == 0, done.stdout + done.stderr
    times = diamond_intervals(work_dir / "lute.db")
    assert [len(times[k]) for k in ("A", "BC", "D")] == [1, 2, 1]
    ((_, a_end),) = times["A"]
    (b_start, b_end), (c_start, c_end) = times["BC"]
    ((d_start, _),) = times["D"]
    assert a_end <= min(b_start, c_start)
    assert b_start < c_end and c_start < b_end  # B and C overlapped
    assert max(b_end, c_end) <= d_start
    workflow_id(done.stdout)  # stdout holds the workflow id alone; the table is on stderr
    assert final_table(done.stderr)["D"].split()[:3] == ["D", "WriteTester", "COMPLETED"]


def test_local_failure_cancels_descendants_and_exits_non_zero(lute_env, work_dir, tmp_path):
    dag = write_dag(tmp_path / "chain.yaml", FAILING_CHAIN)
    config = write_workflow_config(tmp_path / "c.yaml", work_dir, parties=1)
    done = run_lute(["workflow", "run", str(dag), "-c", str(config)], lute_env)
    assert done.returncode == 1
    final = final_table(done.stderr)
    assert "FAILED" in final["A"]
    assert "CANCELLED (not run)" in final["B"]
    assert "CANCELLED (not run)" in final["C"]
    assert [r["result.task_status"] for r in task_rows(work_dir / "lute.db", "TestBinaryErr")] == [
        "FAILED"
    ]
    assert task_rows(work_dir / "lute.db", "Test") == []
    assert task_rows(work_dir / "lute.db", "TestWriteOutput") == []


def test_concurrency_limit_runs_one_node_at_a_time(lute_env, work_dir, tmp_path):
    # With one node at a time, B waits for a C that cannot start and times
    # out; B's failure cancels only its descendant D, C still runs.
    workflow = parse_workflow(DIAMOND, "diamond")
    config = write_workflow_config(tmp_path / "c.yaml", work_dir, parties=2, timeout=2)
    runner = LocalRunner(workflow, str(config), 1, tmp_path / "logs", env=lute_env)
    statuses = runner.run()
    assert statuses == {
        "A": TaskStatus.COMPLETED,
        "B": TaskStatus.FAILED,
        "C": TaskStatus.COMPLETED,
        "D": TaskStatus.CANCELLED,
    }
    assert "only 1 of 2 parties" in (tmp_path / "logs" / "B.log").read_text()


def test_status_lines_when_not_a_tty(lute_env, work_dir, tmp_path):
    dag = write_dag(tmp_path / "one.yaml", {"task_name": "Tester"})
    config = write_workflow_config(tmp_path / "c.yaml", work_dir, parties=1)
    done = run_lute(["workflow", "run", str(dag), "-c", str(config)], lute_env)
    assert done.returncode == 0, done.stderr
    changes = [line.split(" ", 1)[1] for line in log_lines(done.stderr) if line[:2].isdigit()]
    assert changes[:2] == ["Tester: RUNNING", "Tester: COMPLETED"]
    assert changes[2].startswith("1 of 1 nodes done, ") and len(changes) == 3
    assert yaml.safe_load(dag.read_text())["task_name"] == "Tester"


def test_interrupt_cancels_running_and_pending_nodes(lute_env, work_dir, tmp_path):
    graph = {"task_name": "FaultTester", "next": [{"task_name": "Tester"}]}
    dag = write_dag(tmp_path / "sleep.yaml", graph)
    ready = Fifo(tmp_path / "ready")
    config = write_config(
        tmp_path / "c.yaml",
        {"Fault": {"mode": "sleep", "seconds": 300, "ready_fifo": str(ready.path)}, "Test": {}},
        {"work_dir": str(work_dir)},
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "lute", "workflow", "run", str(dag), "-c", str(config)],
        env=lute_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    ready.read_line()  # the node's Task is running
    ready.close()
    proc.send_signal(signal.SIGINT)  # to the workflow only, not to its nodes
    out, rest = proc.communicate(timeout=60)
    assert proc.returncode == 1
    workflow_id(out)
    assert "interrupted" in rest
    final = final_table(rest)
    assert final["FaultTester"].split()[2] == "CANCELLED"  # it ran, and was cancelled
    assert "CANCELLED (not run)" in final["Tester"]
    rows = task_rows(work_dir / "lute.db", "Fault")
    assert [row["result.task_status"] for row in rows] == ["CANCELLED"]
