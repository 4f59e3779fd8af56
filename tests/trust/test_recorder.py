"""The recorder process: ``lute run``'s records written by a fork that imported SQLAlchemy early.

``lute run`` forks a recorder before it imports the rest of lute, so the
database code loads on another core meanwhile (``lute.db.recorder``). The
guarantees must not change: the run is on record (RUNNING, with its
Executor) before its Task acts, and its end before ``lute run`` exits; a
recorder that dies costs nothing but the time to write the record in the
Executor's own process; signals sent to the whole process group do not stop
it before the final record.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from conftest import REPO, task_rows
from faultkit import SYNC_TIMEOUT_S, Fifo, fault_config, release

IMPORTS_OF_THE_EXECUTOR = """
import sys
from lute.cli import main
code = main(["run", "-q", "-t", "FaultTester", "-c", sys.argv[1]])
print(code, "sqlalchemy" in sys.modules)
"""


def run_in_one_process(config: Path, env: dict[str, str]) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", IMPORTS_OF_THE_EXECUTOR, str(config)],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=SYNC_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()[-2:]


def test_the_executor_process_of_lute_run_never_imports_sqlalchemy(lute_env, work_dir, tmp_path):
    config = fault_config(tmp_path, work_dir, {"mode": "sleep", "seconds": 0.01})
    assert run_in_one_process(config, lute_env) == ["0", "False"]
    assert run_in_one_process(config, {**lute_env, "LUTE_RECORDER": "0"}) == ["0", "True"]
    rows = task_rows(work_dir / "lute.db", "Fault")
    assert [row["result.task_status"] for row in rows] == ["COMPLETED", "COMPLETED"]


def children(pid: int) -> set[int]:
    found: set[int] = set()
    for thread in os.listdir(f"/proc/{pid}/task"):
        text = Path(f"/proc/{pid}/task/{thread}/children").read_text()
        found.update(int(child) for child in text.split())
    return found


def start_waiting_run(tmp_path: Path, work_dir: Path, env: dict[str, str], *flags: str):
    ready = Fifo(tmp_path / "ready")
    go = tmp_path / "go"
    os.mkfifo(go)
    config = fault_config(
        tmp_path,
        work_dir,
        {"mode": "sleep", "ready_fifo": str(ready.path), "release_fifo": str(go)},
    )
    lute = subprocess.Popen(
        [sys.executable, "-m", "lute", "run", *flags, "-t", "FaultTester", "-c", str(config)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    [task] = ready.pids()
    ready.close()
    [recorder] = children(lute.pid) - {task}
    return lute, go, task, recorder


def test_a_dead_recorder_costs_no_record(lute_env, work_dir, tmp_path):
    lute, go, _task, recorder = start_waiting_run(tmp_path, work_dir, lute_env)
    [row] = task_rows(work_dir / "lute.db", "Fault")
    assert row["result.task_status"] == "RUNNING"  # on record before the Task acts
    assert row["executor_pid"] == lute.pid
    os.kill(recorder, signal.SIGKILL)
    release(go)
    _, stderr = lute.communicate(timeout=SYNC_TIMEOUT_S)
    assert lute.returncode == 0, stderr
    [row] = task_rows(work_dir / "lute.db", "Fault")
    assert row["result.task_status"] == "COMPLETED"


def test_a_signal_to_the_whole_group_still_gets_the_final_record(lute_env, work_dir, tmp_path):
    lute, _go, _task, recorder = start_waiting_run(tmp_path, work_dir, lute_env, "-v")
    os.killpg(lute.pid, signal.SIGTERM)  # as a batch system ends a job step
    _, stderr = lute.communicate(timeout=SYNC_TIMEOUT_S)
    assert lute.returncode != 0
    [row] = task_rows(work_dir / "lute.db", "Fault")
    assert row["result.task_status"] == "CANCELLED", stderr
    # The recorder, not the Executor's fallback, wrote it: the signal did not end it.
    assert "the recorder is gone" not in stderr, stderr
    assert not Path(f"/proc/{recorder}").exists(), "the recorder outlived lute run"
