"""Progress reports and heartbeats of a running Task (issue 16, item 2)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

from conftest import REPO, run_lute, write_config

from daily.helpers import PtyReader, demo_config, demo_env, read_until, start_lute


def test_progress_is_a_line_every_ten_percent_without_a_terminal(lute_env, tmp_path):
    env = demo_env(lute_env)
    done = run_lute(["run", "-t", "DailyDemoer", "-c", str(demo_config(tmp_path, steps=20))], env)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if "DailyDemo progress:" in line]
    percents = [line.split("(")[1].split(")")[0] for line in lines]
    assert percents == ["5%", *(f"{p}%" for p in range(10, 101, 10))], done.stderr
    assert lines[-1].endswith("20/20 (100%) step 20")
    assert "TaskProgress" not in done.stderr  # not logged a second time as a plain report


def test_progress_is_a_bar_on_a_terminal(lute_env, tmp_path):
    env = {**demo_env(lute_env), "TERM": "xterm", "COLUMNS": "100"}
    env.pop("NO_COLOR", None)
    config = str(demo_config(tmp_path, steps=20))
    terminal = PtyReader()
    proc = subprocess.Popen(
        [sys.executable, "-m", "lute", "run", "-t", "DailyDemoer", "-c", config],
        env=env,
        stdout=subprocess.PIPE,
        stderr=terminal.child,
        text=True,
    )
    out, _ = proc.communicate(timeout=120)
    seen = terminal.text()
    assert proc.returncode == 0, seen
    assert "━" in seen and "100%" in seen, seen  # rich's bar, drawn to the end
    assert "DailyDemo progress:" not in seen
    assert len(out.strip()) == 32  # stdout still holds only the run id


def test_a_silent_task_gets_heartbeats_with_the_elapsed_time(lute_env, tmp_path, gate):
    env = {**demo_env(lute_env), "LUTE_HEARTBEAT_S": "0.2"}
    config = demo_config(tmp_path, wait_for=str(gate.path))
    proc = start_lute(["run", "-t", "DailyDemoer", "-c", str(config)], env)
    try:
        lines = read_until(proc.stderr, "DailyDemo still running")
        gate.open()
        out, rest = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, "".join(lines) + rest
    assert " s elapsed" in lines[-1]
    assert "DailyDemo finished: COMPLETED" in rest
    assert out.strip()


def test_a_running_runs_progress_is_recorded_and_kept_at_its_end(lute_env, tmp_path, gate):
    env = demo_env(lute_env)
    params = {"steps": 3, "total": 10, "wait_for": str(gate.path)}
    # The time limit ends the run, and so the wait below, if the report never comes.
    config = write_config(tmp_path / "demo.yaml", {"DailyDemo": params}, {"task_timeout": 60})
    proc = start_lute(["run", "-v", "-t", "DailyDemoer", "-c", str(config)], env)
    try:
        # The writer thread logs each write: the last report, 3 of 10, is in the database.
        read_until(proc.stderr, "recorded progress 3/10 (30%) step 3 of run")
        (live,) = json.loads(run_lute(["ps", "--json", "--no-slurm"], env).stdout)
        run_id = live["ident"]
        assert live["state"] == "RUNNING"
        assert live["progress"]["done"] == 3 and live["progress"]["total"] == 10
        assert live["progress"]["fraction"] == 0.3 and live["progress"]["text"] == "step 3"
        table = run_lute(["ps", "--no-slurm"], env).stdout
        assert "PROGRESS" in table and "3/10 (30%) step 3" in table
        shown = run_lute(["db", "show", run_id[:8]], env).stdout
        assert "RUNNING" in shown and "3/10 (30%) step 3 (at " in shown
        gate.open()
        out, rest = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, rest
    assert out.strip() == run_id
    final = json.loads(run_lute(["db", "show", run_id, "--json"], env).stdout)
    assert final["status"] == "COMPLETED"
    assert (final["progress"]["done"], final["progress"]["total"]) == (3, 10)
    (listed,) = json.loads(run_lute(["db", "list", "--json"], env).stdout)
    assert listed["progress"]["fraction"] == 0.3


def test_the_final_record_holds_the_last_report_however_fast_it_came(lute_env, tmp_path):
    env = demo_env(lute_env)
    done = run_lute(["run", "-t", "DailyDemoer", "-c", str(demo_config(tmp_path, steps=200))], env)
    assert done.returncode == 0, done.stderr
    shown = json.loads(run_lute(["db", "show", done.stdout.strip(), "--json"], env).stdout)
    assert shown["progress"]["done"] == shown["progress"]["total"] == 200
    assert shown["progress"]["text"] == "step 200"
    silent = run_lute(["run", "-t", "DailyDemoer", "-c", str(demo_config(tmp_path))], env)
    shown = json.loads(run_lute(["db", "show", silent.stdout.strip(), "--json"], env).stdout)
    assert shown["progress"] is None


def test_a_database_from_before_progress_gains_its_columns(lute_env, work_dir, tmp_path):
    env = demo_env(lute_env)
    first = run_lute(["run", "-t", "DailyDemoer", "-c", str(demo_config(tmp_path))], env)
    db = work_dir / "lute.db"
    with sqlite3.connect(db) as conn:  # as lute wrote it before progress was recorded
        for column in ("progress_done", "progress_total", "progress_text", "progress_time"):
            conn.execute(f"ALTER TABLE runs DROP COLUMN {column}")
    (old,) = json.loads(run_lute(["db", "list", "--json"], env).stdout)
    assert old["run_id"] == first.stdout.strip() and old["progress"] is None
    config = demo_config(tmp_path, steps=4)
    second = run_lute(["run", "-t", "DailyDemoer", "-c", str(config)], env)
    assert second.returncode == 0, second.stderr
    newest, older = json.loads(run_lute(["db", "list", "--json"], env).stdout)
    assert newest["progress"]["done"] == 4 and older["progress"] is None


def test_a_progress_write_the_database_refuses_is_one_warning_and_the_run_goes_on(
    lute_env, work_dir, tmp_path, gate
):
    env = demo_env(lute_env)
    assert run_lute(["run", "-t", "DailyDemoer", "-c", str(demo_config(tmp_path))], env).stdout
    with sqlite3.connect(work_dir / "lute.db") as conn:  # refuses live progress, nothing else
        conn.execute(
            "CREATE TRIGGER refuse BEFORE UPDATE OF progress_done ON runs"
            " WHEN NEW.status = 'RUNNING' BEGIN SELECT RAISE(ABORT, 'progress refused'); END"
        )
    config = demo_config(tmp_path, steps=50, wait_for=str(gate.path))
    proc = start_lute(["run", "-t", "DailyDemoer", "-c", str(config)], env)
    try:
        # The Task waits until the refused write has been reported.
        lines = read_until(proc.stderr, "could not record the progress of run")
        gate.open()
        out, rest = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, "".join(lines) + rest
    (warning,) = [
        line for line in "".join(lines).splitlines() + rest.splitlines() if " WARNING:" in line
    ]
    assert "progress refused" in warning
    shown = json.loads(run_lute(["db", "show", out.strip(), "--json"], env).stdout)
    assert shown["status"] == "COMPLETED" and shown["progress"]["done"] == 50


def test_a_workflow_on_a_terminal_draws_a_bar_of_its_nodes_done(lute_env, tmp_path):
    dag = tmp_path / "chain.yaml"
    dag.write_text("task_name: Tester\nname: A\nnext:\n  - task_name: Tester\n    name: B\n")
    terminal = PtyReader()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lute",
            "workflow",
            "run",
            str(dag),
            "-c",
            str(REPO / "config/test.yaml"),
        ],
        env={**lute_env, "TERM": "xterm"},
        stdout=subprocess.PIPE,
        stderr=terminal.child,
        text=True,
    )
    out, _ = proc.communicate(timeout=120)
    seen = terminal.text()
    assert proc.returncode == 0, seen
    assert "0 of 2 nodes done, " in seen and "2 of 2 nodes done, " in seen
    assert "━" in seen  # rich's bar, as for a Task's progress
    assert len(out.strip()) == 32  # stdout holds the workflow id alone
