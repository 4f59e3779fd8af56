"""Managed tasks end to end: real Task processes, real sockets, real SQLite files."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import socket
from pathlib import Path

import pytest
from conftest import REPO, run_lute, run_python, task_rows, write_config

from lute.core.analysis import TaskStatus
from lute.execution.executor import BaseExecutor, Executor
from lute.ipc import Message


def test_tester_prints_messages_and_result_and_records_parameters(lute_env, work_dir):
    done = run_lute(["run", "-t", "Tester", "-c", str(REPO / "config/test.yaml")], lute_env)
    assert done.returncode == 0, done.stderr
    for expected in ("Test loop 1 of 3", "Test loop 3 of 3", "Test result: Test finished 3 loops"):
        assert expected in done.stderr
    (row,) = task_rows(work_dir / "lute.db", "Test")
    assert row["result.task_status"] == "COMPLETED"
    assert row["valid_flag"] == 1
    assert row["exit_code"] == 0
    assert (row["float_var"], row["str_var"], row["compound_var.int_var"]) == (0.01, "test", 10)
    assert row["compound_var.dict_var.a"] == "b"
    assert row["start_time"] <= row["end_time"]
    assert Path(row["log_stdout"]).is_file()


def test_thrown_error_fails_with_traceback_and_invalid_row(lute_env, work_dir, tmp_path):
    config = write_config(tmp_path / "c.yaml", {"Test": {"loops": 1, "throw_error": True}})
    done = run_lute(["run", "-t", "Tester", "-c", str(config)], lute_env)
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert "RuntimeError: Test raised an error as requested" in done.stderr
    (row,) = task_rows(work_dir / "lute.db", "Test")
    assert row["result.task_status"] == "FAILED"
    assert row["valid_flag"] == 0
    assert "RuntimeError: Test raised an error as requested" in row["result.summary"]


def test_reader_finds_the_writers_file_through_the_database(lute_env, work_dir, tmp_path):
    out_file = tmp_path / "written.txt"
    config = write_config(
        tmp_path / "c.yaml",
        {"TestWriteOutput": {"out_file": str(out_file), "num_lines": 4}, "TestReadOutput": {}},
    )
    wrote = run_lute(["run", "-t", "WriteTester", "-c", str(config)], lute_env)
    assert wrote.returncode == 0, wrote.stderr
    read = run_lute(["run", "-t", "ReadTester", "-c", str(config)], lute_env)
    assert read.returncode == 0, read.stderr
    assert f"Read 4 lines from {out_file}" in read.stderr
    (row,) = task_rows(work_dir / "lute.db", "TestReadOutput")
    assert row["in_file"] == str(out_file)


def test_reader_without_a_writer_run_says_so(lute_env, work_dir, tmp_path):
    config = write_config(tmp_path / "c.yaml", {"TestReadOutput": {}})
    done = run_lute(["run", "-t", "ReadTester", "-c", str(config)], lute_env)
    assert done.returncode == 2
    assert "no in_file given and no valid TestWriteOutput run" in done.stderr


@pytest.fixture
def in_process(monkeypatch, work_dir):
    """Run Executors in this process, writing into the test's work dir."""
    monkeypatch.setenv("LUTE_WORK_DIR", str(work_dir))
    for name in ("LUTE_DB_URL", "EXPERIMENT", "RUN_NUM"):
        monkeypatch.delenv(name, raising=False)


def test_socket_moves_100mb_arrays_intact(in_process, work_dir, tmp_path):
    config = write_config(
        tmp_path / "c.yaml", {"TestSocket": {"array_size_mb": 100, "num_arrays": 2}}
    )
    received: list[tuple[int, str, str]] = []

    def check_array(executor: BaseExecutor, msg: Message) -> None:
        array = msg.contents["array"]
        digest = hashlib.sha256(array.tobytes()).hexdigest()
        received.append((array.nbytes, msg.contents["sha256"], digest))

    executor = Executor("TestSocket")
    executor.add_hook("task_log", check_array)
    assert executor.execute_task(str(config)) is TaskStatus.COMPLETED
    assert len(received) == 2
    for nbytes, sent, arrived in received:
        assert nbytes >= 100_000_000
        assert sent == arrived
    assert [sent for _, sent, _ in received] == executor.analysis.task_result.payload


def test_unauthenticated_frames_during_a_run_are_rejected_and_the_task_goes_on(
    in_process, work_dir, tmp_path, caplog
):
    config = write_config(tmp_path / "c.yaml", {"Test": {"loops": 2}, "TestSocket": {}})
    marker = tmp_path / "unpickled"
    intruders: list[socket.socket] = []

    def intrude(executor: BaseExecutor, msg: Message) -> None:
        BaseExecutor._hook_task_started(executor, msg)
        raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        raw.connect(executor.socket_path)
        payload = json.dumps({"open": str(marker)}).encode()
        raw.sendall(b"\x00LUTE\x01" + len(payload).to_bytes(8, "big") + b"\0" * 32 + payload)
        intruders.append(raw)

    executor = Executor("Test")
    executor.add_hook("task_started", intrude)
    with caplog.at_level(logging.INFO):
        status = executor.execute_task(str(config))
    for raw in intruders:
        raw.close()
    assert status is TaskStatus.COMPLETED
    # The Task's own connection and its watchdog's come first; the intruder is refused.
    assert re.search(
        r"rejected socket connection \d+: handshake failed authentication", caplog.text
    )
    assert "Test loop 2 of 2" in caplog.text
    assert not marker.exists()
    (row,) = task_rows(work_dir / "lute.db", "Test")
    assert row["result.task_status"] == "COMPLETED"


def test_ten_megabytes_on_stdout_do_not_deadlock(lute_env, work_dir, tmp_path):
    script = "yes 'a line of third-party output' | head -c 10000000; echo done >&2"
    config = write_config(tmp_path / "c.yaml", {"TestBinary": {"p_arg2": script}})
    done = run_lute(["run", "-t", "BinaryTester", "-c", str(config)], lute_env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    (row,) = task_rows(work_dir / "lute.db", "TestBinary")
    assert row["result.task_status"] == "COMPLETED"
    assert Path(row["log_stdout"]).stat().st_size >= 10_000_000
    assert "done" in Path(row["log_stderr"]).read_text()


def test_binary_testers_succeed_and_fail_with_the_programs_status(lute_env, work_dir):
    config = str(REPO / "config/test.yaml")
    ok = run_lute(["run", "-t", "BinaryTester", "-c", config], lute_env)
    assert ok.returncode == 0, ok.stderr
    assert "Hello from a third-party program" in ok.stderr
    bad = run_lute(["run", "-t", "BinaryErrTester", "-c", config], lute_env)
    assert bad.returncode == 1
    assert "This program is about to fail" in bad.stderr
    (row,) = task_rows(work_dir / "lute.db", "TestBinaryErr")
    assert (row["result.task_status"], row["exit_code"], row["valid_flag"]) == ("FAILED", 7, 0)


def test_unknown_managed_task_suggests_close_names(lute_env):
    done = run_lute(["run", "-t", "Testr", "-c", str(REPO / "config/test.yaml")], lute_env)
    assert done.returncode == 2
    assert "unknown managed task 'Testr'. Did you mean: Tester" in done.stderr


def test_run_task_py_is_the_same_command(lute_env, work_dir):
    done = run_python(
        [str(REPO / "run_task.py"), "-t", "Tester", "-c", "config/test.yaml"], lute_env, cwd=REPO
    )
    assert done.returncode == 0, done.stderr
    assert task_rows(work_dir / "lute.db", "Test")[0]["result.task_status"] == "COMPLETED"


def test_managed_task_over_tcp_on_a_named_interface(lute_env, work_dir):
    env = {**lute_env, "LUTE_IPC_TCP_HOST": "127.0.0.1"}
    done = run_lute(["run", "-t", "Tester", "-c", str(REPO / "config/test.yaml")], env)
    assert done.returncode == 0, done.stderr
    assert "Test loop 3 of 3" in done.stderr
    (row,) = task_rows(work_dir / "lute.db", "Test")
    assert row["result.task_status"] == "COMPLETED"
    (exec_cfg,) = [
        r for r in task_rows(work_dir / "lute.db", "exec_cfg") if r["id"] == row["exec_cfg_id"]
    ]
    assert "TCP on one interface" in exec_cfg["communicator_desc"]


def test_listening_on_every_interface_is_refused_before_anything_runs(lute_env, work_dir):
    env = {**lute_env, "LUTE_IPC_TCP_HOST": "0.0.0.0"}
    done = run_lute(["run", "-t", "Tester", "-c", str(REPO / "config/test.yaml")], env)
    assert done.returncode == 2
    assert "LUTE_IPC_TCP_HOST='0.0.0.0' would listen on every interface" in done.stderr
    assert not (work_dir / "lute.db").exists()


def test_verbosity_flags_work_after_the_sub_command(lute_env):
    config = str(REPO / "config/test.yaml")
    quiet = run_lute(["run", "-t", "Tester", "-c", config], lute_env)
    loud = run_lute(["run", "-t", "Tester", "-c", config, "-v"], lute_env)
    assert quiet.returncode == loud.returncode == 0
    assert "DEBUG:" not in quiet.stderr
    assert "DEBUG:lute.execution.executor: starting Task process" in loud.stderr
