"""Exit status 0 is not success on its own: a Python Task must also report its result.

A Task process that ends with ``os._exit(0)`` (or a C extension calling
``exit``) before sending ``TASK_RESULT`` did not finish its work; a
third-party program, which takes the Task's place after ``NO_PICKLE_MODE``,
succeeds by its exit status alone (tests/test_third_party.py).
"""

from __future__ import annotations

from conftest import run_lute, task_rows
from faultkit import assert_gone, fault_config, read_pids


def test_exit_0_without_a_result_is_recorded_failed(lute_env, work_dir, tmp_path):
    config = fault_config(tmp_path, work_dir, {"mode": "exit_without_result"})

    done = run_lute(["run", "-t", "FaultTester", "-c", str(config)], lute_env)

    assert done.returncode == 1, done.stderr
    assert "Fault failed" in done.stderr  # the task_failed hook
    assert "Fault finished: FAILED" in done.stderr
    [row] = task_rows(work_dir / "lute.db", "Fault")
    assert row["result.task_status"] == "FAILED"
    assert row["exit_code"] == 0
    assert row["valid_flag"] == 0
    assert row["result.summary"].startswith("Task exited with code 0 without reporting a result")
    shown = run_lute(["db", "show", row["run_id"], "--work-dir", str(work_dir)], lute_env)
    assert "exited with code 0 without reporting a result" in shown.stdout
    assert "Fault running (exit_without_result)" in done.stderr  # its output is not lost
    assert_gone(read_pids(tmp_path / "pids"))
    assert list((work_dir / "runs").glob("*.json")) == []
