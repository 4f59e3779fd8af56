"""Executor building blocks: environment, hooks, tasklets, the pipe fallback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import REPO, task_rows, write_config

from lute.core.analysis import TaskResult, TaskStatus
from lute.core.exceptions import ConfigurationError
from lute.execution.executor import Executor
from lute.ipc import FrameDecoder, Message, TextLine
from lute.tasks.environment import merge_environment, source_script


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("prepend", "/new:/old"), ("append", "/old:/new"), ("overwrite", "/new")],
)
def test_path_updates(mode, expected):
    merged = merge_environment({"PATH": "/old", "A": "1"}, {"PATH": "/new", "A": "2"}, mode)
    assert merged == {"PATH": expected, "A": "2"}


def test_bad_path_mode_lists_the_choices():
    with pytest.raises(ConfigurationError, match="prepend, append, overwrite"):
        merge_environment({}, {"PATH": "/x"}, "sideways")


def test_shell_source_reads_the_scripts_environment_without_eval(tmp_path):
    script = tmp_path / "setup.sh"
    script.write_text("PLAIN='a value; with $(not run) stuff'\nexport PATH=\"/opt/tool:$PATH\"\n")
    env = source_script(script, {"PATH": "/usr/bin:/bin", "KEEP": "yes"})
    assert env["PLAIN"] == "a value; with $(not run) stuff"
    assert env["PATH"] == "/opt/tool:/usr/bin:/bin"
    assert env["KEEP"] == "yes"


def test_shell_source_of_a_missing_script_names_it(tmp_path):
    with pytest.raises(ConfigurationError, match=r"nope\.sh: no such file"):
        source_script(tmp_path / "nope.sh", {})


def test_unknown_hook_event_lists_the_valid_ones():
    with pytest.raises(ConfigurationError, match="task_started"):
        Executor("Test").add_hook("task_exploded", lambda executor, msg: None)


def test_hooks_tasklets_and_environment_reach_the_run(monkeypatch, work_dir, tmp_path):
    monkeypatch.setenv("LUTE_WORK_DIR", str(work_dir))
    config = write_config(tmp_path / "c.yaml", {"Test": {"loops": 2}})
    seen: list[str] = []
    executor = Executor("Test")
    executor.update_environment({"LUTE_TEST_MARK": "from-executor"})
    executor.add_hook("task_log", lambda ex, msg: seen.append(msg.contents))
    executor.add_hook("task_done", lambda ex, msg: seen.append("done"))
    executor.add_tasklet(seen.append, ("before",), when="before")
    executor.add_tasklet(lambda: {"checked": True}, when="after", set_summary=True)
    assert executor.execute_task(str(config)) is TaskStatus.COMPLETED
    assert seen == ["before", "Test loop 1 of 2", "Test loop 2 of 2", "done"]
    # As in LUTE, a tasklet's summary is added to the Task's own.
    assert executor.analysis.task_result.summary == ["Test finished 2 loops", {"checked": True}]
    assert executor.analysis.task_env["LUTE_TEST_MARK"] == "from-executor"
    (row,) = task_rows(work_dir / "lute.db", "Test")
    assert row["result.summary"] == '["Test finished 2 loops", {"checked": true}]'


def test_task_without_a_socket_frames_its_messages_on_stdout(tmp_path, work_dir):
    """A Task started by hand (no LUTE_SOCKET) still speaks the protocol, on stdout."""
    config = write_config(tmp_path / "c.yaml", {"Test": {"loops": 1}})
    key = os.urandom(32)
    env = {**os.environ, "LUTE_IPC_KEY": key.hex(), "LUTE_WORK_DIR": str(work_dir)}
    env.pop("LUTE_SOCKET", None)
    done = subprocess.run(
        [sys.executable, str(REPO / "subprocess_task.py"), "-c", str(config), "-t", "Test"],
        env=env,
        capture_output=True,
        check=True,
        timeout=60,
    )
    decoder = FrameDecoder(key, b"stdout", "stdout", text=True)
    items = decoder.feed(done.stdout) + decoder.close()
    messages = [item for item in items if isinstance(item, Message)]
    assert [m.signal for m in messages] == ["TASK_STARTED", "TASK_LOG", "TASK_RESULT"]
    result = messages[-1].contents
    assert isinstance(result, TaskResult)
    assert result.task_status is TaskStatus.COMPLETED
    assert not [item for item in items if isinstance(item, TextLine)]


def test_lute_run_defers_heavy_imports_until_the_task_has_started():
    """``lute run`` reaches Popen without SQLAlchemy or the SLURM/workflow code."""
    script = (
        "import sys, lute.cli, lute.execution.executor\n"
        "lute.cli.build_parser('run')\n"
        "heavy = [m for m in ('sqlalchemy', 'lute.batch.slurm', 'lute.batch.workflows')"
        " if m in sys.modules]\n"
        "sys.exit(f'imported early: {heavy}' if heavy else 0)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
