"""Which nodes a rerun runs, and which earlier runs it reuses (pure, on recorded views)."""

from __future__ import annotations

import hashlib

import pytest
import yaml

from lute.batch.follow import NodeView, WorkflowView
from lute.batch.rerun import plan_rerun
from lute.core.analysis import TaskStatus
from lute.core.exceptions import ConfigurationError
from lute.db.workflow_records import NodeState, WorkflowRecord

# A -> B -> D, A -> C -> D, and a second root E.
GRAPH = [
    {
        "task_name": "Tester",
        "name": "A",
        "next": [
            {"task_name": "Tester", "name": "B", "next": [{"task_name": "Tester", "name": "D"}]},
            {"task_name": "Tester", "name": "C", "next": [{"task_name": "Tester", "name": "D"}]},
        ],
    },
    {"task_name": "Tester", "name": "E"},
]


def view(states: dict[str, tuple[str, bool]], tmp_path) -> WorkflowView:
    text = yaml.safe_dump(GRAPH)
    dag = tmp_path / "dag.yaml"
    dag.write_text(text)
    record = WorkflowRecord(
        wf_id="f" * 32,
        dag_path=str(dag),
        dag_digest=hashlib.sha256(text.encode()).hexdigest(),
        dag_text=text,
        config_path="c.yaml",
        config_digest="",
        mode="local",
        user=None,
        host=None,
        runner_pid=None,
        runner_start=None,
        start_time=None,
        end_time=None,
        status="FAILED",
    )
    nodes = {
        name: NodeView(
            name,
            "Tester",
            "Test",
            NodeState(state),
            f"run-{name}",
            1,
            None,
            None,
            valid,
            None,
            None,
        )
        for name, (state, valid) in states.items()
    }
    return WorkflowView(record, nodes, TaskStatus.FAILED)


def test_failed_reruns_what_has_no_valid_completed_run_and_its_descendants(tmp_path):
    states = {
        "A": ("COMPLETED", True),
        "E": ("COMPLETED", True),
        "B": ("FAILED", False),
        "C": ("COMPLETED", True),
        "D": ("NOT_RUN", False),
    }
    plan = plan_rerun(view(states, tmp_path))
    assert plan.run == ["B", "D"]
    assert {name: reused.run_id for name, reused in plan.reused.items()} == {
        "A": "run-A",
        "E": "run-E",
        "C": "run-C",
    }


def test_from_a_node_runs_an_invalidated_ancestor_too(tmp_path):
    states = {name: ("COMPLETED", True) for name in "ABCDE"}
    states["A"] = ("COMPLETED", False)  # invalidated since (`lute db invalidate`)
    plan = plan_rerun(view(states, tmp_path), start_from="D")
    assert plan.run == ["A", "B", "C", "D"]  # A's result changes, so everything after it runs
    assert list(plan.reused) == ["E"]
    assert plan.mode == "from D"


def test_from_an_unknown_node_names_the_nodes(tmp_path):
    states = {name: ("COMPLETED", True) for name in "ABCDE"}
    with pytest.raises(ConfigurationError, match="has no node 'Z'; its nodes: A, E, B, C, D"):
        plan_rerun(view(states, tmp_path), start_from="Z")
