"""Fault injection: real Task processes that hang, crash, flood, get signalled.

Each case asserts the final status, the hooks called, the recorded row, and
that no process of the run is still running afterwards. Executors run in
this process when the hooks are under test, and as a ``lute run`` process
when the Executor itself is signalled. Tests synchronise on FIFOs the Task
writes to, never on sleeps; time limits and grace periods are short.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import run_lute, task_rows
from faultkit import (
    SYNC_TIMEOUT_S,
    Fifo,
    HookLog,
    alive,
    assert_gone,
    fault_config,
    in_thread,
    read_pids,
    release,
)

from lute.core.analysis import TaskResult, TaskStatus
from lute.core.procinfo import process_state
from lute.execution.executor import Executor


def rows(work_dir: Path, table: str = "Fault") -> list[dict]:
    return task_rows(work_dir / "lute.db", table)


def assert_no_run_files(work_dir: Path) -> None:
    assert list((work_dir / "runs").glob("*.json")) == []


# --- time limits -----------------------------------------------------------------


def test_task_sleeping_past_its_time_limit_is_timed_out(in_process, tmp_path):
    config = fault_config(tmp_path, in_process, {"mode": "sleep"})
    executor = Executor("Fault", time_limit=1.5, kill_grace=5.0)
    hooks = HookLog(executor)

    status = executor.execute_task(str(config))

    assert status is TaskStatus.TIMEDOUT
    assert hooks.lifecycle() == [("task_started", "RUNNING"), ("task_cancelled", "TIMEDOUT")]
    [row] = rows(in_process)
    assert row["result.task_status"] == "TIMEDOUT"
    assert "exceeded its time limit of 1.5s" in row["result.summary"]
    assert row["exit_code"] == -signal.SIGTERM
    assert row["attempt"] == 1
    assert_gone(read_pids(tmp_path / "pids"))
    assert_no_run_files(in_process)


def test_program_ignoring_sigterm_is_killed_after_the_grace_period(in_process, tmp_path):
    config = fault_config(tmp_path, in_process, {})
    executor = Executor("FaultBinary", time_limit=2.0, kill_grace=0.5)
    hooks = HookLog(executor)

    status = executor.execute_task(str(config))

    assert status is TaskStatus.TIMEDOUT
    assert hooks.lifecycle() == [
        ("task_started", "RUNNING"),
        ("no_pickle_mode", "RUNNING"),  # the program takes the Task's place
        ("task_cancelled", "TIMEDOUT"),
    ]
    [row] = rows(in_process, "FaultBinary")
    assert row["result.task_status"] == "TIMEDOUT"
    assert row["exit_code"] == -signal.SIGKILL
    pids = read_pids(tmp_path / "pids")
    assert len(pids) == 2  # the shell and its sleep, both ignoring SIGTERM
    assert_gone(pids)


def test_time_limit_reaches_a_grandchild_that_ignores_sigterm(in_process, tmp_path):
    config = fault_config(tmp_path, in_process, {"mode": "grandchild"})
    executor = Executor("Fault", time_limit=1.5, kill_grace=0.5)
    hooks = HookLog(executor)

    status = executor.execute_task(str(config))

    assert status is TaskStatus.TIMEDOUT
    assert hooks.lifecycle()[-1] == ("task_cancelled", "TIMEDOUT")
    assert rows(in_process)[0]["result.task_status"] == "TIMEDOUT"
    pids = read_pids(tmp_path / "pids")
    assert len(pids) == 2
    assert_gone(pids)


def test_header_task_timeout_limits_a_cli_run(lute_env, work_dir, tmp_path):
    config = fault_config(tmp_path, work_dir, {"mode": "sleep"}, task_timeout=1.5)

    done = run_lute(["run", "-t", "FaultTester", "-c", str(config)], lute_env)

    assert done.returncode == 1, done.stderr
    assert "Fault ended: TIMEDOUT" in done.stderr  # the task_cancelled hook
    assert rows(work_dir)[0]["result.task_status"] == "TIMEDOUT"
    assert_gone(read_pids(tmp_path / "pids"))


# --- crashes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "signum"), [("sigkill", signal.SIGKILL), ("segfault", signal.SIGSEGV)]
)
def test_task_killed_by_a_signal_fails_with_its_name(in_process, tmp_path, mode, signum):
    config = fault_config(tmp_path, in_process, {"mode": mode})
    executor = Executor("Fault", time_limit=30)
    hooks = HookLog(executor)

    status = executor.execute_task(str(config))

    assert status is TaskStatus.FAILED
    assert hooks.lifecycle() == [("task_started", "RUNNING"), ("task_failed", "FAILED")]
    [row] = rows(in_process)
    assert row["result.task_status"] == "FAILED"
    assert row["exit_code"] == -signum
    assert f"was killed by {signal.Signals(signum).name}" in row["result.summary"]
    assert row["valid_flag"] == 0
    assert_gone(read_pids(tmp_path / "pids"))


def test_exception_traceback_reaches_the_user_and_the_record(lute_env, work_dir, tmp_path):
    config = fault_config(tmp_path, work_dir, {"mode": "raise"})

    done = run_lute(["run", "-t", "FaultTester", "-c", str(config)], lute_env)

    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert "RuntimeError: Fault raised as requested" in done.stderr
    assert "Fault failed" in done.stderr  # the task_failed hook
    [row] = rows(work_dir)
    assert row["result.task_status"] == "FAILED"
    assert row["result.summary"].startswith("Task exited with code 1")
    assert "Traceback" in row["result.summary"]
    assert "RuntimeError: Fault raised as requested" in row["result.summary"]
    assert_gone(read_pids(tmp_path / "pids"))


# --- the Executor is signalled ---------------------------------------------------


def start_lute(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "lute", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_to_the_executor_cancels_and_records(lute_env, work_dir, tmp_path, signum):
    ready = Fifo(tmp_path / "ready")
    config = fault_config(tmp_path, work_dir, {"mode": "grandchild", "ready_fifo": str(ready.path)})
    lute = start_lute(["run", "-t", "FaultTester", "-c", str(config)], lute_env)
    pids = ready.pids()
    assert (work_dir / "runs").is_dir()

    lute.send_signal(signum)
    _, stderr = lute.communicate(timeout=SYNC_TIMEOUT_S)

    assert lute.returncode == 1, stderr
    assert "Fault ended: CANCELLED" in stderr  # the task_cancelled hook
    [row] = rows(work_dir)
    assert row["result.task_status"] == "CANCELLED"
    assert f"the Executor received {signal.Signals(signum).name}" in row["result.summary"]
    assert row["run_id"] in stderr  # announced at start, so the user can cancel by id
    assert_gone(pids)
    assert_no_run_files(work_dir)


def test_lute_cancel_by_run_id(lute_env, work_dir, tmp_path):
    ready = Fifo(tmp_path / "ready")
    config = fault_config(tmp_path, work_dir, {"mode": "sleep", "ready_fifo": str(ready.path)})
    lute = start_lute(["run", "-t", "FaultTester", "-c", str(config)], lute_env)
    pids = ready.pids()
    [run_file] = (work_dir / "runs").glob("*.json")
    advert = json.loads(run_file.read_text())
    assert advert["executor_pid"] == lute.pid
    assert advert["task_pgid"] == pids[0]

    cancel = run_lute(["cancel", run_file.stem, "--work-dir", str(work_dir)], lute_env)
    _, stderr = lute.communicate(timeout=SYNC_TIMEOUT_S)

    assert cancel.returncode == 0, cancel.stderr
    assert lute.returncode == 1
    [row] = rows(work_dir)
    assert row["run_id"] == run_file.stem
    assert row["result.task_status"] == "CANCELLED"
    assert "Fault ended: CANCELLED" in stderr
    assert_gone(pids)
    assert not run_file.exists()


def test_executor_cancel_from_another_thread(in_process, tmp_path):
    ready = Fifo(tmp_path / "ready")
    config = fault_config(tmp_path, in_process, {"mode": "sleep", "ready_fifo": str(ready.path)})
    executor = Executor("Fault", time_limit=30, retries=2)
    hooks = HookLog(executor)
    assert executor.cancel() is False  # nothing running yet
    found: list[int] = []

    def cancel_when_ready() -> None:
        found.extend(ready.pids())
        executor.cancel()

    in_thread(cancel_when_ready)
    status = executor.execute_task(str(config))

    assert status is TaskStatus.CANCELLED
    assert hooks.lifecycle()[-1] == ("task_cancelled", "CANCELLED")
    [row] = rows(in_process)  # a cancel is never retried
    assert "Executor.cancel() was called" in row["result.summary"]
    assert_gone(found)


# --- stop and continue -----------------------------------------------------------


def test_task_stopped_and_continued(in_process, tmp_path):
    ready = Fifo(tmp_path / "ready")
    go = tmp_path / "release"
    os.mkfifo(go)
    config = fault_config(
        tmp_path,
        in_process,
        {"mode": "sleep", "ready_fifo": str(ready.path), "release_fifo": str(go)},
    )
    stopped, resumed = threading.Event(), threading.Event()
    executor = Executor("Fault", time_limit=30)
    hooks = HookLog(
        executor,
        actions={
            "task_stopped": lambda msg: stopped.set(),
            "task_started": lambda msg: isinstance(msg.contents, TaskResult) and resumed.set(),
        },
    )

    def drive() -> None:
        [pid] = ready.pids()
        os.kill(pid, signal.SIGTSTP)
        if stopped.wait(SYNC_TIMEOUT_S):
            os.kill(pid, signal.SIGCONT)
        if resumed.wait(SYNC_TIMEOUT_S):
            release(go)

    driver = in_thread(drive)
    status = executor.execute_task(str(config))
    driver.join(SYNC_TIMEOUT_S)

    assert status is TaskStatus.COMPLETED
    assert hooks.lifecycle() == [
        ("task_started", "RUNNING"),
        ("task_stopped", "STOPPED"),
        ("task_started", "RUNNING"),
        ("task_result", "COMPLETED"),
        ("task_done", "COMPLETED"),
    ]
    assert rows(in_process)[0]["result.task_status"] == "COMPLETED"
    assert_gone(read_pids(tmp_path / "pids"))


def wait_until_stopped(pid: int) -> bool:
    """Whether child ``pid`` stops (waitid blocks; bounded by a thread join)."""
    thread = in_thread(os.waitid, os.P_PID, pid, os.WSTOPPED)
    thread.join(SYNC_TIMEOUT_S)
    return not thread.is_alive()


def test_executor_passes_sigtstp_and_sigcont_to_the_task(lute_env, work_dir, tmp_path):
    ready = Fifo(tmp_path / "ready")
    go = tmp_path / "release"
    os.mkfifo(go)
    config = fault_config(
        tmp_path,
        work_dir,
        {"mode": "sleep", "ready_fifo": str(ready.path), "release_fifo": str(go)},
    )
    lute = start_lute(["run", "-t", "FaultTester", "-c", str(config)], lute_env)
    [task_pid] = ready.pids()

    lute.send_signal(signal.SIGTSTP)
    executor_stopped = wait_until_stopped(lute.pid)
    task_state = process_state(task_pid)
    lute.send_signal(signal.SIGCONT)
    release(go)
    _, stderr = lute.communicate(timeout=SYNC_TIMEOUT_S)

    assert executor_stopped, "the Executor did not stop itself after the Task stopped"
    assert task_state == "T"
    assert lute.returncode == 0, stderr
    assert "Fault resumed" in stderr, stderr
    assert stderr.index("Fault stopped") < stderr.index("Fault resumed")
    assert rows(work_dir)[0]["result.task_status"] == "COMPLETED"
    assert not alive(task_pid)


# --- output ----------------------------------------------------------------------


def test_100_mb_on_both_streams_at_once_is_logged_whole(in_process, tmp_path):
    config = fault_config(tmp_path, in_process, {"mode": "flood", "flood_mb": 100})
    executor = Executor("Fault", time_limit=120)
    hooks = HookLog(executor)

    status = executor.execute_task(str(config))

    assert status is TaskStatus.COMPLETED
    assert hooks.lifecycle() == [
        ("task_started", "RUNNING"),
        ("task_result", "COMPLETED"),
        ("task_done", "COMPLETED"),
    ]
    [row] = rows(in_process)
    size = 100 * 1024 * 1024
    announcement = len(f"Fault running (flood): {read_pids(tmp_path / 'pids')[0]}\n")
    assert os.path.getsize(row["log_stdout"]) == announcement + size
    assert os.path.getsize(row["log_stderr"]) == size
    assert row["log_stdout"] == executor.analysis.log_paths["stdout"]
    assert_gone(read_pids(tmp_path / "pids"))


# --- the Executor's own failures -------------------------------------------------


def test_a_raising_hook_is_recorded_and_the_run_goes_on(in_process, tmp_path):
    config = fault_config(tmp_path, in_process, {"mode": "sleep", "seconds": 0.01})
    executor = Executor("Fault", time_limit=30)
    hooks = HookLog(executor)

    def broken(executor, msg):
        raise ValueError("hook bug")

    executor.add_hook("task_started", broken)

    status = executor.execute_task(str(config))

    assert status is TaskStatus.COMPLETED
    assert ("task_done", "COMPLETED") in hooks.lifecycle()  # later hooks still run
    [row] = rows(in_process)
    assert row["result.task_status"] == "COMPLETED"
    [error] = json.loads(row["executor_errors"])
    assert error.startswith("hook task_started raised")
    assert "ValueError: hook bug" in error
    assert_gone(read_pids(tmp_path / "pids"))


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_raising_tasklet_is_recorded_and_the_run_goes_on(in_process, tmp_path, when):
    config = fault_config(tmp_path, in_process, {"mode": "sleep", "seconds": 0.01})
    executor = Executor("Fault", time_limit=30)
    hooks = HookLog(executor)

    def broken_tasklet():
        raise OSError("tasklet bug")

    executor.add_tasklet(broken_tasklet, when=when)

    status = executor.execute_task(str(config))

    assert status is TaskStatus.COMPLETED
    assert hooks.lifecycle()[-1] == ("task_done", "COMPLETED")
    [row] = rows(in_process)
    [error] = json.loads(row["executor_errors"])
    assert error.startswith("tasklet broken_tasklet raised")
    assert "OSError: tasklet bug" in error
    assert_gone(read_pids(tmp_path / "pids"))


class BrokenResults(Executor):
    def _process_results(self) -> None:
        raise RuntimeError("report bug")


def test_raising_result_processing_is_logged_and_recorded(in_process, tmp_path, caplog):
    config = fault_config(tmp_path, in_process, {"mode": "sleep", "seconds": 0.01})
    executor = BrokenResults("Fault", time_limit=30)

    status = executor.execute_task(str(config))

    assert status is TaskStatus.COMPLETED
    [row] = rows(in_process)
    assert row["result.task_status"] == "COMPLETED"
    [error] = json.loads(row["executor_errors"])
    assert error.startswith("result processing raised")
    assert "RuntimeError: report bug" in caplog.text
    assert_gone(read_pids(tmp_path / "pids"))


class BadInterpreter(Executor):
    def _submit_cmd(self, entry: list[str], config_path: str) -> list[str]:
        return [str(Path(__file__).parent / "no-such-python"), *entry, "-c", config_path]


def test_a_process_that_cannot_start_is_recorded_as_failed(in_process, tmp_path):
    config = fault_config(tmp_path, in_process, {})
    executor = BadInterpreter("Fault", retries=1)
    hooks = HookLog(executor)

    status = executor.execute_task(str(config))

    assert status is TaskStatus.FAILED
    assert hooks.lifecycle() == [("task_failed", "FAILED")] * 2
    recorded = rows(in_process)
    assert [row["attempt"] for row in recorded] == [1, 2]
    for row in recorded:
        assert row["result.task_status"] == "FAILED"
        assert row["exit_code"] is None
        assert "could not start: FileNotFoundError" in row["result.summary"]
        assert "could not start the Task process" in row["executor_errors"]
    assert_no_run_files(in_process)


class BrokenSetup(Executor):
    def setup(self) -> None:
        raise RuntimeError("no scratch space")


def test_a_failing_setup_is_recorded_and_nothing_starts(in_process, tmp_path):
    config = fault_config(tmp_path, in_process, {})
    executor = BrokenSetup("Fault", retries=2)

    status = executor.execute_task(str(config))

    assert status is TaskStatus.FAILED
    [row] = rows(in_process)
    assert "the Executor's setup failed" in row["result.summary"]
    assert "RuntimeError: no scratch space" in row["executor_errors"]
    assert not (tmp_path / "pids").exists()


# --- retries ---------------------------------------------------------------------


def test_fails_twice_then_succeeds_with_two_retries(in_process, tmp_path):
    config = fault_config(
        tmp_path,
        in_process,
        {"mode": "fail_times", "fail_times": 2, "counter_file": str(tmp_path / "count")},
    )
    executor = Executor("Fault", time_limit=30, retries=2)
    hooks = HookLog(executor)

    status = executor.execute_task(str(config))

    assert status is TaskStatus.COMPLETED
    finals = [call for call in hooks.lifecycle() if call[0] in ("task_failed", "task_done")]
    assert finals == [
        ("task_failed", "FAILED"),
        ("task_failed", "FAILED"),
        ("task_done", "COMPLETED"),
    ]
    recorded = rows(in_process)
    assert [row["attempt"] for row in recorded] == [1, 2, 3]
    assert [row["result.task_status"] for row in recorded] == ["FAILED", "FAILED", "COMPLETED"]
    assert len({row["run_id"] for row in recorded}) == 1
    assert len({row["log_stderr"] for row in recorded}) == 3  # one log per attempt
    assert "Fault attempt 2 fails" in Path(recorded[1]["log_stderr"]).read_text()
    assert recorded[2]["result.summary"] == "succeeded on attempt 3"
    assert_gone(read_pids(tmp_path / "pids"))


def test_fails_three_times_with_two_retries(in_process, tmp_path):
    config = fault_config(
        tmp_path,
        in_process,
        {"mode": "fail_times", "fail_times": 3, "counter_file": str(tmp_path / "count")},
    )
    executor = Executor("Fault", time_limit=30, retries=2)
    hooks = HookLog(executor)

    status = executor.execute_task(str(config))

    assert status is TaskStatus.FAILED
    assert [call for call in hooks.lifecycle() if call[0] != "task_started"] == [
        ("task_failed", "FAILED")
    ] * 3
    recorded = rows(in_process)
    assert [row["attempt"] for row in recorded] == [1, 2, 3]
    assert [row["result.task_status"] for row in recorded] == ["FAILED"] * 3
    assert (tmp_path / "count").read_text() == "3"
    assert_gone(read_pids(tmp_path / "pids"))


def test_a_timed_out_attempt_is_not_retried(in_process, tmp_path):
    config = fault_config(tmp_path, in_process, {"mode": "sleep"})
    executor = Executor("Fault", time_limit=1.0, kill_grace=1.0, retries=2)
    hooks = HookLog(executor)

    assert executor.execute_task(str(config)) is TaskStatus.TIMEDOUT
    assert hooks.lifecycle()[-1] == ("task_cancelled", "TIMEDOUT")
    assert [row["result.task_status"] for row in rows(in_process)] == ["TIMEDOUT"]
    assert_gone(read_pids(tmp_path / "pids"))


def test_log_files_show_output_while_the_task_runs(in_process, tmp_path):
    """A user tailing the log of a running Task sees what it has written so far.

    The Executor writes each chunk to the log file before it logs its lines,
    so once the line has been logged it must already be in the file.
    """
    config = fault_config(tmp_path, in_process, {"mode": "sleep", "seconds": 60})
    executor = Executor("Fault", kill_grace=1.0)
    seen: list[str] = []

    class ReadLogThenCancel(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "Fault running" in record.getMessage() and not seen:
                seen.append(Path(executor.analysis.log_paths["stdout"]).read_text())
                executor.cancel()

    handler = ReadLogThenCancel()
    task_logger = logging.getLogger("lute.task.Fault")
    task_logger.addHandler(handler)
    level = task_logger.level
    task_logger.setLevel(logging.INFO)
    try:
        status = executor.execute_task(str(config))
    finally:
        task_logger.removeHandler(handler)
        task_logger.setLevel(level)
    assert status is TaskStatus.CANCELLED
    assert "Fault running (sleep)" in seen[0]
