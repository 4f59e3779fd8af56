"""Managed tasks in real subprocesses posting to a real HTTP logbook on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import log_lines, run_lute, task_rows, write_config
from elog_server import READ_PATH, STATUS_PATH, ElogServer

from lute.core.analysis import TaskStatus
from lute.managed_tasks import get_managed_task

PASSWORD = "Sup3r-s3cret-elog-pw"
SUMMARY = {"n_shots": 1000, "hit_rate": 0.25, "detector": "epix"}
REPORT_HTML = "<html><body><h1>lute_test_report</h1><p>hit rate 0.25</p></body></html>"


def elog_env(lute_env: dict[str, str], url: str, status_url: str, **extra: str) -> dict[str, str]:
    return {
        **lute_env,
        "LUTE_ELOG_URL": url,
        "JID_UPDATE_COUNTERS": status_url,
        "LUTE_ELOG_RETRIES": "1",
        "LUTE_ELOG_BACKOFF": "0",
        "LUTE_ELOG_TIMEOUT": "2,30",
        "LUTE_ELOG_FLUSH_TIMEOUT": "30",
        **extra,
    }


def status_values(server: ElogServer, task: str) -> list[str]:
    values = []
    for post in server.status_posts():
        (value,) = [pair["value"] for pair in post if pair["key"] == f"{task} status"]
        values.append(value)
    return values


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("use_figure", [False, True])
def test_managed_task_posts_status_run_table_and_report(lute_env, work_dir, tmp_path, use_figure):
    config = write_config(tmp_path / "elog.yaml", {"TestElog": {"use_figure": use_figure}})
    summary_dir = tmp_path / "summary"
    existing = [{"key": "events", "value": "1200"}]
    with ElogServer(counters=existing) as server:
        env = elog_env(lute_env, server.url, server.status_url, LUTE_SUMMARY_DIR=str(summary_dir))
        done = run_lute(["run", "-t", "ElogTester", "-c", str(config)], env)
    assert done.returncode == 0, done.stderr
    assert [(r.method, r.path) for r in server.requests] == [
        ("POST", READ_PATH),
        ("POST", STATUS_PATH),
        ("POST", READ_PATH),
        ("POST", STATUS_PATH),
        ("POST", "/lgbk/run_control/xpptest/ws/add_run_params"),
    ]
    assert server.status_posts() == [
        [{"key": "events", "value": "1200"}, {"key": "TestElog status", "value": "RUNNING"}],
        [{"key": "events", "value": "1200"}, {"key": "TestElog status", "value": "COMPLETED"}],
    ]
    run_table = server.requests[-1]
    assert run_table.query == {"run_num": ["7"]}
    assert run_table.json == SUMMARY
    report = summary_dir / "lute_test_report" / "report.html"
    assert report.read_text() == REPORT_HTML
    (row,) = task_rows(work_dir / "lute.db", "TestElog")
    assert row["result.task_status"] == "COMPLETED"
    assert json.loads(row["result.summary"]) == SUMMARY
    assert row["result.payload"] == str(report)
    assert row["executor_errors"] is None


def test_failed_task_posts_failed_and_no_run_table(lute_env, work_dir, tmp_path):
    config = write_config(tmp_path / "fail.yaml", {"Test": {"loops": 1, "throw_error": True}})
    with ElogServer() as server:
        done = run_lute(
            ["run", "-t", "Tester", "-c", str(config)],
            elog_env(lute_env, server.url, server.status_url),
        )
    assert done.returncode == 1
    assert status_values(server, "Test") == ["RUNNING", "FAILED"]
    assert all(r.path in (READ_PATH, STATUS_PATH) for r in server.requests)


def test_timed_out_task_posts_timedout(lute_env, work_dir, tmp_path):
    config = write_config(
        tmp_path / "slow.yaml", {"TestBinary": {"p_arg2": "sleep 60"}}, {"task_timeout": 3}
    )
    with ElogServer() as server:
        env = elog_env(lute_env, server.url, server.status_url)
        done = run_lute(["run", "-t", "BinaryTester", "-c", str(config)], env)
    assert done.returncode == 1
    assert status_values(server, "TestBinary") == ["RUNNING", "TIMEDOUT"]


def test_cancelled_task_posts_cancelled(lute_env, work_dir, tmp_path):
    config = write_config(tmp_path / "slow.yaml", {"TestBinary": {"p_arg2": "sleep 60"}})
    with ElogServer() as server:
        env = elog_env(lute_env, server.url, server.status_url)
        proc = subprocess.Popen(
            [sys.executable, "-m", "lute", "run", "-t", "BinaryTester", "-c", str(config)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.wait_for(lambda requests: len(server.status_posts()) == 1)
            proc.send_signal(signal.SIGTERM)
            _, stderr = proc.communicate(timeout=60)
        finally:
            proc.kill()
    assert proc.returncode == 1, stderr
    assert status_values(server, "TestBinary") == ["RUNNING", "CANCELLED"]


@pytest.mark.parametrize("failure", ["error500", "hang", "refused", "badjson"])
def test_unhealthy_elog_leaves_the_run_alone_and_is_reported_once(
    lute_env, work_dir, tmp_path, failure
):
    config = write_config(tmp_path / "elog.yaml", {"TestElog": {}})
    summary_dir = tmp_path / "summary"
    with ElogServer("ok" if failure == "refused" else failure) as server:
        url, status_url = server.url, server.status_url
        if failure == "refused":
            url = f"http://127.0.0.1:{closed_port()}/lgbk"
            status_url = url.replace("/lgbk", STATUS_PATH)
        env = elog_env(
            lute_env,
            url,
            status_url,
            LUTE_SUMMARY_DIR=str(summary_dir),
            LUTE_ELOG_TIMEOUT="2,0.3",
            LUTE_ELOG_FLUSH_TIMEOUT="2",
        )
        done = run_lute(["run", "-t", "ElogTester", "-c", str(config)], env)
    assert done.returncode == 0, done.stderr
    reported = [line for line in log_lines(done.stderr) if line.startswith(("WARNING", "ERROR"))]
    assert len(reported) == 1, done.stderr
    assert "eLog post failed" in reported[0]
    (row,) = task_rows(work_dir / "lute.db", "TestElog")
    assert row["result.task_status"] == "COMPLETED"
    assert row["valid_flag"] == 1
    assert json.loads(row["result.summary"]) == SUMMARY
    assert row["result.payload"] == str(summary_dir / "lute_test_report" / "report.html")
    (error,) = json.loads(row["executor_errors"])
    assert error.startswith("eLog: ")
    assert "in 3 post(s)" in error


def test_executor_flush_returns_at_its_deadline_with_posts_in_flight(
    lute_env, work_dir, tmp_path, monkeypatch
):
    config = write_config(tmp_path / "test.yaml", {"Test": {"loops": 1}})
    with ElogServer("hang") as server:
        env = elog_env(lute_env, server.url, server.status_url, LUTE_ELOG_FLUSH_TIMEOUT="0.3")
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        executor = get_managed_task("Tester").build()
        status = executor.execute_task(str(config))
        assert server.hanging.is_set()
        assert not server.release.is_set()
        assert len(server.requests) == 1
        server.release.set()
    assert status is TaskStatus.COMPLETED
    errors = executor.analysis.executor_errors
    assert [e for e in errors if e.startswith("eLog: ")] == errors
    assert "still queued after the 0.3 s flush" in errors[0]
    (row,) = task_rows(work_dir / "lute.db", "Test")
    assert row["result.task_status"] == "COMPLETED"


def _secret_forms() -> list[str]:
    token = base64.b64encode(f"lute-user:{PASSWORD}".encode()).decode()
    return [PASSWORD, token]


def _assert_nowhere(done: subprocess.CompletedProcess[str], work_dir: Path) -> None:
    files = [p for p in work_dir.rglob("*") if p.is_file()]
    assert any(p.suffix in (".out", ".err") for p in files)
    for secret in _secret_forms():
        assert secret not in done.stdout
        assert secret not in done.stderr
        for path in files:
            assert secret.encode() not in path.read_bytes(), path


def test_credentials_from_environment_never_appear_in_logs(lute_env, work_dir, tmp_path):
    config = write_config(tmp_path / "elog.yaml", {"TestElog": {}})
    with ElogServer(credentials=("lute-user", PASSWORD)) as server:
        env = elog_env(
            lute_env,
            server.url,
            server.status_url,
            LUTE_ELOG_USER="lute-user",
            LUTE_ELOG_PASSWORD=PASSWORD,
            LUTE_SUMMARY_DIR=str(tmp_path / "summary"),
        )
        done = run_lute(["--debug", "-v", "run", "-t", "ElogTester", "-c", str(config)], env)
    assert done.returncode == 0, done.stderr
    assert "DEBUG:" in done.stderr
    assert status_values(server, "TestElog") == ["RUNNING", "COMPLETED"]
    assert server.run_params == {"7": SUMMARY}
    _assert_nowhere(done, work_dir)


def test_credentials_never_appear_in_failure_reports(lute_env, work_dir, tmp_path):
    config = write_config(tmp_path / "elog.yaml", {"TestElog": {}})
    credentials = tmp_path / "elog.cred"
    credentials.write_text(f"lute-user:{PASSWORD}\n")
    credentials.chmod(0o600)
    url = f"http://lute-user:{PASSWORD}@127.0.0.1:{closed_port()}/lgbk"
    env = elog_env(
        lute_env,
        url,
        url.replace("/lgbk", STATUS_PATH),
        LUTE_ELOG_CREDENTIALS=str(credentials),
        LUTE_SUMMARY_DIR=str(tmp_path / "summary"),
    )
    done = run_lute(["--debug", "run", "-t", "ElogTester", "-c", str(config)], env)
    assert done.returncode == 0, done.stderr
    assert "eLog post failed" in done.stderr
    _assert_nowhere(done, work_dir)
