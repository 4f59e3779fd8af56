"""Parameter names that collide in a Task table: every value lands and reads back.

Columns are case-insensitive in SQLite, a bookkeeping column and a nested
parameter may flatten to the same name, and a model may have no parameters
at all. Each case records a real ``DescribedAnalysis`` on SQLite and on
PostgreSQL, then reads it back the ways users do: ``lute db show`` (what the
user sees), ``Result.parameters`` and ``read_latest_db_entry``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from conftest import run_lute
from database.helpers import header, make_run

from lute.config.models.base import TaskParameters
from lute.core.analysis import DescribedAnalysis, TaskStatus
from lute.db import results, spool
from lute.db.latest import read_latest_db_entry
from lute.db.records import RESULT_COLUMNS, describe_run
from lute.db.schema import open_database
from lute.db.store import spool_dir, store_run, sync_spool


class IdParameters(TaskParameters):
    """A parameter named like the row id, and a nested one named ``param.id``."""

    id: int = 5
    param: dict[str, Any] = {"id": 111}


class CaseParameters(TaskParameters):
    """Two parameters whose names differ only in case."""

    Energy: float = 1.5
    energy: float = 2.5


class NoParameters(TaskParameters):
    """A Task that takes no parameters of its own."""


class UpperEnergy(TaskParameters):
    """A later version of a model: ``energy`` became ``Energy``."""

    Energy: float = 7.5


class LowerEnergy(TaskParameters):
    """The earlier version."""

    energy: float = 6.5


class DottedKeys(TaskParameters):
    """A dict key with a dot next to the nested path it spells."""

    x: dict[str, Any] = {"a.b": 1, "a": {"b": 2}}


def _store(run: DescribedAnalysis, url: str, work_dir: Path, caplog: Any) -> int:
    """Record ``run``; assert it went to the database, not the spool, without a warning."""
    with caplog.at_level(logging.INFO, logger="lute.db"):
        outcome = store_run(run, url, work_dir)
    assert outcome.row_id is not None, caplog.text
    assert outcome.spool_file is None
    assert not list(spool.pending(spool_dir(work_dir)))
    assert "could not record" not in caplog.text
    return outcome.row_id


def _shown(url: str, run_id: str, lute_env: dict[str, str]) -> str:
    """What ``lute db show RUN_ID`` prints."""
    done = run_lute(["db", "show", run_id, "--url", url], lute_env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _parameter_lines(shown: str) -> dict[str, str]:
    """The PARAMETER / VALUE table of ``lute db show`` output."""
    table = shown.split("PARAMETER", 1)[1].splitlines()[2:]
    return dict(line.split(None, 1) for line in table if line.strip())


def test_a_parameter_named_id_and_a_nested_param_id_both_keep_their_values(
    db_url, work_dir, lute_env, caplog
):
    run = make_run(IdParameters(lute_config=header(work_dir)), "Ids")

    _store(run, db_url, work_dir, caplog)

    result = results.load_result(open_database(db_url), run.run_id)
    assert result.status is TaskStatus.COMPLETED
    assert result.parameters == {"id": 5, "param.id": 111}
    assert read_latest_db_entry(work_dir, "Ids", "id", db_url=db_url) == 5
    assert read_latest_db_entry(work_dir, "Ids", "param.id", db_url=db_url) == 111
    assert _parameter_lines(_shown(db_url, run.run_id, lute_env)) == {
        "id": "5",
        "param.id": "111",
    }


def test_parameters_differing_only_in_case_both_keep_their_values(
    db_url, work_dir, lute_env, caplog
):
    run = make_run(CaseParameters(lute_config=header(work_dir)), "Cased")

    _store(run, db_url, work_dir, caplog)

    result = results.load_result(open_database(db_url), run.run_id)
    assert result.status is TaskStatus.COMPLETED
    assert result.parameters == {"Energy": 1.5, "energy": 2.5}
    assert read_latest_db_entry(work_dir, "Cased", "Energy", db_url=db_url) == 1.5
    assert read_latest_db_entry(work_dir, "Cased", "energy", db_url=db_url) == 2.5
    assert _parameter_lines(_shown(db_url, run.run_id, lute_env)) == {
        "Energy": "1.5",
        "energy": "2.5",
    }


def test_a_task_without_parameters_is_recorded(db_url, work_dir, lute_env, caplog):
    run = make_run(NoParameters(lute_config=header(work_dir)), "Bare")

    _store(run, db_url, work_dir, caplog)

    result = results.load_result(open_database(db_url), run.run_id)
    assert (result.status, result.parameters) == (TaskStatus.COMPLETED, {})
    shown = _shown(db_url, run.run_id, lute_env)
    assert "COMPLETED" in shown and "PARAMETER" not in shown


def test_a_name_changing_case_between_runs_lands_in_both_runs(db_url, work_dir, caplog):
    first = make_run(LowerEnergy(lute_config=header(work_dir)), "Renamed", end_time=1000.0)
    second = make_run(UpperEnergy(lute_config=header(work_dir)), "Renamed", end_time=2000.0)

    _store(first, db_url, work_dir, caplog)
    _store(second, db_url, work_dir, caplog)

    database = open_database(db_url)
    assert results.load_result(database, first.run_id).parameters == {"energy": 6.5}
    assert results.load_result(database, second.run_id).parameters == {"Energy": 7.5}
    assert read_latest_db_entry(work_dir, "Renamed", "Energy", db_url=db_url) == 7.5
    history = results.parameter_history(database, "Renamed", "energy")
    assert [(r.run_id, value) for r, value in history] == [
        (second.run_id, None),
        (first.run_id, 6.5),
    ]


def test_a_dotted_key_and_the_path_it_spells_both_keep_their_values(db_url, work_dir, caplog):
    run = make_run(DottedKeys(lute_config=header(work_dir)), "Dotted")

    _store(run, db_url, work_dir, caplog)

    parameters = results.load_result(open_database(db_url), run.run_id).parameters
    assert sorted(parameters.values()) == [1, 2]
    assert parameters["x.a.b"] == 2
    assert read_latest_db_entry(work_dir, "Dotted", "x.a.b", db_url=db_url) == 2
    [dotted] = set(parameters) - {"x.a.b"}
    assert read_latest_db_entry(work_dir, "Dotted", dotted, db_url=db_url) == 1


@pytest.mark.parametrize(
    "row",
    [
        {"": "{}"},
        {"Energy": 1.5, "energy": 2.5},
        {"param.id": 111, "ID": 3},
    ],
    ids=["empty-name", "case-twins", "reserved-twins"],
)
def test_records_spooled_by_earlier_versions_land(db_url, work_dir, row):
    """Spool files hold columns as older lute named them; none may stay unlandable."""
    record = describe_run(make_run(NoParameters(lute_config=header(work_dir)), "Old")).to_json()
    record["row"].update(row)
    spool.write(spool_dir(work_dir), record)

    report = sync_spool(db_url, work_dir)

    assert (len(report.landed), report.failed) == (1, [])
    stored = results.load_result(open_database(db_url), record["run_id"])
    assert stored.status is TaskStatus.COMPLETED
    assert sorted(map(str, stored.parameters.values())) == sorted(map(str, row.values()))
    assert not list(spool.pending(spool_dir(work_dir)))


class Adversarial(TaskParameters):
    """Every way two names can meet in a Task table at once."""

    id: int = 1
    ID: int = 2
    host: str = "h"
    HOST: str = "H"
    param: dict[str, Any] = {"id": 3, "ID": 4, "^x": 5, "": 6, "host": 7}
    Param: dict[str, Any] = {"id": 8}
    result: dict[str, Any] = {"summary": 9, "Summary": 10}
    x: dict[str, Any] = {"a.b": 11, "a": {"b": 12}, "": {"": 13}}


def test_no_two_values_of_a_record_share_a_column(db_url, work_dir, caplog):
    run = make_run(Adversarial(lute_config=header(work_dir)), "Adversarial")
    row = describe_run(run).row
    assert len({column.lower() for column in row}) == len(row)  # as SQLite compares them

    _store(run, db_url, work_dir, caplog)

    parameters = results.load_result(open_database(db_url), run.run_id).parameters
    assert sorted(parameters.values(), key=str) == sorted(
        [1, 2, "h", "H", 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13], key=str
    )
    assert (parameters["id"], parameters["ID"], parameters["param.id"]) == (1, 2, 3)
    for name, value in parameters.items():
        if name not in RESULT_COLUMNS:  # reads of result.* names take the Task's result
            assert read_latest_db_entry(work_dir, "Adversarial", name, db_url=db_url) == value
