"""``lute report`` as a command: where it writes, with which modes, and how it refuses."""

from __future__ import annotations

import datetime as dt
import stat
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import run_lute, write_config

from lute.core.analysis import TaskStatus
from lute.db.results import Result
from lute.report.dag import DagNode, dag_svg, layers
from lute.report.gather import ReportData, run_page
from lute.report.pages import Pages, elog_values
from lute.report.plots import duration_plots, status_history

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def one_run(lute_env, work_dir, tmp_path):
    config = write_config(tmp_path / "c.yaml", {"Test": {"loops": 0}}, {"work_dir": str(work_dir)})
    assert run_lute(["run", "-t", "Tester", "-c", str(config)], lute_env).returncode == 0
    return work_dir


def modes(root: Path) -> set[int]:
    return {stat.S_IMODE(p.stat().st_mode) for p in root.rglob("*.html")}


@pytest.mark.parametrize(("umask", "mode"), [(0o002, 0o664), (0o077, 0o600)])
def test_pages_follow_the_umask(one_run, lute_env, tmp_path, umask, mode):
    out = tmp_path / "report"
    done = run_lute(["report", "--work-dir", str(one_run), "-o", str(out)], lute_env, umask=umask)
    assert done.returncode == 0, done.stderr
    assert modes(out) == {mode}
    assert len(list((out / "runs").glob("*.html"))) == 1
    assert not list(out.rglob(".*.tmp"))  # written whole, under a temporary name


def test_default_directory_is_lute_report_in_the_current_directory(one_run, lute_env, tmp_path):
    done = run_lute(["report", "--work-dir", str(one_run)], lute_env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "lute_report/index.html\n"
    assert (tmp_path / "lute_report" / "index.html").is_file()


def test_experiment_and_limit_choose_the_runs_shown(lute_env, work_dir, tmp_path):
    for experiment in ("xppa", "xppa", "xppb"):
        config = write_config(
            tmp_path / f"{experiment}.yaml",
            {"Test": {"loops": 0}},
            {"work_dir": str(work_dir), "experiment": experiment},
        )
        assert run_lute(["run", "-t", "Tester", "-c", str(config)], lute_env).returncode == 0

    def pages(*options: str) -> int:
        out = tmp_path / "-".join(("r", *options))
        done = run_lute(["report", "--work-dir", str(work_dir), "-o", str(out), *options], lute_env)
        assert done.returncode == 0, done.stderr
        return len(list((out / "runs").glob("*.html")))

    assert pages() == 3
    assert pages("-e", "xppa") == 2
    assert pages("-n", "1") == 1
    assert pages("-e", "xppb", "-n", "5") == 1
    refused = run_lute(["report", "--work-dir", str(work_dir), "-n", "0"], lute_env)
    assert refused.returncode == 2
    assert "at least 1" in refused.stderr


def test_a_directory_that_cannot_be_written_is_one_line_and_exit_2(one_run, lute_env, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory\n")
    for target, reason in ((blocker, "is not a directory"), (blocker / "sub", "cannot be written")):
        done = run_lute(["report", "--work-dir", str(one_run), "-o", str(target)], lute_env)
        assert done.returncode == 2
        [line] = done.stderr.strip().splitlines()
        assert f"report directory {target} {reason}" in line
    assert blocker.read_text() == "not a directory\n"


def test_no_database_is_one_line_and_exit_2(lute_env, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    done = run_lute(["report", "--work-dir", str(empty), "-o", str(tmp_path / "r")], lute_env)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def hostile_result(task: str, run_id: str, seconds: float) -> Result:
    start = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    return Result(
        run_id=run_id,
        attempt=1,
        task_name=task,
        status=TaskStatus.FAILED,
        valid=False,
        invalid_reason=None,
        start_time=start,
        end_time=start + dt.timedelta(seconds=seconds),
        duration=seconds,
        exit_code=1,
        host="h",
        slurm_job_id=None,
        summary=None,
        payload=None,
        impl_schemas=None,
        error=None,
        executor_errors=(),
        parameters={},
        header={},
        log_paths={},
    )


def test_plots_and_graph_keep_hostile_names_as_text():
    """A database written by other tools may hold any Task name or run id."""
    name = '<script>alert(1)</script>"&'
    runs = [hostile_result(name, "../../evil<b>", 2.0), hostile_result("T", "r2", 0.5)]
    for svg in (duration_plots(runs), status_history(runs)):
        tree = ET.fromstring(svg)  # well-formed: the markup did not break out
        assert not list(tree.iter(f"{SVG}script")) and not list(tree.iter("script"))
        assert any(name in (t.text or "") for t in tree.iter(f"{SVG}title"))
        hrefs = [a.get("href") for a in tree.iter(f"{SVG}a")]
        assert all(h.startswith("runs/") and "/" not in h[5:] for h in hrefs), hrefs
    graph = dag_svg(
        [DagNode(name, (), "FAILED", "FAILED", name), DagNode("b", (name,), "X", "X", "")]
    )
    tree = ET.fromstring(graph)
    assert [g.get("data-node") for g in tree.iter(f"{SVG}g") if g.get("data-node")] == [name, "b"]


def test_layers_put_every_node_below_its_deepest_parent():
    graph = {"a": (), "b": ("a",), "c": ("a",), "d": ("b", "c"), "e": ("a", "d"), "x": ()}
    assert layers(graph) == [["a", "x"], ["b", "c"], ["d"], ["e"]]


def test_pages_escape_a_hostile_task_name_and_run_id(tmp_path):
    """Every page, not only the plots, shows names from the database as text."""
    name = "<script>alert(1)</script>"
    run = hostile_result(name, "x<img src=y onerror=alert(3)>", 1.0)
    data = ReportData(
        database="sqlite:///<b>db</b>",
        made=dt.datetime.now(dt.timezone.utc),
        results=[run],
        workflows=[],
        workflow_of_run={},
    )
    pages = Pages(data, tmp_path)
    for html in (pages.index(), pages.run(run)):
        assert name not in html and "<img" not in html and "<b>db" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    page = run_page(run.run_id, run.attempt)
    assert page.startswith("id-") and "/" not in page


def test_a_dict_summary_is_shown_as_the_elog_run_table_values():
    assert elog_values('{"hits": 12, "rate": 0.5}') == [("hits", "12"), ("rate", "0.5")]
    assert elog_values('[{"a": 1}, "text", {"b": null}]') == [("a", "1"), ("b", "")]
    assert elog_values("Test finished 1 loops") == elog_values(None) == elog_values("5") == []
