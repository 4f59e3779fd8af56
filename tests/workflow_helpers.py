"""Workflow graphs and configs shared by the local and SLURM workflow tests."""

from __future__ import annotations

import datetime as dt
import re
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


WF_ID = re.compile(r"[0-9a-f]{32}")


def workflow_id(stdout: str) -> str:
    """The workflow id ``lute workflow run|submit`` printed: its stdout's only line."""
    lines = stdout.splitlines()
    assert len(lines) == 1 and WF_ID.fullmatch(lines[0]), f"stdout is not one id: {stdout!r}"
    return lines[0]


def final_table(text: str) -> dict[str, str]:
    """The rows of the last node table in ``text`` (``lute workflow run``'s stderr), by node."""
    lines = text.splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("NODE "))
    rows = {}
    for line in lines[start + 2 :]:
        if not line or line.startswith(("node logs:", "workflow run ")):
            break
        rows[line.split()[0]] = line
    return rows


NODE_JOB = re.compile(r"^(\S+) (\d+) (\S+)$", re.MULTILINE)


def submitted_jobs(stderr: str) -> dict[str, str]:
    """Node -> job id, from the ``NODE JOB_ID LOG`` lines ``lute workflow submit`` writes."""
    return {node: job for node, job, _log in NODE_JOB.findall(stderr)}
