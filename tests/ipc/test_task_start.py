"""How the Task process starts: forked from its Executor when that is safe, else a fresh Python.

A forked Task holds what the Executor had imported when it forked, plus
what it imports itself: neither may be SQLAlchemy, requests, jinja2 or numpy
for a Task that does not use them (the Executor imports SQLAlchemy only
after the fork, requests and jinja2 only when a logbook or a template needs
them). A fresh interpreter is used when threads run in the Executor's
process or ``LUTE_TASK_START=exec``. A forked Task does nothing until its run
is on record, and an Executor that fails before recording it leaves nothing
running.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import REPO, run_lute, task_rows, write_config

from lute.core.analysis import TaskStatus
from lute.core.redaction import is_secret_name
from lute.execution.executor import Executor
from tests.ipc.conftest import PLUGIN

HEAVY = ("sqlalchemy", "requests", "urllib3", "jinja2", "numpy")


def modules_of_task(tmp_path: Path, work_dir: Path, env: dict[str, str]) -> set[str]:
    """Run ModulesReporter with ``lute run``; the modules its Task process held."""
    out = tmp_path / "modules.txt"
    config = write_config(
        tmp_path / "c.yaml", {"IpcModules": {"out_file": str(out)}}, {"work_dir": str(work_dir)}
    )
    env = {**env, "PYTHONPATH": os.pathsep.join([str(PLUGIN), env["PYTHONPATH"]])}
    done = run_lute(["run", "-t", "ModulesReporter", "-c", str(config)], env)
    assert done.returncode == 0, done.stderr
    return set(out.read_text().split())


@pytest.mark.parametrize("mode", ["fork", "exec"])
def test_the_task_process_imports_no_heavy_package_it_does_not_use(
    lute_env, work_dir, tmp_path, mode
):
    modules = modules_of_task(tmp_path, work_dir, {**lute_env, "LUTE_TASK_START": mode})
    held = [name for name in modules if name.split(".")[0] in HEAVY]
    assert held == []
    assert ("lute.cli" in modules) is (mode == "fork"), "forked from the Executor, or fresh"
    assert "pydantic" in modules and "lute.tasks.launch" in modules


def test_a_task_is_not_forked_from_an_executor_holding_elog_credentials(
    lute_env, work_dir, tmp_path
):
    # A fork's memory and /proc/<pid>/environ are the Executor's: they would hold the password.
    env = {**lute_env, "LUTE_TASK_START": "fork", "LUTE_ELOG_PASSWORD": "Sup3r-s3cret-elog-pw"}
    modules = modules_of_task(tmp_path, work_dir, env)
    assert "lute.cli" not in modules, "the Task was forked from the Executor"


def test_a_task_is_not_forked_while_another_thread_runs(probe, tmp_path):
    out = tmp_path / "modules.txt"
    config = write_config(
        tmp_path / "c.yaml", {"IpcModules": {"out_file": str(out)}}, {"work_dir": str(probe)}
    )
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert Executor("IpcModules").execute_task(str(config)) is TaskStatus.COMPLETED
    finally:
        stop.set()
        other.join()
    assert "_pytest" not in out.read_text().split(), "the Task was forked from this process"


FAILS_BEFORE_THE_RECORD = """
import sys
import lute.execution.control as control
from lute.execution.executor import Executor

def no_space(self, pid, attempt):
    raise OSError(28, "No space left on device")

control.RunAdvert.publish = no_space
executor = Executor("Fault")
print(executor.execute_task(sys.argv[1]).value, executor.analysis.task_pgid)
"""


def test_a_task_forked_before_its_executor_failed_never_runs(lute_env, work_dir, tmp_path):
    marker = tmp_path / "ran"
    config = write_config(
        tmp_path / "c.yaml",
        {"Fault": {"mode": "sleep", "seconds": 0.01, "pid_file": str(marker)}},
        {"work_dir": str(work_dir)},
    )
    done = subprocess.run(
        [sys.executable, "-c", FAILS_BEFORE_THE_RECORD, str(config)],
        env={**lute_env, "LUTE_TASK_START": "fork"},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    status, pgid = done.stdout.split()
    assert status == "FAILED"
    assert "could not start the Task process" in done.stderr
    assert not marker.exists(), "the Task ran although its run was never recorded"
    assert not Path(f"/proc/{pgid}").exists(), "the forked Task was left behind"
    [row] = task_rows(work_dir / "lute.db", "Fault")
    assert row["result.task_status"] == "FAILED"


IN_ITS_ENVIRONMENT = """
import pathlib, sys
from lute.execution.executor import Executor

config = pathlib.Path(sys.argv[1])
executor = Executor("Test")
seen = []
executor.add_hook("task_log", lambda _executor, msg: seen.append(msg.contents))
if sys.argv[2] == "break_the_config":
    executor.add_tasklet(config.write_text, ("Test: [this is not valid",), when="before")
else:
    executor.update_environment({"LUTE_loops": "5"})
status = executor.execute_task(str(config))
print(status.value, len(seen))
"""


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        # Same environment: the parameters are handed over, the file is not read again.
        ("break_the_config", "COMPLETED 2"),
        # The Task's environment overrides a parameter: it validates again in it.
        ("override_in_the_task_environment", "COMPLETED 5"),
    ],
)
def test_a_forked_task_validates_again_only_if_its_environment_differs(
    lute_env, work_dir, tmp_path, change, expected
):
    config = write_config(tmp_path / "c.yaml", {"Test": {"loops": 2}}, {"work_dir": str(work_dir)})
    env = {name: value for name, value in lute_env.items() if not is_secret_name(name)}
    done = subprocess.run(
        [sys.executable, "-c", IN_ITS_ENVIRONMENT, str(config), change],
        env={**env, "LUTE_TASK_START": "fork"},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[-2] == expected, done.stderr


READS_THE_DATABASE_IN_ITS_ENVIRONMENT = """
import sys
from lute.execution.executor import Executor

assert Executor("TestWriteOutput").execute_task(sys.argv[1]).value == "COMPLETED"
reader = Executor("TestReadOutput")
reader.update_environment({"LUTE_BENCH_NOTE": "validate again in the Task"})
print(reader.execute_task(sys.argv[1]).value)
"""


def test_a_forked_task_validating_again_opens_its_own_database_connections(
    lute_env, work_dir, tmp_path
):
    # TestReadOutput's validation reads the database, which the Executor has
    # open already: the fork must not use the Executor's connections.
    config = write_config(
        tmp_path / "c.yaml",
        {"TestWriteOutput": {"num_lines": 2}, "TestReadOutput": {}},
        {"work_dir": str(work_dir)},
    )
    done = subprocess.run(
        [sys.executable, "-c", READS_THE_DATABASE_IN_ITS_ENVIRONMENT, str(config)],
        env={**lute_env, "LUTE_TASK_START": "fork"},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["COMPLETED"], done.stderr
