"""Many managed tasks finishing at the same moment against one database."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from pathlib import Path

import sqlalchemy as sa

from database.helpers import ScanParameters, header, make_run
from lute.db.schema import open_database
from lute.db.store import spool_dir, store_run

WRITERS = 32


def _finish_at_barrier(url: str, work_dir: str, index: int, barrier: object) -> None:
    """One managed task's last step: record the run, all processes at once.

    Every fourth writer brings a parameter key of its own, so new columns are
    added while the others insert.
    """
    params = ScanParameters(
        lute_config=header(Path(work_dir)), energy=float(index), extra={f"k{index % 4}": index}
    )
    run = make_run(params, "Scan", run_id=f"run-{index:02d}")
    barrier.wait(timeout=60)  # type: ignore[attr-defined]
    outcome = store_run(run, url, work_dir)
    raise SystemExit(0 if outcome.row_id is not None else 3)


def test_32_tasks_finishing_at_once_are_all_recorded_once(db_url, work_dir):
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(WRITERS)
    writers = [
        context.Process(target=_finish_at_barrier, args=(db_url, str(work_dir), i, barrier))
        for i in range(WRITERS)
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)
    assert [w.exitcode for w in writers] == [0] * WRITERS  # 3 would mean spooled

    database = open_database(db_url)
    table = database.task_table("Scan", refresh=True)
    assert table is not None
    with database.engine.connect() as conn:
        run_ids = Counter(conn.execute(sa.select(table.c.run_id)).scalars())
        catalog = Counter(conn.execute(sa.select(database.runs.c.run_id)).scalars())
        energies = dict(conn.execute(sa.select(table.c.run_id, table.c.energy)).all())
    expected = {f"run-{i:02d}" for i in range(WRITERS)}
    assert set(run_ids) == expected and set(run_ids.values()) == {1}
    assert catalog == run_ids
    assert energies == {f"run-{i:02d}": float(i) for i in range(WRITERS)}
    assert {f"extra.k{i}" for i in range(4)} <= set(table.c.keys())
    assert not list(spool_dir(work_dir).glob("*.json"))
