"""Shared by the workflow-run tests: reading ``lute workflow status`` and the database."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

from conftest import run_lute


def status_rows(wf_id: str, work_dir: Path, env: dict[str, str]) -> dict[str, dict[str, str]]:
    """``lute workflow status WF_ID``'s node table, by node: column -> cell."""
    done = run_lute(["workflow", "status", wf_id, "--work-dir", str(work_dir)], env)
    assert done.returncode == 0, done.stderr
    return parse_node_table(done.stdout)


def parse_node_table(text: str) -> dict[str, dict[str, str]]:
    """The node table of ``lute workflow status``: columns start where the rule's dashes do."""
    lines = text.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("NODE "))
    starts = [match.start() for match in re.finditer(r"-+", lines[head + 1])]
    bounds = list(zip(starts, [*starts[1:], None], strict=True))
    names = [lines[head][a:b].strip() for a, b in bounds]
    rows = {}
    for line in lines[head + 2 :]:
        cells = [line[a:b].strip() for a, b in bounds]
        rows[cells[0]] = dict(zip(names, cells, strict=True))
    return rows


def workflow_header(text: str) -> dict[str, str]:
    """The ``name  value`` lines above the node table of ``lute workflow status``."""
    fields = {}
    for line in text.splitlines():
        if not line.strip():
            break
        name, _, value = line.partition("  ")
        fields[name.strip()] = value.strip()
    return fields


def db_rows(work_dir: Path, query: str, *args: Any) -> list[dict[str, Any]]:
    """Rows of a query on the work dir's SQLite database, as dicts."""
    with sqlite3.connect(work_dir / "lute.db") as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute(query, args)]
