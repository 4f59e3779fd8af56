"""Readable output and scriptable commands of ``lute`` (issue 16, items 1, 3, 5, 6)."""

from __future__ import annotations

import csv
import json
import os
import re
import shlex
import stat
import subprocess
import sys
from pathlib import Path

from conftest import REPO, run_lute, task_rows

from daily.helpers import (
    STAMP,
    PtyReader,
    demo_config,
    demo_env,
    read_until,
    start_lute,
)

FINAL = re.compile(r"DailyDemo finished: (\w+) in [\d.]+ s \(run ([0-9a-f]{32}), attempt 1\)$")


def test_log_lines_carry_timestamps_on_the_console_and_in_the_run_log(lute_env, tmp_path):
    env = demo_env(lute_env)
    done = run_lute(["run", "-t", "DailyDemoer", "-c", str(demo_config(tmp_path))], env)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines and all(STAMP.match(line) for line in lines), done.stderr
    (relayed,) = [line for line in lines if "hello from the task" in line]
    assert len(re.findall(r"\d\d:\d\d:\d\d", relayed)) == 1  # the Task's stamp, not two
    (row,) = task_rows(Path(lute_env["LUTE_WORK_DIR"]) / "lute.db", "DailyDemo")
    run_log = Path(row["log_stderr"]).read_text()
    assert "hello from the task" in run_log
    assert all(STAMP.match(line) for line in run_log.splitlines()), run_log


def test_the_final_line_states_status_duration_and_run_id(lute_env, tmp_path):
    env = demo_env(lute_env)
    done = run_lute(["run", "-t", "DailyDemoer", "-c", str(demo_config(tmp_path))], env)
    match = FINAL.search(done.stderr.splitlines()[-1])
    assert match and match.group(1) == "COMPLETED", done.stderr
    assert match.group(2) == done.stdout.strip()


def test_quiet_prints_only_warnings_and_the_final_line(lute_env, tmp_path):
    env = demo_env(lute_env)
    config = str(demo_config(tmp_path, warn=True, steps=5))
    done = run_lute(["-q", "run", "-t", "DailyDemoer", "-c", config], env)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert FINAL.search(lines[-1]), done.stderr
    assert all(" INFO:" not in line for line in lines[:-1]), done.stderr
    assert any(" WARNING:" in line and "a warning from the task" in line for line in lines)
    assert "progress" not in done.stderr  # a progress line is INFO
    loud = run_lute(["run", "-t", "DailyDemoer", "-c", config], env)
    assert len(loud.stderr.splitlines()) > len(lines) and " INFO:" in loud.stderr


def test_quiet_draws_no_progress_bar_on_a_terminal(lute_env, tmp_path):
    env = {**demo_env(lute_env), "TERM": "xterm", "COLUMNS": "100"}
    config = str(demo_config(tmp_path, steps=20, warn=True))
    terminal = PtyReader()
    proc = subprocess.Popen(
        [sys.executable, "-m", "lute", "-q", "run", "-t", "DailyDemoer", "-c", config],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=terminal.child,
    )
    proc.wait(timeout=120)
    lines = [line for line in terminal.text().splitlines() if line.strip()]
    assert proc.returncode == 0, lines
    assert len(lines) == 2, lines  # the Task's warning, then the final line
    assert "a warning from the task" in lines[0] and "DailyDemo finished: COMPLETED" in lines[1]


def test_verbose_and_debug_are_levels_above_the_default(lute_env):
    config = str(REPO / "config/test.yaml")
    plain = run_lute(["run", "-t", "Tester", "-c", config], lute_env)
    verbose = run_lute(["run", "-t", "Tester", "-c", config, "-v"], lute_env)
    debug = run_lute(["--debug", "run", "-t", "Tester", "-c", config], lute_env)
    assert plain.returncode == verbose.returncode == debug.returncode == 0
    assert " DEBUG:" not in plain.stderr
    assert " DEBUG:lute.execution.executor: starting Task process" in verbose.stderr
    assert "'-O'" in verbose.stderr  # -v: more lines, the Task runs as usual
    assert " DEBUG:lute.execution.executor: starting Task process" in debug.stderr
    assert "'-O'" not in debug.stderr  # --debug: the Task runs unoptimised too


def test_run_prints_exactly_the_run_id_on_stdout(lute_env, tmp_path):
    id_file = tmp_path / "id.txt"
    command = f"{shlex.quote(sys.executable)} -m lute run -t Tester -c {REPO}/config/test.yaml"
    done = subprocess.run(
        ["sh", "-c", f"{command} > {shlex.quote(str(id_file))}"],
        env=lute_env,
        stderr=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0
    (row,) = task_rows(Path(lute_env["LUTE_WORK_DIR"]) / "lute.db", "Test")
    assert id_file.read_text() == row["run_id"] + "\n"


def test_version_and_dry_run(lute_env, work_dir):
    version = run_lute(["--version"], lute_env)
    assert version.returncode == 0 and version.stdout.startswith("lute ")
    dry = run_lute(
        ["run", "--dry-run", "-t", "Tester", "-c", str(REPO / "config/test.yaml")], lute_env
    )
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith("# --dry-run: validated parameters of Test from ")
    assert "loops: 3" in dry.stdout and "nothing was run" in dry.stdout
    assert not (work_dir / "lute.db").exists()


def test_listings_and_shows_take_json(lute_env, work_dir):
    config = str(REPO / "config/test.yaml")
    run_id = run_lute(["run", "-t", "Tester", "-c", config], lute_env).stdout.strip()
    (listed,) = json.loads(run_lute(["db", "list", "--json"], lute_env).stdout)
    assert listed["run_id"] == run_id and listed["status"] == "COMPLETED"
    assert listed["duration"] > 0
    shown = json.loads(run_lute(["db", "show", run_id[:8], "--json"], lute_env).stdout)
    assert shown["run_id"] == run_id
    (history,) = json.loads(run_lute(["db", "history", "Test", "loops", "--json"], lute_env).stdout)
    assert history["run_id"] == run_id and history["value"] == 3
    tasks = json.loads(run_lute(["tasks", "list", "--json"], lute_env).stdout)
    assert {"task": "Test", "managed_tasks": ["Tester"]}.items() <= next(
        t for t in tasks if t["task"] == "Test"
    ).items()


def test_cancel_takes_an_eight_character_prefix(lute_env, tmp_path, gate):
    env = demo_env(lute_env)
    proc = start_lute(
        ["run", "-t", "DailyDemoer", "-c", str(demo_config(tmp_path, wait_for=str(gate.path)))], env
    )
    try:
        read_until(proc.stderr, "waiting for")
        (row,) = task_rows(Path(lute_env["LUTE_WORK_DIR"]) / "lute.db", "DailyDemo")
        cancel = run_lute(["cancel", row["run_id"][:8]], env)
        assert cancel.returncode == 0, cancel.stderr
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 1
    assert "DailyDemo finished: CANCELLED" in err
    assert out == row["run_id"] + "\n"


def test_logs_prints_a_runs_task_output_by_prefix(lute_env, tmp_path):
    env = demo_env(lute_env)
    run_id = run_lute(["run", "-t", "DailyDemoer", "-c", str(demo_config(tmp_path))], env).stdout
    for args in (["logs", run_id[:8]], ["logs", run_id.strip(), "-f"]):
        done = run_lute(args, env)
        assert done.returncode == 0, done.stderr
        assert "hello from the task" in done.stdout
    unknown = run_lute(["logs", "feedbeef"], env)
    assert unknown.returncode == 2 and len(unknown.stderr.splitlines()) == 1


def test_export_format_follows_the_extension_and_the_file_the_umask(lute_env, tmp_path):
    run_lute(["run", "-t", "Tester", "-c", str(REPO / "config/test.yaml")], lute_env)
    for umask, mode in ((0o002, 0o664), (0o077, 0o600)):
        out = tmp_path / f"runs-{umask:o}.csv"
        done = run_lute(
            ["db", "export", "-o", str(out)], lute_env, preexec_fn=lambda u=umask: os.umask(u)
        )
        assert done.returncode == 0, done.stderr
        (row,) = list(csv.DictReader(out.open()))
        assert row["task_name"] == "Test" if "task_name" in row else row
        assert stat.S_IMODE(out.stat().st_mode) == mode
    bad = run_lute(["db", "export", "-o", str(tmp_path / "runs.xls")], lute_env)
    assert bad.returncode == 2 and "cannot tell the format" in bad.stderr


def test_an_unconfigured_elog_is_one_info_line_per_run(lute_env):
    env = {k: v for k, v in lute_env.items() if not k.startswith(("LUTE_ELOG", "JID_"))}
    done = run_lute(["run", "-t", "Tester", "-c", str(REPO / "config/test.yaml")], env)
    lines = [line for line in done.stderr.splitlines() if "eLog not configured" in line]
    assert len(lines) == 1 and " INFO:" in lines[0]


def test_colour_only_on_a_terminal_and_never_with_no_color(lute_env):
    config = str(REPO / "config/test.yaml")
    for extra, coloured in (({}, True), ({"NO_COLOR": "1"}, False)):
        env = {**lute_env, "TERM": "xterm", **extra}
        terminal = PtyReader()
        proc = subprocess.Popen(
            [sys.executable, "-m", "lute", "run", "-t", "Tester", "-c", config],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=terminal.child,
        )
        proc.wait(timeout=120)
        seen = terminal.text()
        assert ("\x1b[" in seen) is coloured, seen
        assert "Test finished: COMPLETED" in seen
    piped = run_lute(["run", "-t", "Tester", "-c", config], {**lute_env, "TERM": "xterm"})
    assert "\x1b[" not in piped.stderr
