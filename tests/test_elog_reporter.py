"""The Executor's eLog reporter in this process, against a real HTTP server."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from elog_server import ElogServer

from lute.config.models import tests as test_models
from lute.config.models.base import AnalysisHeader
from lute.core.analysis import DescribedAnalysis, ElogSummaryPlots, TaskResult, TaskStatus
from lute.elog.reporter import ElogReporter
from lute.elog.summary import report_path, summary_directory

REPORTER_LOGGER = "lute.elog.reporter"


def elog_env(server: ElogServer, **extra: str) -> dict[str, str]:
    return {
        "LUTE_ELOG_URL": server.url,
        "JID_UPDATE_COUNTERS": server.status_url,
        "LUTE_ELOG_RETRIES": "0",
        "LUTE_ELOG_BACKOFF": "0",
        "LUTE_ELOG_TIMEOUT": "2,5",
        "LUTE_ELOG_FLUSH_TIMEOUT": "30",
        **extra,
    }


def analysis(tmp_path: Path, task_name: str = "Test") -> DescribedAnalysis:
    header = AnalysisHeader(experiment="xpptest", run=7, work_dir=str(tmp_path))
    return DescribedAnalysis(
        task_result=TaskResult(task_name),
        task_parameters=test_models.TestParameters(lute_config=header),
    )


def elog_threads() -> int:
    return sum(1 for thread in threading.enumerate() if thread.name == "lute-elog")


def reporter_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == REPORTER_LOGGER]


def test_each_lifecycle_hook_posts_the_status_it_left(tmp_path):
    desc = analysis(tmp_path)
    sequence = [
        ("task_started", TaskStatus.RUNNING),
        ("task_log", TaskStatus.RUNNING),
        ("task_stopped", TaskStatus.STOPPED),
        ("task_failed", TaskStatus.FAILED),
        ("task_cancelled", TaskStatus.CANCELLED),
        ("task_cancelled", TaskStatus.TIMEDOUT),
        ("task_result", TaskStatus.COMPLETED),
        ("task_done", TaskStatus.COMPLETED),
    ]
    with ElogServer() as server:
        reporter = ElogReporter(elog_env(server))
        for hook, status in sequence:
            desc.task_result.task_status = status
            reporter.notify(hook, desc)
        reporter.finish(desc)
    statuses = [post[-1] for post in server.status_posts()]
    assert statuses == [
        {"key": "Test status", "value": value}
        for value in ("RUNNING", "STOPPED", "FAILED", "CANCELLED", "TIMEDOUT", "COMPLETED")
    ]
    assert desc.executor_errors == []


def test_not_configured_is_one_info_line_and_no_thread(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    threads_before = elog_threads()
    desc = analysis(tmp_path)
    desc.task_result.summary = {"a": 1}
    reporter = ElogReporter({})
    for hook in ("task_started", "task_log", "task_result", "task_done"):
        reporter.notify(hook, desc)
    reporter.finish(desc)
    records = reporter_records(caplog)
    assert [(r.levelno, "not configured" in r.getMessage()) for r in records] == [
        (logging.INFO, True)
    ]
    assert not reporter.enabled
    assert elog_threads() == threads_before
    assert desc.executor_errors == []


def test_importing_the_executor_starts_no_thread(lute_env):
    code = "import threading, lute.execution.executor; print(threading.active_count())"
    done = subprocess.run(
        [sys.executable, "-c", code], env=lute_env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "1"


def test_flush_returns_at_its_deadline_with_the_post_still_in_flight(tmp_path):
    desc = analysis(tmp_path)
    with ElogServer("hang") as server:
        env = elog_env(server, LUTE_ELOG_TIMEOUT="2,60", LUTE_ELOG_FLUSH_TIMEOUT="0.2")
        reporter = ElogReporter(env)
        desc.task_result.task_status = TaskStatus.RUNNING
        reporter.notify("task_started", desc)
        assert server.hanging.wait(30)
        reporter.finish(desc)
        assert not server.release.is_set()
        assert reporter.pending() == 1
        assert len(server.requests) == 1
        assert any("still queued after the 0.2 s flush" in e for e in desc.executor_errors)
        server.release.set()
        assert server.wait_for(lambda requests: len(requests) == 2)


def test_failures_are_logged_once_and_kept_with_the_run(tmp_path, caplog):
    desc = analysis(tmp_path)
    desc.task_result.summary = {"hits": 3}
    with ElogServer("error500") as server:
        reporter = ElogReporter(elog_env(server))
        for hook, status in (("task_started", "RUNNING"), ("task_done", "COMPLETED")):
            desc.task_result.task_status = TaskStatus(status)
            reporter.notify(hook, desc)
        reporter.finish(desc)
    warnings = [r for r in reporter_records(caplog) if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "HTTP 500" in warnings[0].getMessage()
    (error,) = desc.executor_errors
    assert error.startswith("eLog: 3 failure(s) in 3 post(s); first: posting Test status RUNNING")
    assert desc.task_result.task_status is TaskStatus.COMPLETED


def test_a_new_run_reports_its_own_failures(tmp_path, caplog):
    with ElogServer("error500") as server:
        reporter = ElogReporter(elog_env(server))
        for _ in range(2):
            desc = analysis(tmp_path)
            reporter.notify("task_started", desc)
            reporter.finish(desc)
            assert len(desc.executor_errors) == 1
    warnings = [r for r in reporter_records(caplog) if r.levelno >= logging.WARNING]
    assert len(warnings) == 2


def test_unusable_settings_disable_posting_with_one_error(tmp_path, caplog):
    credentials = tmp_path / "elog.cred"
    credentials.write_text("lute:secret\n")
    credentials.chmod(0o644)
    desc = analysis(tmp_path)
    reporter = ElogReporter(
        {"LUTE_ELOG_URL": "http://127.0.0.1:1/lgbk", "LUTE_ELOG_CREDENTIALS": str(credentials)}
    )
    for hook in ("task_started", "task_done"):
        reporter.notify(hook, desc)
    reporter.finish(desc)
    records = reporter_records(caplog)
    assert [r.levelno for r in records] == [logging.ERROR]
    assert "chmod 600" in records[0].getMessage()
    assert not reporter.enabled
    (error,) = desc.executor_errors
    assert error.startswith("eLog disabled:")


@pytest.mark.parametrize("figures", ["html", "object"])
def test_summary_plots_become_a_report_and_its_path(tmp_path, figures):
    from lute.tasks.test import HtmlFigure

    html = "<html><body>peaks</body></html>"
    desc = analysis(tmp_path)
    desc.task_result.payload = ElogSummaryPlots(
        "geometry/run7", html if figures == "html" else HtmlFigure(html)
    )
    reporter = ElogReporter({"LUTE_SUMMARY_DIR": str(tmp_path / "summary")})
    reporter.notify("task_result", desc)
    expected = tmp_path / "summary" / "geometry" / "run7" / "report.html"
    assert desc.task_result.payload == str(expected)
    assert expected.read_text() == html
    assert sorted(p.name for p in expected.parent.iterdir()) == ["report.html"]


def test_a_bad_report_is_kept_as_an_error_not_raised(tmp_path):
    desc = analysis(tmp_path)
    desc.task_result.payload = ElogSummaryPlots("../outside", "<html></html>")
    ElogReporter({"LUTE_SUMMARY_DIR": str(tmp_path / "summary")}).notify("task_result", desc)
    assert desc.task_result.payload.startswith("<report not written:")
    (error,) = desc.executor_errors
    assert "'..'" in error


def test_summary_directory_prefers_setting_then_facility_then_work_dir(tmp_path):
    facility = tmp_path / "ds"
    work_dir = tmp_path / "work"
    assert summary_directory("xppl1234", work_dir, str(tmp_path / "s"), facility) == (
        tmp_path / "s"
    )
    assert summary_directory("xppl1234", work_dir, None, facility) == work_dir / "summary"
    (facility / "xpp" / "xppl1234").mkdir(parents=True)
    assert summary_directory("xppl1234", work_dir, None, facility) == (
        facility / "xpp" / "xppl1234" / "stats" / "summary"
    )
    assert summary_directory("", work_dir, None, facility) == work_dir / "summary"


def test_summary_directory_skips_an_experiment_it_cannot_write_to(tmp_path):
    """A read-only file where ``stats`` should be: unusable even for root."""
    facility = tmp_path / "ds"
    experiment = facility / "xpp" / "xppl1234"
    experiment.mkdir(parents=True)
    (experiment / "stats").write_text("")
    (experiment / "stats").chmod(0o444)
    assert summary_directory("xppl1234", tmp_path, None, facility) == tmp_path / "summary"


def test_report_path_refuses_names_leaving_the_directory(tmp_path):
    assert report_path(tmp_path, "a/b") == tmp_path / "a" / "b" / "report.html"
    for name in ("", "/etc", "a/../../b"):
        with pytest.raises(ValueError, match="display_name"):
            report_path(tmp_path, name)
