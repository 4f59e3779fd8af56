"""The Executor's plugin interface: to_dict/from_dict, entry-point plugins, logs, cancel."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import faultkit
import pytest
from conftest import run_lute, task_rows
from faultkit import assert_gone, fault_config, read_pids

import lute.core.plugins
from lute.core.analysis import TaskStatus
from lute.core.exceptions import ConfigurationError, ControlError, UnknownNameError
from lute.execution.control import cancel_run, run_file
from lute.execution.executor import BaseExecutor, Executor
from lute.execution.plugins import executor_class, executor_names
from lute.managed_tasks import ManagedTask

PLUGINS = Path(__file__).parent / "plugins"


# --- to_dict / from_dict -----------------------------------------------------------


def configured_executor() -> Executor:
    executor = Executor(
        "Fault", time_limit=20, kill_grace=1.0, retries=1, log_stdout="{run_id}-{attempt}.txt"
    )
    executor.update_environment({"FAULT_MARK": "round-trip"})
    executor.add_hook("task_failed", faultkit.record_hook)
    executor.add_hook("task_done", faultkit.record_hook)
    executor.add_tasklet(faultkit.summary_tasklet, ("tasklet summary",), set_summary=True)
    return executor


def run_and_observe(executor: BaseExecutor, config: Path, counter: Path) -> dict:
    counter.unlink(missing_ok=True)
    faultkit.CALLS.clear()
    status = executor.execute_task(str(config))
    desc = executor.analysis
    return {
        "status": status,
        "attempts": desc.attempt,
        "hooks": list(faultkit.CALLS),
        "summary": desc.task_result.summary,
        "mark": desc.task_env.get("FAULT_MARK"),
        "stdout_log": Path(desc.log_paths["stdout"]).name.replace(desc.run_id, "RUN"),
    }


def test_to_dict_from_dict_round_trip_runs_identically(in_process, tmp_path):
    counter = tmp_path / "count"
    config = fault_config(
        tmp_path,
        in_process,
        {"mode": "fail_times", "fail_times": 1, "counter_file": str(counter)},
    )
    original = configured_executor()
    description = json.loads(json.dumps(original.to_dict()))

    clone = BaseExecutor.from_dict(description)

    assert type(clone) is Executor
    assert clone.to_dict() == description
    first = run_and_observe(original, config, counter)
    second = run_and_observe(clone, config, counter)
    assert first == second
    assert first == {
        "status": TaskStatus.COMPLETED,
        "attempts": 2,
        "hooks": [("TASK_FAILED", "FAILED"), ("TASK_DONE", "COMPLETED")],
        "summary": ["succeeded on attempt 2", "tasklet summary"],  # tasklets add to it
        "mark": "round-trip",
        "stdout_log": "RUN-2.txt",
    }
    assert len(task_rows(in_process / "lute.db", "Fault")) == 4
    assert_gone(read_pids(tmp_path / "pids"))


def test_to_dict_refuses_what_cannot_be_rebuilt():
    executor = Executor("Fault")
    executor.add_hook("task_done", lambda executor, msg: None)
    with pytest.raises(ConfigurationError, match="lambda"):
        executor.to_dict()
    executor = Executor("Fault")
    executor.add_tasklet(faultkit.summary_tasklet, (object(),))
    with pytest.raises(ConfigurationError, match="JSON"):
        executor.to_dict()


def test_from_dict_rejects_a_bad_description():
    with pytest.raises(ConfigurationError, match="invalid executor description"):
        BaseExecutor.from_dict({"executor": "Executor"})
    with pytest.raises(UnknownNameError, match="unknown executor 'Nope'"):
        BaseExecutor.from_dict({"executor": "Nope", "task_name": "Fault"})


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"retries": -1}, "retries"),
        ({"time_limit": 0}, "time_limit"),
        ({"kill_grace": -1}, "kill_grace"),
        ({"log_stdout": "{job}.out"}, r"it may use: \{task\}, \{run_id\}, \{attempt\}"),
    ],
)
def test_bad_options_are_refused_at_construction(options, message):
    with pytest.raises(ConfigurationError, match=message):
        Executor("Fault", **options)


# --- plugins ---------------------------------------------------------------------


@pytest.fixture
def timing_plugin(monkeypatch):
    """The TimingExecutor plugin, installed as a distribution with an entry point.

    lute.core.plugins caches what it found per process; the cache is emptied so
    the scan sees this distribution, and again so later tests do not.
    """
    monkeypatch.syspath_prepend(str(PLUGINS))
    lute.core.plugins._entry_points.cache_clear()
    yield
    lute.core.plugins._entry_points.cache_clear()


def test_timing_executor_plugin_is_found_by_entry_point(timing_plugin, in_process, tmp_path):
    config = fault_config(tmp_path, in_process, {"mode": "sleep", "seconds": 0.01})
    timing = tmp_path / "timing.txt"
    assert "TimingExecutor" in executor_names()
    cls = executor_class("TimingExecutor")
    executor = cls("Fault", timing_filepath=str(timing), time_limit=30)

    assert executor.execute_task(str(config)) is TaskStatus.COMPLETED
    rebuilt = BaseExecutor.from_dict(json.loads(json.dumps(executor.to_dict())))
    assert type(rebuilt) is cls
    assert rebuilt.execute_task(str(config)) is TaskStatus.COMPLETED

    lines = timing.read_text().splitlines()
    run_ids = [row["run_id"] for row in task_rows(in_process / "lute.db", "Fault")]
    assert len(lines) == 2
    for line, run_id in zip(lines, run_ids, strict=True):
        assert line.startswith(f"Fault run {run_id}: 1 attempt(s), ")
        assert line.endswith(" s of CPU")


def test_a_managed_task_can_name_a_plugin_executor(timing_plugin, tmp_path):
    managed = ManagedTask(
        "Fault", executor="TimingExecutor", options={"timing_filepath": str(tmp_path / "t")}
    )
    assert type(managed.build()).__name__ == "TimingExecutor"


def test_plugins_are_looked_up_only_when_asked_for(lute_env):
    script = (
        "import importlib.metadata as m\n"
        "real = m.entry_points\n"
        "def scan(*a, group='', **k):\n"
        "    if group.startswith('lute.'): raise SystemExit(f'{group} scanned')\n"
        "    return real(*a, group=group, **k)\n"
        "m.entry_points = scan\n"
        "import lute.cli, lute.execution.executor\n"
        "from lute.managed_tasks import get_managed_task\n"
        "get_managed_task('Tester').build()\n"
        "lute.cli.build_parser()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=lute_env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


def test_unknown_executor_lists_the_known_ones(timing_plugin):
    with pytest.raises(UnknownNameError, match="Known: Executor, TimingExecutor"):
        executor_class("TimingExecuter")
    with pytest.raises(ConfigurationError, match="not a BaseExecutor subclass"):
        executor_class("lute.tasks.base:Task")


# --- log locations -----------------------------------------------------------------


def test_log_locations_are_configurable_and_recorded(in_process, tmp_path):
    config = fault_config(tmp_path, in_process, {"mode": "raise"})
    errors = tmp_path / "elsewhere" / "{task}-{attempt}.err"
    executor = Executor(
        "Fault", retries=1, log_dir="my-logs", log_stdout="all.out", log_stderr=str(errors)
    )

    assert executor.execute_task(str(config)) is TaskStatus.FAILED

    recorded = task_rows(in_process / "lute.db", "Fault")
    assert [row["log_stdout"] for row in recorded] == [str(in_process / "my-logs" / "all.out")] * 2
    assert [row["log_stderr"] for row in recorded] == [
        str(tmp_path / "elsewhere" / "Fault-1.err"),
        str(tmp_path / "elsewhere" / "Fault-2.err"),
    ]
    for row in recorded:
        assert "RuntimeError: Fault raised" in Path(row["log_stderr"]).read_text()


# --- lute cancel -------------------------------------------------------------------


def advertise(work_dir: Path, run_id: str, **info) -> Path:
    path = run_file(work_dir, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"run_id": run_id, "task": "Fault", **info}))
    return path


def test_cancel_refuses_an_unknown_run(work_dir):
    advertise(work_dir, "abc123", host=socket.gethostname(), executor_pid=1)
    with pytest.raises(UnknownNameError, match=r"unknown run id .*'abc124'.*Did you mean: abc123"):
        cancel_run("abc124", str(work_dir))
    with pytest.raises(ConfigurationError, match=r"run id '\.\./\.\./etc/passwd' is not a valid"):
        cancel_run("../../etc/passwd", str(work_dir))


def test_cancel_refuses_a_run_on_another_host(work_dir):
    advertise(work_dir, "remote1", host="not-" + socket.gethostname(), executor_pid=os.getpid())
    with pytest.raises(ControlError, match="runs on host 'not-"):
        cancel_run("remote1", str(work_dir))


def test_cancel_recognises_a_stale_run_file(work_dir, caplog):
    gone = subprocess.Popen(["true"])
    gone.wait()
    path = advertise(
        work_dir,
        "stale1",
        host=socket.gethostname(),
        executor_pid=gone.pid,
        executor_start_ticks="0",
    )
    with caplog.at_level(logging.WARNING, logger="lute.execution.control"):
        cancel_run("stale1", str(work_dir))
    assert f"its Executor (pid {gone.pid}) had died" in caplog.text
    assert not path.exists()


def test_cli_cancel_of_an_unknown_run_says_so(lute_env, work_dir):
    done = run_lute(["cancel", "nope", "--work-dir", str(work_dir)], lute_env)
    assert done.returncode == 2
    assert "unknown run id" in done.stderr
    assert "'nope'" in done.stderr
