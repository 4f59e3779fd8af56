"""Settling runs whose Executor died: the record, not the job, has the last word.

An Executor killed outright (SIGKILL, the out-of-memory killer, a reboot)
cannot write how its run ended, so its row stays RUNNING. Like a batch
scheduler, which records a final state for every job whatever became of
the job, every lute command that reads runs first settles such rows: a
RUNNING row on this host whose Executor process is gone (its pid no longer
names the process that started at the recorded time) becomes FAILED and
invalid, with the reason. Rows of other hosts are left alone: only that
host can tell whether their Executor still runs.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from lute.core.analysis import TaskStatus
from lute.core.procinfo import process_start_ticks
from lute.db.engine import redacted, write_transaction
from lute.db.schema import Database

logger = logging.getLogger(__name__)

LIVE_STATUSES = tuple(status.value for status in TaskStatus if not status.final)


@dataclass(frozen=True)
class SettledRun:
    """A run settled because its Executor was gone."""

    run_id: str
    attempt: int
    task_name: str
    reason: str


def executor_alive(pid: int | None, started: str | None) -> bool:
    """Whether the process recorded as ``(pid, started)`` still runs on this host."""
    if pid is None or started is None:
        return True  # recorded without an identity (older lute): cannot tell, assume alive
    return process_start_ticks(pid) == started


def settle_orphans(database: Database, host: str | None = None) -> list[SettledRun]:
    """Mark RUNNING runs of ``host`` (default: this one) whose Executor is gone FAILED.

    A database this user cannot write is read as it is (the failure is
    logged): settling is a courtesy to the next reader, never a reason to
    refuse a read.

    Returns:
        The runs settled by this call. A run another reader settles at the
        same moment is settled once.
    """
    host = host or socket.gethostname()
    try:
        return _settle_all(database, host)
    except SQLAlchemyError as err:
        logger.warning(
            "could not settle runs whose Executor died in %s: %s", redacted(database.url), err
        )
        return []


def _settle_all(database: Database, host: str) -> list[SettledRun]:
    runs = database.runs
    live = sa.select(
        runs.c.run_id,
        runs.c.attempt,
        runs.c.task_name,
        runs.c.task_row_id,
        runs.c.executor_pid,
        runs.c.executor_start,
    ).where(runs.c.status.in_(LIVE_STATUSES), runs.c.host == host)
    with database.engine.connect() as conn:
        candidates = [row for row in conn.execute(live) if not executor_alive(row[4], row[5])]
    return [settled for row in candidates if (settled := _settle(database, host, row))]


def _settle(database: Database, host: str, row: sa.Row) -> SettledRun | None:
    run_id, attempt, task_name, row_id, pid, _ = row
    reason = (
        f"the Executor (pid {pid} on {host}) ended without recording how the run ended"
        " (killed by SIGKILL or the out-of-memory killer, or the node restarted)"
    )
    runs = database.runs
    table = database.task_table(task_name)
    still_live = (
        (runs.c.run_id == run_id) & (runs.c.attempt == attempt) & runs.c.status.in_(LIVE_STATUSES)
    )
    failed = TaskStatus.FAILED.value
    with write_transaction(database.engine) as conn:
        if not conn.execute(
            runs.update().where(still_live).values(status=failed, valid_flag=0)
        ).rowcount:
            return None
        if table is not None:
            conn.execute(
                table.update()
                .where(table.c.id == row_id)
                .values({"result.task_status": failed, "valid_flag": 0, "invalid_reason": reason})
            )
    logger.warning(
        "run %s (%s, attempt %d): %s; recorded FAILED", run_id, task_name, attempt, reason
    )
    return SettledRun(run_id, attempt, task_name, reason)
