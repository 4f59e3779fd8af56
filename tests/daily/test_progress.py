"""Progress reports and heartbeats of a running Task (issue 16, item 2)."""

from __future__ import annotations

import subprocess
import sys

from conftest import run_lute

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


def test_a_silent_task_gets_heartbeats_with_the_elapsed_time(lute_env, tmp_path):
    env = {**demo_env(lute_env), "LUTE_HEARTBEAT_S": "0.2"}
    release = tmp_path / "release"
    config = demo_config(tmp_path, wait_for=str(release))
    proc = start_lute(["run", "-t", "DailyDemoer", "-c", str(config)], env)
    try:
        lines = read_until(proc.stderr, "DailyDemo still running")
        release.touch()
        out, rest = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, "".join(lines) + rest
    assert " s elapsed" in lines[-1]
    assert "DailyDemo finished: COMPLETED" in rest
    assert out.strip()
