"""An Executor killed outright: the run is on record, nothing keeps running, readers settle it.

Real processes throughout: ``lute run`` is started, its Task (the ``Fault``
Task, which starts a grandchild) announces itself on a FIFO, and the test
SIGKILLs the Executor as the out-of-memory killer would.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

from conftest import run_lute, task_rows
from faultkit import SYNC_TIMEOUT_S, Fifo, alive, fault_config


def start_run(config: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "lute", "run", "-t", "FaultTester", "-c", str(config)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def runs_row(work_dir: Path) -> dict:
    with sqlite3.connect(work_dir / "lute.db") as conn:
        conn.row_factory = sqlite3.Row
        (row,) = conn.execute("SELECT * FROM runs").fetchall()
        return dict(row)


def wait_until_gone(pids: list[int], timeout: float = SYNC_TIMEOUT_S) -> list[int]:
    """Wait on pidfds (an event, not a poll) until ``pids`` have exited; the survivors."""
    fds = {}
    for pid in pids:
        try:
            fds[os.pidfd_open(pid)] = pid
        except ProcessLookupError:
            continue
    try:
        pending = set(fds)
        while pending:
            ready, _, _ = select.select(list(pending), [], [], timeout)
            if not ready:
                break
            pending -= set(ready)
        return [pid for pid in pids if alive(pid)]
    finally:
        for fd in fds:
            os.close(fd)


def processes_of_run(run_id: str, executor: subprocess.Popen[str]) -> list[int]:
    """Every live process of the run (Task, grandchild, watchdog), however the Task started.

    A Task started as a fresh interpreter, and what it starts, show the run in
    their environment. A Task forked from its Executor, and its watchdog,
    show in ``/proc`` the environment and command line the Executor was
    started with (those a process was exec'd with): they are the processes
    with the Executor's command line, but for the Executor itself and its
    recorder (``lute.db.recorder``, which stays in the Executor's process
    group and ends when the Executor does).
    """
    command = [arg.encode() for arg in executor.args]
    executor_group = os.getpgrp()  # start_run starts no session: the Executor is in ours
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == executor.pid:
            continue
        with contextlib.suppress(OSError):
            if os.getpgid(int(entry)) == executor_group:
                continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")[:-1]
        except OSError:
            continue
        ours = f"LUTE_RUN_ID={run_id}".encode() in environ.split(b"\0") or cmdline == command
        if ours and alive(int(entry)):
            found.append(int(entry))
    return found


def kill_executor(lute: subprocess.Popen[str]) -> None:
    lute.send_signal(signal.SIGKILL)
    lute.communicate(timeout=SYNC_TIMEOUT_S)


def test_the_run_is_recorded_running_with_who_runs_it(lute_env, work_dir, tmp_path):
    ready = Fifo(tmp_path / "ready")
    config = fault_config(tmp_path, work_dir, {"mode": "grandchild", "ready_fifo": str(ready.path)})
    lute = start_run(config, lute_env)
    try:
        task_pid, _grandchild = ready.pids()
        row = runs_row(work_dir)
        [task_row] = task_rows(work_dir / "lute.db", "Fault")
    finally:
        lute.terminate()
        lute.communicate(timeout=SYNC_TIMEOUT_S)
    assert row["status"] == "RUNNING"
    assert row["host"] == socket.gethostname()
    assert row["executor_pid"] == lute.pid
    assert row["task_pgid"] == task_pid
    assert row["start_time"] is not None and row["end_time"] is None
    assert task_row["result.task_status"] == "RUNNING"
    assert task_row["mode"] == "grandchild"  # the parameters are on record from the start


def test_killed_executor_takes_its_task_group_along_and_readers_settle_the_run(
    lute_env, work_dir, tmp_path
):
    ready = Fifo(tmp_path / "ready")
    config = fault_config(tmp_path, work_dir, {"mode": "grandchild", "ready_fifo": str(ready.path)})
    lute = start_run(config, lute_env)
    pids = ready.pids()
    run_id = runs_row(work_dir)["run_id"]

    kill_executor(lute)

    # The Task's watchdog sees the Executor's socket close and ends the group.
    assert wait_until_gone(pids) == []
    assert wait_until_gone(processes_of_run(run_id, lute)) == []
    assert runs_row(work_dir)["status"] == "RUNNING"  # nobody has read the runs yet

    listing = run_lute(["db", "list", "--work-dir", str(work_dir)], lute_env)
    assert listing.returncode == 0, listing.stderr
    assert "FAILED" in listing.stdout
    assert "ended without recording how the run ended" in listing.stderr
    [row] = task_rows(work_dir / "lute.db", "Fault")
    assert row["result.task_status"] == "FAILED"
    assert row["valid_flag"] == 0
    assert f"the Executor (pid {lute.pid} on {socket.gethostname()})" in row["invalid_reason"]
    shown = run_lute(["db", "show", run_id, "--work-dir", str(work_dir)], lute_env)
    assert shown.returncode == 0, shown.stderr
    assert "FAILED" in shown.stdout


def test_cancel_ends_what_a_dead_executor_left_and_settles_the_run(lute_env, work_dir, tmp_path):
    ready = Fifo(tmp_path / "ready")
    config = fault_config(tmp_path, work_dir, {"mode": "grandchild", "ready_fifo": str(ready.path)})
    lute = start_run(config, lute_env)
    pids = ready.pids()
    [run_file] = (work_dir / "runs").glob("*.json")
    advert = json.loads(run_file.read_text())
    watchdogs = [
        pid
        for pid in processes_of_run(run_file.stem, lute)
        if os.getpgid(pid) != advert["task_pgid"]
    ]
    assert len(watchdogs) == 1
    os.kill(watchdogs[0], signal.SIGKILL)  # a machine that failed twice over
    assert wait_until_gone(watchdogs) == []
    kill_executor(lute)
    assert all(alive(pid) for pid in pids)  # the Task runs on, unrecorded, under init

    cancel = run_lute(["cancel", run_file.stem, "--work-dir", str(work_dir)], lute_env)

    assert cancel.returncode == 0, cancel.stderr
    assert f"its Executor (pid {lute.pid}) had died" in cancel.stderr
    assert "killed 2 processes it left" in cancel.stderr
    assert "recorded it FAILED" in cancel.stderr
    assert [pid for pid in pids if alive(pid)] == []
    assert not run_file.exists()
    [row] = task_rows(work_dir / "lute.db", "Fault")
    assert (row["result.task_status"], row["valid_flag"]) == ("FAILED", 0)


def test_a_live_run_is_not_settled_by_a_reader(lute_env, work_dir, tmp_path):
    ready = Fifo(tmp_path / "ready")
    config = fault_config(tmp_path, work_dir, {"mode": "sleep", "ready_fifo": str(ready.path)})
    lute = start_run(config, lute_env)
    try:
        ready.pids()
        listing = run_lute(["db", "list", "--work-dir", str(work_dir)], lute_env)
        assert listing.returncode == 0, listing.stderr
        assert "RUNNING" in listing.stdout
        assert runs_row(work_dir)["status"] == "RUNNING"
    finally:
        lute.terminate()
        lute.communicate(timeout=SYNC_TIMEOUT_S)
    assert runs_row(work_dir)["status"] == "CANCELLED"
