"""Run-database speed on SQLite, as ratios against raw sqlite3 in the same run.

Measures:

* recording one run (``lute.db.store.record_analysis``: shared header and
  settings rows, idempotency check, Task row and catalog row in one
  transaction) against a raw ``sqlite3`` INSERT of an equally wide row,
  committed on its own;
* ``read_latest_db_entry`` with 100k rows in the Task table, against the
  same SELECT through raw ``sqlite3`` on an open connection.

Usage: ``python benchmarks/bench_db.py [--rows 100000] [--repeat 200]``.
Prints a table of medians and ratios; no assertions (see docs/database.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lute.config.models.base import AnalysisHeader, TaskParameters
from lute.core.analysis import DescribedAnalysis, TaskResult, TaskStatus
from lute.db.engine import write_transaction
from lute.db.latest import read_latest_db_entry
from lute.db.records import describe_run
from lute.db.schema import open_database
from lute.db.store import record_analysis


class BenchParameters(TaskParameters):
    energy: float = 9.5
    detector: str = "epix10k2M"
    roi: list[int] = [0, 0, 100, 100]
    mask: dict[str, Any] = {"path": "/sdf/data/mask.npy", "invert": False}


def _run(work_dir: Path, energy: float, run: int = 7) -> DescribedAnalysis:
    header = AnalysisHeader(experiment="xppbench", run=run, work_dir=str(work_dir))
    now = time.time()
    return DescribedAnalysis(
        task_result=TaskResult("Bench", TaskStatus.COMPLETED, "done", "/out/file.h5"),
        task_parameters=BenchParameters(lute_config=header, energy=energy),
        task_env={"PATH": "/usr/bin", "HOME": "/home/user"},
        communicator_desc=["pipes", "socket"],
        start_time=now - 2,
        end_time=now,
        exit_code=0,
        host="bench",
        run_id=uuid.uuid4().hex,
    )


def _median_us(fn: Callable[[], Any], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e6


def _raw_connection(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    return conn


def bench_record(work_dir: Path, repeat: int) -> tuple[float, float]:
    """Median microseconds per run, lute and raw, timed alternately.

    Alternating puts both under the same disk conditions: each commit waits
    for an fsync whose cost varies far more than either code path.
    """
    url = f"sqlite:///{work_dir / 'record.db'}"
    record_analysis(_run(work_dir, 0.0), url)  # schema exists: measure the steady state
    runs = [_run(work_dir, float(i)) for i in range(repeat)]

    width = len(describe_run(runs[0]).row) + 2
    raw = _raw_connection(work_dir / "raw.db")
    columns = ", ".join(f"c{i}" for i in range(width))
    raw.execute(f"CREATE TABLE t (id INTEGER PRIMARY KEY, {columns})")
    insert = f"INSERT INTO t ({columns}) VALUES ({', '.join('?' * width)})"
    values = tuple(range(width))

    lute_s, raw_s = [], []
    for run in runs:
        start = time.perf_counter()
        record_analysis(run, url)
        middle = time.perf_counter()
        raw.execute("BEGIN IMMEDIATE")
        raw.execute(insert, values)
        raw.execute("COMMIT")
        lute_s.append(middle - start)
        raw_s.append(time.perf_counter() - middle)
    raw.close()
    return statistics.median(lute_s) * 1e6, statistics.median(raw_s) * 1e6


def _fill(work_dir: Path, url: str, rows: int) -> None:
    """Write ``rows`` runs quickly: one real record, then bulk copies of its row.

    Every tenth copy is invalid, so ``valid_only`` has something to skip.
    """
    database = open_database(url)
    record_analysis(_run(work_dir, 0.0), url)
    table = database.task_table("Bench", refresh=True)
    if table is None:
        raise RuntimeError("the record did not create its table")
    with database.engine.connect() as conn:
        template = dict(conn.execute(sa.select(table)).mappings().one())
    template.pop("id")
    first_end = template["end_time"]
    batch: list[dict[str, Any]] = []
    with write_transaction(database.engine) as conn:
        for i in range(1, rows):
            batch.append(
                {
                    **template,
                    "run_id": uuid.uuid4().hex,
                    "energy": float(i),
                    "end_time": first_end + dt.timedelta(seconds=i),
                    "valid_flag": 0 if i % 10 == 0 else 1,
                }
            )
            if len(batch) == 10_000:
                conn.execute(table.insert(), batch)
                batch.clear()
        if batch:
            conn.execute(table.insert(), batch)


def bench_read(work_dir: Path, rows: int, repeat: int) -> tuple[float, float, str]:
    url = f"sqlite:///{work_dir / 'read.db'}"
    _fill(work_dir, url, rows)
    read_latest_db_entry(work_dir, "Bench", "energy", db_url=url)  # warm the caches
    lute_us = _median_us(
        lambda: read_latest_db_entry(work_dir, "Bench", "energy", db_url=url), repeat
    )
    if read_latest_db_entry(work_dir, "Bench", "energy", db_url=url) != float(rows - 1):
        raise RuntimeError("read_latest_db_entry did not find the latest valid run")
    raw = _raw_connection(work_dir / "read.db")
    query = (
        'SELECT "energy" FROM "Bench" WHERE valid_flag = 1 ORDER BY end_time DESC, id DESC LIMIT 1'
    )
    floor_us = _median_us(lambda: raw.execute(query).fetchone(), repeat)
    plan = " / ".join(row[-1] for row in raw.execute("EXPLAIN QUERY PLAN " + query))
    raw.close()
    return lute_us, floor_us, plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work_dir = Path(tmp)
        record_us, record_floor = bench_record(work_dir, args.repeat)
        read_us, read_floor, plan = bench_read(work_dir, args.rows, args.repeat)
    print(f"SQLite {sqlite3.sqlite_version}, SQLAlchemy {sa.__version__}, medians of {args.repeat}")
    print(f"{'measure':<44}{'lute (us)':>12}{'floor (us)':>12}{'ratio':>8}")
    print(
        f"{'record one run':<44}{record_us:>12.0f}{record_floor:>12.0f}"
        f"{record_us / record_floor:>8.1f}"
    )
    print(
        f"{f'read_latest_db_entry, {args.rows} rows':<44}{read_us:>12.0f}{read_floor:>12.1f}"
        f"{read_us / read_floor:>8.1f}"
    )
    print(f"raw query plan: {plan}")


if __name__ == "__main__":
    main()
