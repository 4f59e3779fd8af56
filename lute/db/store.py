"""Recording runs with a safety net: the database, or else the spool.

A run must never be lost because the database was unavailable at the moment
it ended: a lock held past ``$LUTE_DB_TIMEOUT``, a server that does not
answer, a full disk. ``store_run`` writes the record to the database and,
on any failure, to a spool file in the work dir instead; ``sync_spool``
(``lute db sync``) lands spooled records later, each exactly once, keyed
by ``(run_id, attempt)``.

The Executor imports this one module lazily (SQLAlchemy is slow to import)
and needs ``database_url`` with ``store_run``, so it is re-exported here.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path

import sqlalchemy as sa

from lute.core.analysis import DescribedAnalysis
from lute.db import spool
from lute.db.engine import database_url, redacted
from lute.db.errors import failure_reason
from lute.db.records import RunRecord, describe_run
from lute.db.schema import open_database

__all__ = [
    "SPOOL_DIR",
    "StoreOutcome",
    "SyncReport",
    "database_url",
    "record_analysis",
    "spool_dir",
    "store_run",
    "sync_spool",
]

logger = logging.getLogger(__name__)

SPOOL_DIR = "db_spool"
"""Directory under the work dir holding records the database refused."""


def record_analysis(desc: DescribedAnalysis, url: str) -> int:
    """Write one run; returns its row id in its Task's table.

    Writing the same run (``run_id`` and ``attempt``) twice stores it once.
    """
    row_id, _created = open_database(url).write(describe_run(desc))
    return row_id


@dataclasses.dataclass(frozen=True)
class StoreOutcome:
    """Where a run's record went: a database row or a spool file."""

    row_id: int | None = None
    spool_file: Path | None = None


def spool_dir(work_dir: str | os.PathLike[str]) -> Path:
    """The directory of records waiting for ``lute db sync``."""
    return Path(work_dir) / SPOOL_DIR


def store_run(desc: DescribedAnalysis, url: str, work_dir: str | os.PathLike[str]) -> StoreOutcome:
    """Record a run, or spool it in the work dir if the database refuses it.

    Any failure to write (a lock held past the timeout, a server that does
    not answer, a full disk, a bug) sends the record to a spool file: a run
    is never lost because the database was unavailable at the moment it
    ended. ``lute db sync`` lands spooled records later.

    Raises:
        OSError: The record could be written neither to the database nor to
            the spool directory.
    """
    record = describe_run(desc)
    try:
        row_id, _created = open_database(url).write(record)
    except Exception as err:  # any failure at all: keep the record
        path = spool.write(spool_dir(work_dir), record.to_json())
        logger.warning(
            "could not record %s run %s in %s (%s); spooled it to %s; "
            "run `lute db sync` to land it",
            record.task_name,
            record.run_id,
            redacted(url),
            failure_reason(err),
            path,
        )
        logger.debug("recording failed", exc_info=True)
        return StoreOutcome(spool_file=path)
    logger.info(
        "recorded %s run %s as %s in %s",
        record.task_name,
        record.run_id,
        record.row.get("result.task_status"),
        redacted(url),
    )
    return StoreOutcome(row_id=row_id)


@dataclasses.dataclass
class SyncReport:
    """What ``sync_spool`` did with each spool file."""

    landed: list[Path] = dataclasses.field(default_factory=list)
    already_recorded: list[Path] = dataclasses.field(default_factory=list)
    failed: list[tuple[Path, str]] = dataclasses.field(default_factory=list)


def sync_spool(url: str, work_dir: str | os.PathLike[str]) -> SyncReport:
    """Replay spooled records into the database, each exactly once.

    A file is deleted only after its record is committed (or found already
    there), so an interrupted sync leaves at most files whose records are
    already stored, and the next sync recognises them by ``run_id`` and
    ``attempt`` instead of writing them again. Files that cannot be read or
    written stay for the next attempt.
    """
    report = SyncReport()
    pending = list(spool.pending(spool_dir(work_dir)))
    if not pending:
        return report
    database = open_database(url)
    for path in pending:
        try:
            record = RunRecord.from_json(spool.read(path))
            _row_id, created = database.write(record)
        except (OSError, ValueError, sa.exc.SQLAlchemyError) as err:
            report.failed.append((path, failure_reason(err)))
            logger.warning("could not land %s: %s", path, failure_reason(err))
            continue
        spool.discard(path)
        (report.landed if created else report.already_recorded).append(path)
    return report
