"""Nothing lost: records the database refuses are spooled and synced exactly once."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

from conftest import REPO, run_lute, task_rows

from database.helpers import ScanParameters, header, kill_quietly, make_run
from lute.db import results, spool
from lute.db.records import RunRecord, describe_run
from lute.db.schema import open_database
from lute.db.store import spool_dir, store_run, sync_spool

# Holds SQLite's write lock until its stdin closes; says so on stdout first.
LOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA journal_mode=WAL")
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
conn.execute("ROLLBACK")
"""


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_locked_database_spools_the_record_and_sync_lands_it_once(lute_env, work_dir):
    database = work_dir / "lute.db"
    locker = subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(database)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert locker.stdout is not None and locker.stdout.readline().strip() == "locked"
        env = {**lute_env, "LUTE_DB_TIMEOUT": "0.3"}
        done = run_lute(["run", "-t", "Tester", "-c", str(REPO / "config/test.yaml")], env)
    finally:
        if locker.stdin is not None:
            locker.stdin.close()
        locker.wait(timeout=30)
        kill_quietly(locker)
    assert done.returncode == 0, done.stderr
    spooled = list(spool.pending(spool_dir(work_dir)))
    # The run is recorded when it starts and when it ends: both records wait.
    assert len(spooled) == 2, done.stderr
    assert all(str(path) in done.stderr for path in spooled) and "lute db sync" in done.stderr
    assert task_rows(database, "Test") == []
    records = [json.loads(path.read_text()) for path in spooled]
    assert [r["row"]["result.task_status"] for r in records] == ["RUNNING", "COMPLETED"]
    run_id = records[0]["run_id"]

    first = run_lute(["db", "sync"], lute_env)
    second = run_lute(["db", "sync"], lute_env)

    assert first.returncode == 0, first.stderr
    assert "landed 2, already recorded 0, failed 0" in first.stdout
    assert second.returncode == 0, second.stderr
    assert "landed 0, already recorded 0, failed 0" in second.stdout
    rows = task_rows(database, "Test")
    assert [(row["run_id"], row["result.task_status"]) for row in rows] == [(run_id, "COMPLETED")]
    assert not list(spool.pending(spool_dir(work_dir)))


def test_unreachable_server_spools_and_sync_lands_elsewhere(db_url, work_dir):
    run = make_run(ScanParameters(lute_config=header(work_dir)), "Scan")
    dead = f"postgresql://lute@127.0.0.1:{_closed_port()}/lute"

    outcome = store_run(run, dead, work_dir)

    assert outcome.row_id is None and outcome.spool_file is not None
    assert outcome.spool_file.parent == spool_dir(work_dir)
    assert not [p for p in spool_dir(work_dir).iterdir() if p.name.startswith(".")]
    report = sync_spool(db_url, work_dir)
    assert (len(report.landed), len(report.already_recorded), report.failed) == (1, 0, [])
    assert results.load_result(open_database(db_url), run.run_id).parameters["energy"] == 9.5


def test_sync_interrupted_after_commit_does_not_write_twice(db_url, work_dir):
    run = make_run(ScanParameters(lute_config=header(work_dir)), "Scan")
    path = spool.write(spool_dir(work_dir), describe_run(run).to_json())
    # A sync that committed this record and died before deleting the file:
    open_database(db_url).write(RunRecord.from_json(spool.read(path)))

    report = sync_spool(db_url, work_dir)

    assert (report.landed, report.already_recorded, report.failed) == ([], [path], [])
    assert not path.exists()
    assert len(results.list_runs(open_database(db_url))) == 1


def test_unreadable_spool_file_is_kept_and_reported(work_dir):
    url = f"sqlite:///{work_dir / 'lute.db'}"
    good = spool.write(
        spool_dir(work_dir),
        describe_run(make_run(ScanParameters(lute_config=header(work_dir)), "Scan")).to_json(),
    )
    bad = spool.write(spool_dir(work_dir), {"not": "a record"})

    report = sync_spool(url, work_dir)

    assert report.landed == [good]
    assert [path for path, _ in report.failed] == [bad]
    assert "not a run record" in report.failed[0][1]
    assert bad.exists() and not good.exists()


def test_invalid_timeout_setting_still_spools(work_dir, monkeypatch):
    monkeypatch.setenv("LUTE_DB_TIMEOUT", "soon")
    run = make_run(ScanParameters(lute_config=header(work_dir)), "Scan")
    outcome = store_run(run, f"sqlite:///{work_dir / 'lute.db'}", work_dir)
    assert outcome.spool_file is not None
