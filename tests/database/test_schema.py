"""Schema: evolution, type changes, hostile names, shared rows, latest-value reads."""

from __future__ import annotations

import time

import sqlalchemy as sa

from database.helpers import (
    HostParameters,
    LooseParameters,
    ScanParameters,
    ScanParametersV2,
    header,
    make_run,
)
from lute.core.analysis import TaskStatus
from lute.db import results
from lute.db.engine import get_engine, with_driver
from lute.db.latest import read_latest_db_entry
from lute.db.schema import open_database
from lute.db.store import record_analysis

HOSTILE_TASK = 'Robert"); DROP TABLE x;--'
HOSTILE_KEYS = {"a b": {"c": ["first"]}, "q'\"": 1, "p%(x)s": 2.5, "[br]": True}


def _table(url: str, name: str) -> sa.Table:
    table = open_database(url).task_table(name, refresh=True)
    assert table is not None
    return table


def test_schema_evolution_adds_a_column_and_old_rows_read_back(db_url, work_dir):
    old = make_run(ScanParameters(lute_config=header(work_dir), energy=8.0), "Scan")
    new = make_run(ScanParametersV2(lute_config=header(work_dir), energy=9.0, threshold=11), "Scan")
    record_analysis(old, db_url)
    assert "threshold" not in _table(db_url, "Scan").c
    record_analysis(new, db_url)

    table = _table(db_url, "Scan")
    assert isinstance(table.c.threshold.type, sa.Integer)
    database = open_database(db_url)
    first = results.load_result(database, old.run_id)
    second = results.load_result(database, new.run_id)
    assert first.parameters["energy"] == 8.0
    assert "threshold" not in first.parameters
    assert second.parameters["energy"] == 9.0
    assert second.parameters["threshold"] == 11
    assert read_latest_db_entry(work_dir, "Scan", "threshold", db_url=db_url) == 11
    history = results.parameter_history(database, "Scan", "energy")
    assert [value for _, value in history] == [9.0, 8.0]


def test_type_change_widens_the_column_and_loses_nothing(db_url, work_dir):
    runs = [
        make_run(LooseParameters(lute_config=header(work_dir), value=3, flag=True), "Loose"),
        make_run(
            LooseParameters(lute_config=header(work_dir), value="many", flag="maybe"), "Loose"
        ),
        make_run(LooseParameters(lute_config=header(work_dir), value=7, flag=False), "Loose"),
    ]
    for run in runs:
        record_analysis(run, db_url)

    table = _table(db_url, "Loose")
    assert isinstance(table.c.value.type, sa.Text)
    assert isinstance(table.c.flag.type, sa.Text)
    database = open_database(db_url)
    values = [results.load_result(database, r.run_id).parameters for r in runs]
    assert [v["value"] for v in values] == ["3", "many", "7"]
    assert [v["flag"] for v in values] == ["true", "maybe", "false"]


def test_hostile_table_and_parameter_names_are_stored_safely(db_url, work_dir):
    engine = get_engine(db_url)
    bystander = sa.Table("x", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True))
    bystander.create(engine)
    params = LooseParameters(lute_config=header(work_dir), weird=HOSTILE_KEYS)
    run = make_run(params, HOSTILE_TASK, payload="out'; DROP TABLE x;--")

    record_analysis(run, db_url)

    assert sa.inspect(engine).has_table("x")
    table = _table(db_url, HOSTILE_TASK)
    for column in ("weird.a b.c[0]", "weird.q'\"", "weird.p%(x)s", "weird.[br]"):
        assert column in table.c
    result = results.load_result(open_database(db_url), run.run_id)
    assert result.task_name == HOSTILE_TASK
    assert result.payload == "out'; DROP TABLE x;--"
    assert result.parameters["weird.a b.c[0]"] == "first"
    assert result.parameters["weird.q'\""] == 1
    assert result.parameters["weird.p%(x)s"] == 2.5
    assert result.parameters["weird.[br]"] is True
    assert read_latest_db_entry(work_dir, HOSTILE_TASK, "weird.q'\"", db_url=db_url) == 1


def test_identical_headers_and_settings_share_one_row(db_url, work_dir):
    for _ in range(3):
        record_analysis(make_run(ScanParameters(lute_config=header(work_dir)), "Scan"), db_url)
    record_analysis(make_run(ScanParameters(lute_config=header(work_dir, run=8)), "Scan"), db_url)
    database = open_database(db_url)
    with database.engine.connect() as conn:
        headers = conn.execute(sa.select(sa.func.count()).select_from(database.gen_cfg)).scalar()
        settings = conn.execute(sa.select(sa.func.count()).select_from(database.exec_cfg)).scalar()
    assert (headers, settings) == (2, 1)


def test_recording_the_same_run_twice_stores_it_once(db_url, work_dir):
    run = make_run(ScanParameters(lute_config=header(work_dir)), "Scan")
    assert record_analysis(run, db_url) == record_analysis(run, db_url)
    database = open_database(db_url)
    assert len(results.list_runs(database)) == 1


def test_read_latest_db_entry_filters(db_url, work_dir):
    now = time.time()
    record = [
        (7, 1.0, TaskStatus.COMPLETED, now - 30),
        (8, 2.0, TaskStatus.COMPLETED, now - 20),
        (8, 3.0, TaskStatus.FAILED, now - 10),
    ]
    for run, energy, status, end in record:
        params = ScanParameters(lute_config=header(work_dir, run=run), energy=energy)
        record_analysis(make_run(params, "Scan", status=status, end_time=end), db_url)
    # Landed late (from the spool) but ended first: not the latest.
    params = ScanParameters(lute_config=header(work_dir, run=7), energy=0.5)
    record_analysis(make_run(params, "Scan", end_time=now - 100), db_url)

    def latest(**kw):
        return read_latest_db_entry(work_dir, "Scan", "energy", db_url=db_url, **kw)

    assert latest() == 2.0
    assert latest(valid_only=False) == 3.0
    assert latest(for_run=7) == 1.0
    assert latest(for_run=9) is None
    assert read_latest_db_entry(work_dir, "Scan", "nope", db_url=db_url) is None
    assert read_latest_db_entry(work_dir, "Nope", "energy", db_url=db_url) is None
    assert (
        read_latest_db_entry(work_dir, "Scan", "result.task_status", db_url=db_url) == "COMPLETED"
    )


def test_read_latest_db_entry_without_a_database_creates_none(work_dir, monkeypatch):
    monkeypatch.delenv("LUTE_DB_URL", raising=False)
    assert read_latest_db_entry(work_dir, "Scan", "energy") is None
    assert not (work_dir / "lute.db").exists()


def test_a_parameter_named_like_a_bookkeeping_column_keeps_its_value(db_url, work_dir):
    params = HostParameters(lute_config=header(work_dir), host="detector-01")
    run = make_run(params, "Hosted")
    record_analysis(run, db_url)
    assert "param.host" in _table(db_url, "Hosted").c
    result = results.load_result(open_database(db_url), run.run_id)
    assert result.host == "testhost"
    assert result.parameters["host"] == "detector-01"
    assert read_latest_db_entry(work_dir, "Hosted", "host", db_url=db_url) == "detector-01"


def test_plain_postgresql_url_names_an_installed_driver():
    url = with_driver("postgresql://lute:secret@127.0.0.1:5432/runs")
    assert url in (
        "postgresql+psycopg://lute:secret@127.0.0.1:5432/runs",
        "postgresql+psycopg2://lute:secret@127.0.0.1:5432/runs",
    )
    assert with_driver("sqlite:///x.db") == "sqlite:///x.db"
