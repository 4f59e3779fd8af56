"""Bad trigger files are refused before anything starts; ``--dry-run`` shows what would fire."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from conftest import run_lute, write_config

from lute.core.exceptions import ConfigurationError
from lute.triggers.spec import load_spec

from .helpers import write_triggers


@pytest.fixture
def setup(tmp_path: Path) -> dict[str, Path]:
    raw = tmp_path / "raw"
    raw.mkdir()
    db = tmp_path / "other.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE scans (id INTEGER PRIMARY KEY, status TEXT)")
    workflow = tmp_path / "dag.yaml"
    workflow.write_text("task_name: Tester\nnext:\n  - task_name: NoSuchTester\n")
    config = write_config(tmp_path / "cfg.yaml", {"Test": {"loops": 0}})
    return {"raw": raw, "db": db, "workflow": workflow, "config": config}


def _good(setup: dict[str, Path]) -> dict:
    return {
        "name": "scans",
        "dir": {"path": str(setup["raw"]), "events": ["closed"], "pattern": r"(?P<run>\d+)"},
        "run": {"managed_task": "Tester", "config": str(setup["config"])},
    }


BAD = {
    "unknown type": (
        lambda s, t: {**{k: v for k, v in t.items() if k != "dir"}, "http": {"url": "x"}},
        "http: unknown trigger type or key",
    ),
    "unknown key": (
        lambda s, t: {**t, "dir": {**t["dir"], "recursve": True}},
        "dir.recursve: unknown key",
    ),
    "missing directory": (
        lambda s, t: {**t, "dir": {**t["dir"], "path": str(s["raw"] / "nope")}},
        "dir.path: ",
    ),
    "bad pattern": (
        lambda s, t: {**t, "dir": {**t["dir"], "pattern": "run(?P<run>\\d+"}},
        "dir.pattern: bad regular expression",
    ),
    "where clause": (
        lambda s, t: {
            **{k: v for k, v in t.items() if k != "dir"},
            "database": {
                "url": f"sqlite:///{s['db']}",
                "table": "scans",
                "where": ["status = 'done'", "stauts = 'done'"],
            },
        },
        "database.where[1]: no such column: stauts",
    ),
    "quoted name": (
        lambda s, t: {
            **{k: v for k, v in t.items() if k != "dir"},
            "database": {"url": f"sqlite:///{s['db']}", "table": "scans", "where": '"stat" = 1'},
        },
        "database.where[0]: no column \"stat\" in table 'scans'",
    ),
    "unknown managed task": (
        lambda s, t: {**t, "run": {**t["run"], "managed_task": "Testerr"}},
        "run.managed_task: unknown managed task 'Testerr'",
    ),
    "bad workflow": (
        lambda s, t: {
            **t,
            "run": {"workflow": str(s["workflow"]), "config": str(s["config"])},
        },
        "run.workflow: ",
    ),
    "missing config": (
        lambda s, t: {**t, "run": {**t["run"], "config": str(s["raw"] / "none.yaml")}},
        "run.config: ",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_trigger_file_names_the_file_the_trigger_and_the_key(case, setup, tmp_path):
    change, expected = BAD[case]
    path = write_triggers(tmp_path / "TRIGGERS.yaml", [change(setup, _good(setup))])
    with pytest.raises(ConfigurationError) as raised:
        load_spec(path)
    message = str(raised.value)
    assert len(message.splitlines()) == 1, message
    assert message.startswith(f"{path}: trigger 'scans': {expected}")


def test_lute_watch_refuses_a_bad_file_with_status_2_before_anything_starts(
    setup, lute_env, work_dir, tmp_path
):
    good = _good(setup)
    path = write_triggers(
        tmp_path / "TRIGGERS.yaml",
        [good, {**good, "name": "typo", "run": {**good["run"], "managed_task": "Testerr"}}],
    )
    done = run_lute(["watch", str(path)], lute_env)
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert f"{path}: trigger 'typo': run.managed_task: unknown managed task 'Testerr'" in line
    assert list(work_dir.iterdir()) == []


def test_dry_run_prints_what_would_fire_and_launches_nothing(setup, lute_env, work_dir, tmp_path):
    for name in ("run0012.h5", "run0013.h5"):
        (setup["raw"] / name).write_bytes(b"data")
    path = write_triggers(
        tmp_path / "TRIGGERS.yaml",
        [
            _good(setup),
            {"name": "hourly", "time": {"every": 3600}, "run": {"command": ["true"]}},
            {
                "name": "after",
                "database": {"table": "TestWriteOutput"},
                "run": {"managed_task": "ReadTester", "config": str(setup["config"])},
            },
        ],
    )
    done = run_lute(["watch", str(path), "--dry-run"], lute_env)
    assert done.returncode == 0, done.stderr
    raw = setup["raw"]
    assert done.stdout.splitlines() == [
        f"scans: would launch Tester for existing {raw / 'run0012.h5'} (run 12)",
        f"scans: would launch Tester for existing {raw / 'run0013.h5'} (run 13)",
        "hourly: every 3600 s: true",
        "after: nothing pending",
    ]
    planned = json.loads(run_lute(["watch", str(path), "--dry-run", "--json"], lute_env).stdout)
    assert [(p["trigger"], p["kind"], p["run"]) for p in planned] == [
        ("scans", "launch", 12),
        ("scans", "launch", 13),
        ("hourly", "periodic", None),
        ("after", "idle", None),
    ]
    assert [p["text"] for p in planned] == done.stdout.splitlines()
    assert list(work_dir.iterdir()) == []
    refused = run_lute(["watch", str(path), "--json"], lute_env)
    assert refused.returncode == 2 and "--json goes with --dry-run" in refused.stderr
