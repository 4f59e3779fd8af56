"""The Result API and the ``lute db`` commands, through the real CLI process."""

from __future__ import annotations

import csv
import io
import json

import pytest
from conftest import log_lines, run_lute

from database.helpers import ScanParameters, header, make_run
from lute.cli.table import format_table
from lute.core.analysis import TaskStatus
from lute.core.exceptions import UnknownNameError
from lute.db import results
from lute.db.latest import read_latest_db_entry
from lute.db.store import record_analysis


@pytest.fixture
def recorded(db_url, work_dir, lute_env):
    """Three runs of two Tasks, and the environment pointing ``lute db`` at them."""
    runs = [
        make_run(ScanParameters(lute_config=header(work_dir, run=7), energy=8.0), "Scan"),
        make_run(
            ScanParameters(lute_config=header(work_dir, run=8), energy=9.0),
            "Scan",
            status=TaskStatus.FAILED,
        ),
        make_run(ScanParameters(lute_config=header(work_dir, run=8, experiment="mfx1")), "Align"),
    ]
    for index, run in enumerate(runs):
        run.start_time, run.end_time = 1000.0 + index * 10, 1005.0 + index * 10
        record_analysis(run, db_url)
    return runs, {**lute_env, "LUTE_DB_URL": db_url}


def test_get_result_reports_one_run(recorded, db_url):
    runs, _env = recorded
    result = results.get_result(runs[1].run_id[:8], url=db_url)
    assert result.status is TaskStatus.FAILED
    assert result.error == "Scan FAILED"
    assert result.valid is False
    assert result.duration == pytest.approx(5.0)
    assert result.start_time is not None and result.start_time.timestamp() == 1010.0
    assert result.parameters["energy"] == 9.0
    assert result.header["run"] == "8"
    with pytest.raises(UnknownNameError, match="no run 'feedbeef'"):
        results.get_result("feedbeef", url=db_url)


def test_list_filters_newest_first(recorded):
    runs, env = recorded
    listed = run_lute(["db", "list"], env)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split()[:3] == ["RUN", "ID", "TASK"]
    assert [line.split()[0] for line in lines[2:]] == [r.run_id for r in reversed(runs)]
    # aligned: the TASK column starts at the same offset on every line
    task_at = lines[0].index("TASK")
    assert [line[task_at:].split()[0] for line in lines[2:]] == ["Align", "Scan", "Scan"]

    def ids(*args):
        out = run_lute(["db", "list", *args], env)
        assert out.returncode == 0, out.stderr
        return [line.split()[0] for line in out.stdout.splitlines()[2:]]

    assert ids("--task", "Scan") == [runs[1].run_id, runs[0].run_id]
    assert ids("--status", "failed") == [runs[1].run_id]
    assert ids("--run", "8", "--experiment", "mfx1") == [runs[2].run_id]


def test_show_history_invalidate_export(recorded):
    runs, env = recorded
    shown = run_lute(["db", "show", runs[0].run_id], env)
    assert shown.returncode == 0, shown.stderr
    assert "COMPLETED" in shown.stdout and "energy" in shown.stdout

    history = run_lute(["db", "history", "Scan", "energy"], env)
    assert [line.split()[-1] for line in history.stdout.splitlines()[2:]] == ["9", "8"]

    invalidated = run_lute(["db", "invalidate", runs[0].run_id, "--reason", "bad gain"], env)
    assert invalidated.returncode == 0, invalidated.stderr
    as_json = json.loads(run_lute(["db", "show", runs[0].run_id, "--json"], env).stdout)
    assert (as_json["valid"], as_json["invalid_reason"]) == (False, "bad gain")

    exported = run_lute(["db", "export", "--format", "csv", "--task", "Scan"], env)
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert [(r["run_id"], r["param.energy"]) for r in rows] == [
        (runs[1].run_id, "9.0"),
        (runs[0].run_id, "8.0"),
    ]
    dumped = json.loads(run_lute(["db", "export", "--format", "json"], env).stdout)
    assert {r["task_name"] for r in dumped} == {"Scan", "Align"}


def test_invalidated_run_is_skipped_by_downstream_reads(recorded, db_url, work_dir):
    runs, env = recorded
    before = read_latest_db_entry(work_dir, "Align", "energy", db_url=db_url)
    assert before == 9.5
    assert run_lute(["db", "invalidate", runs[2].run_id, "--reason", "x"], env).returncode == 0
    assert read_latest_db_entry(work_dir, "Align", "energy", db_url=db_url) is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "feedbeef"], "no run 'feedbeef'"),
        (["list", "--task", "Nope"], "no runs of Task 'Nope'"),
        (["history", "Nope", "energy"], "no runs of Task 'Nope'"),
        (["history", "Scan", "nope"], "Task 'Scan' has no parameter 'nope'"),
        (["invalidate", "feedbeef", "--reason", "x"], "no run 'feedbeef'"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(recorded, args, message):
    _runs, env = recorded
    done = run_lute(["db", *args], env)
    assert done.returncode == 2
    errors = [line for line in log_lines(done.stderr) if line.startswith("ERROR")]
    assert len(errors) == 1 and message in errors[0]


def test_reading_a_missing_database_is_bad_input(lute_env, work_dir):
    done = run_lute(["db", "list"], lute_env)
    assert done.returncode == 2
    assert f"no database at {work_dir / 'lute.db'}" in done.stderr
    assert not (work_dir / "lute.db").exists()


def test_format_table_aligns_columns():
    text = format_table(["A", "LONGER"], [["x" * 5, None], ["y", "line\nbreak"]])
    assert text.splitlines() == [
        "A      LONGER",
        "-----  ----------",
        "xxxxx  -",
        "y      line break",
    ]
