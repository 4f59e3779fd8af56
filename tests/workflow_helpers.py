"""Workflow graphs and configs shared by the local and SLURM workflow tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml
from conftest import task_rows, write_config

# A -> B, C -> D. B and C run the same managed task under two names; D is
# listed under both, which makes it one node with two parents.
DIAMOND = {
    "task_name": "Tester",
    "name": "A",
    "next": [
        {
            "task_name": "RendezvousTester",
            "name": "B",
            "next": [{"task_name": "WriteTester", "name": "D"}],
        },
        {
            "task_name": "RendezvousTester",
            "name": "C",
            "next": [{"task_name": "WriteTester", "name": "D"}],
        },
    ],
}

# A fails; B (its child) and C (its grandchild) must never run.
FAILING_CHAIN = {
    "task_name": "BinaryErrTester",
    "name": "A",
    "next": [
        {
            "task_name": "Tester",
            "name": "B",
            "next": [{"task_name": "WriteTester", "name": "C"}],
        }
    ],
}


def write_dag(path: Path, graph: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(graph, sort_keys=False))
    return path


def write_workflow_config(path: Path, work_dir: Path, parties: int, timeout: float = 60) -> Path:
    return write_config(
        path,
        {
            "Test": {"loops": 1},
            "TestRendezvous": {
                "directory": str(work_dir / "rendezvous"),
                "parties": parties,
                "timeout": timeout,
            },
            "TestWriteOutput": {"num_lines": 3},
            "TestBinaryErr": {},
        },
        {"work_dir": str(work_dir)},
    )


def interval(row: dict[str, Any]) -> tuple[dt.datetime, dt.datetime]:
    """A recorded run's start and end time."""
    return dt.datetime.fromisoformat(row["start_time"]), dt.datetime.fromisoformat(row["end_time"])


def diamond_intervals(db: Path) -> dict[str, list[tuple[dt.datetime, dt.datetime]]]:
    """Recorded intervals of the diamond's nodes: A, the two middle runs, D."""
    return {
        "A": [interval(r) for r in task_rows(db, "Test")],
        "BC": [interval(r) for r in task_rows(db, "TestRendezvous")],
        "D": [interval(r) for r in task_rows(db, "TestWriteOutput")],
    }
