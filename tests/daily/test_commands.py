"""Every listing and show command takes ``--json``; every run id may be a prefix (issue 16, item 3).

The real ``lute`` commands run against a real SQLite database in the test's
work dir; each ``--json`` output must be one JSON document with nothing else
on stdout.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO, run_lute, task_rows

from daily.helpers import demo_config, demo_env, read_until, start_lute

CHAIN = "task_name: Tester\nname: A\nnext:\n  - task_name: Tester\n    name: B\n"


def _run(env: dict[str, str], run_id: str) -> str:
    """Run Tester under a chosen run id (as a workflow runner assigns one)."""
    done = run_lute(
        ["run", "-t", "Tester", "-c", str(REPO / "config/test.yaml")],
        {**env, "LUTE_ASSIGNED_RUN_ID": run_id},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _json(env: dict[str, str], *args: str) -> object:
    done = run_lute([*args, "--json"], env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # one document and nothing else on stdout


@pytest.fixture
def recorded(lute_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """Two runs whose ids share the prefix ``cafe``, and a two-node workflow run."""
    first = _run(lute_env, "cafe0001" + "0" * 24)
    second = _run(lute_env, "cafe0002" + "0" * 24)
    dag = tmp_path / "chain.yaml"
    dag.write_text(CHAIN)
    flow = run_lute(["workflow", "run", str(dag), "-c", str(REPO / "config/test.yaml")], lute_env)
    assert flow.returncode == 0, flow.stderr
    return {"first": first, "second": second, "wf": flow.stdout.strip(), "log": flow.stderr}


def test_every_listing_and_show_gives_one_json_document(lute_env, recorded):
    first, wf_id = recorded["first"], recorded["wf"]
    tasks = _json(lute_env, "tasks", "list")
    assert any(task["task"] == "Test" for task in tasks)
    helped = _json(lute_env, "tasks", "help", "Tester")
    assert helped["task"] == "Test" and "loops" in {p["name"] for p in helped["parameters"]}
    listed = _json(lute_env, "db", "list")
    assert {run["run_id"] for run in listed} >= {first, recorded["second"]}
    assert _json(lute_env, "db", "show", first[:8])["run_id"] == first
    assert {row["run_id"] for row in _json(lute_env, "db", "history", "Test", "loops")} >= {first}
    assert {row["run_id"] for row in _json(lute_env, "db", "export")} == {
        r["run_id"] for r in listed
    }
    assert _json(lute_env, "ps", "--no-slurm") == []
    (flow,) = _json(lute_env, "workflow", "list")
    assert flow["wf_id"] == wf_id and flow["status"] == "COMPLETED" and flow["nodes"] == 2
    status = _json(lute_env, "workflow", "status", wf_id[:8])
    assert (status["nodes_done"], status["nodes_total"]) == (2, 2)
    assert status["elapsed"] > 0
    assert [node["name"] for node in status["nodes"]] == ["A", "B"]
    assert all(node["state"] == "COMPLETED" for node in status["nodes"])


def test_a_workflow_says_how_many_nodes_are_done_and_how_long_it_took(lute_env, recorded):
    lines = [line.split(" ", 1)[-1] for line in recorded["log"].splitlines()]
    ended = lines.index("A: COMPLETED")
    assert lines[ended + 1].startswith("1 of 2 nodes done, "), lines
    assert lines[lines.index("B: COMPLETED") + 1].startswith("2 of 2 nodes done, "), lines
    shown = run_lute(["workflow", "status", recorded["wf"][:6]], lute_env).stdout
    assert "2 of 2 nodes done, " in shown and " elapsed" in shown


@pytest.mark.parametrize(
    "command",
    [
        ["db", "show", "{}"],
        ["db", "invalidate", "{}", "--reason", "test"],
        ["logs", "{}"],
    ],
)
def test_recorded_run_ids_take_prefixes(lute_env, recorded, command):
    first = recorded["first"]

    def lute(run_id: str) -> object:
        return run_lute([part.format(run_id) for part in command], lute_env)

    unique = lute(first[:8])
    assert unique.returncode == 0, unique.stderr
    for given, says in (("cafe", "ambiguous: it starts 2 run ids"), ("feedbeef", "no run")):
        refused = lute(given)
        assert refused.returncode == 2, refused.stderr
        assert refused.stdout == ""
        (line,) = refused.stderr.splitlines()
        assert says in line


def test_workflow_ids_take_prefixes(lute_env, recorded):
    wf_id = recorded["wf"]
    for command in (["workflow", "status"], ["workflow", "cancel"], ["workflow", "rerun"]):
        given = run_lute([*command, wf_id[:8]], lute_env)
        assert given.returncode == 0, given.stderr
        assert wf_id in given.stdout + given.stderr
        unknown = run_lute([*command, "feedbeef"], lute_env)
        assert unknown.returncode == 2 and len(unknown.stderr.splitlines()) == 1, unknown.stderr


def test_cancel_takes_a_prefix_and_refuses_an_ambiguous_one(lute_env, tmp_path, gate):
    env = demo_env(lute_env)
    config = str(demo_config(tmp_path, wait_for=str(gate.path)))
    procs = [
        start_lute(
            ["run", "-t", "DailyDemoer", "-c", config],
            {**env, "LUTE_ASSIGNED_RUN_ID": f"beef000{n}" + "0" * 24},
        )
        for n in (1, 2)
    ]
    try:
        for proc in procs:
            read_until(proc.stderr, "waiting for")
        ambiguous = run_lute(["cancel", "beef"], env)
        assert ambiguous.returncode == 2
        (line,) = ambiguous.stderr.splitlines()
        assert "ambiguous: it starts 2 running run ids" in line
        unknown = run_lute(["cancel", "feedbeef"], env)
        assert unknown.returncode == 2 and len(unknown.stderr.splitlines()) == 1
        cancelled = run_lute(["cancel", "beef0001"], env)
        assert cancelled.returncode == 0, cancelled.stderr
        procs[0].communicate(timeout=60)
        gate.open()
        procs[1].communicate(timeout=60)
    finally:
        for proc in procs:
            proc.kill()
    assert [proc.returncode for proc in procs] == [1, 0]
    statuses = {
        row["run_id"][:8]: row["result.task_status"]
        for row in task_rows(Path(lute_env["LUTE_WORK_DIR"]) / "lute.db", "DailyDemo")
    }
    assert statuses == {"beef0001": "CANCELLED", "beef0002": "COMPLETED"}
