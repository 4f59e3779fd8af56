"""A run's progress in the database: live in its ``runs`` row, final in its record.

The Executor's writer thread calls ``Database.record_progress`` while a run
goes (``tests/daily/test_progress.py`` runs that for real); here the same
calls run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import time

from database.helpers import ScanParameters, header, make_run
from lute.core.analysis import TaskStatus
from lute.core.progress import TaskProgress
from lute.db import results
from lute.db.records import progress_values
from lute.db.schema import open_database
from lute.db.store import record_analysis


def test_live_progress_is_kept_until_the_final_record_brings_the_last(db_url, work_dir):
    run = make_run(ScanParameters(lute_config=header(work_dir)), "Scan", status=TaskStatus.RUNNING)
    run.end_time = None
    record_analysis(run, db_url)
    database = open_database(db_url)
    now = time.time()
    live = progress_values(TaskProgress(2, 8, "frame 2"), now)
    assert database.record_progress(run.run_id, run.attempt, live)
    (summary,) = results.list_runs(database)
    assert (summary.progress.report.done, summary.progress.report.total) == (2.0, 8.0)
    assert summary.progress.to_json()["fraction"] == 0.25
    assert abs(summary.progress.time.timestamp() - now) < 1
    assert results.load_result(database, run.run_id).progress.report.text == "frame 2"

    run.task_result.task_status = TaskStatus.COMPLETED
    run.end_time = time.time()
    run.progress, run.progress_time = TaskProgress(8, 8, "frame 8"), time.time()
    record_analysis(run, db_url)
    late = progress_values(TaskProgress(5, 8, "late"), time.time())
    assert not database.record_progress(run.run_id, run.attempt, late)  # final stays final
    shown = results.load_result(database, run.run_id)
    assert shown.status is TaskStatus.COMPLETED
    assert str(shown.progress) == "8/8 (100%) frame 8"


def test_a_report_that_is_no_number_is_not_kept_and_breaks_nothing(db_url, work_dir):
    run = make_run(ScanParameters(lute_config=header(work_dir)), "Scan")
    run.progress, run.progress_time = TaskProgress("many", None, "x" * 1000), time.time()  # type: ignore[arg-type]
    record_analysis(run, db_url)
    shown = results.load_result(open_database(db_url), run.run_id)
    assert shown.status is TaskStatus.COMPLETED and shown.progress is None
