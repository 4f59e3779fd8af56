"""Recording runs with a safety net: the database, or else the spool.

A run must never be lost because the database was unavailable at the moment
it ended: a lock held past ``$LUTE_DB_TIMEOUT``, a server that does not
answer, a full disk. ``store_run`` writes the record to the database and,
on any failure, to a spool file in the work dir instead, or, when the work
dir will not take it either, to the fallback spool (``lute.db.fallback``);
``sync_spool`` (``lute db sync``) lands spooled records later, each exactly
once, keyed by ``(run_id, attempt)``. Only a record that no place would
take is lost, and ``StoreOutcome`` says so, so that ``lute run`` can exit 3.

The Executor imports this one module lazily (SQLAlchemy is slow to import)
and needs ``database_url`` with ``store_run``, so it is re-exported here.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from lute.core.analysis import DescribedAnalysis
from lute.db import fallback, spool
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
    "store_record",
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
    """Where a run's record went: a database row, a spool file, or nowhere.

    Attributes:
        row_id: Its row in its Task's table, if the database took it.
        spool_file: The spool file holding it (in the work dir's spool or
            the fallback spool), if the database refused it.
        tried: Each place that refused it, with the reason.
    """

    row_id: int | None = None
    spool_file: Path | None = None
    tried: tuple[str, ...] = ()

    @property
    def stored(self) -> bool:
        """Whether the record is kept anywhere at all."""
        return self.row_id is not None or self.spool_file is not None


def spool_dir(work_dir: str | os.PathLike[str]) -> Path:
    """The directory of records waiting for ``lute db sync``."""
    return Path(work_dir) / SPOOL_DIR


def store_run(desc: DescribedAnalysis, url: str, work_dir: str | os.PathLike[str]) -> StoreOutcome:
    """Record a run, or spool it if the database refuses it.

    Any failure to write (a lock held past the timeout, a server that does
    not answer, a full disk, a bug) sends the record to a spool file: a run
    is never lost because the database was unavailable at the moment it
    ended. ``lute db sync`` lands spooled records later. A record that
    cannot be spooled either is logged as lost, naming every place tried;
    the outcome says so (``StoreOutcome.stored``). It never raises, so that
    the caller can finish its run and report it.
    """
    try:
        record = describe_run(desc)
    except Exception as err:  # a bug: there is no record to keep
        logger.exception(
            "could not describe %s run %s for the database, so it is not recorded",
            desc.task_result.task_name,
            desc.run_id,
        )
        return StoreOutcome(tried=(f"describing the run ({failure_reason(err)})",))
    return store_record(record, url, work_dir)


def store_record(record: RunRecord, url: str, work_dir: str | os.PathLike[str]) -> StoreOutcome:
    """``store_run`` for a run already described (``describe_run``): write it, or spool it.

    The Executor's recorder process (``lute.execution.recording``) gets the
    record, not the run, so it needs none of the Task's classes.
    """
    try:
        row_id, _created = open_database(url).write(record)
    except Exception as err:  # any failure at all: keep the record
        logger.debug("recording failed", exc_info=True)
        return _keep(record, url, work_dir, failure_reason(err))
    logger.info(
        "recorded %s run %s as %s in %s",
        record.task_name,
        record.run_id,
        record.row.get("result.task_status"),
        redacted(url),
    )
    return StoreOutcome(row_id=row_id)


def _keep(
    record: RunRecord, url: str, work_dir: str | os.PathLike[str], reason: str
) -> StoreOutcome:
    """Keep a record the database refused: in the work dir's spool, else the fallback spool."""
    tried = [f"{redacted(url)} ({reason})"]
    local = spool_dir(work_dir)
    try:
        path = spool.write(local, record.to_json())
    except Exception as err:  # a full or vanished work dir: try elsewhere
        logger.debug("spooling in %s failed", local, exc_info=True)
        tried.append(f"{local} ({failure_reason(err)})")
    else:
        return _spooled(record, tried, path, "")
    try:
        path = fallback.write(record, url, work_dir)
    except Exception as err:  # nowhere left to try
        logger.debug("spooling in the fallback spool failed", exc_info=True)
        tried.append(f"the fallback spool {_describe_fallback()} ({failure_reason(err)})")
    else:
        return _spooled(record, tried, path, " with the same database settings")
    logger.error(
        "could not record %s run %s as %s (attempt %d) anywhere, so this record is lost: "
        "not in the database %s",
        record.task_name,
        record.run_id,
        record.row.get("result.task_status"),
        record.attempt,
        ", nor in ".join(tried),
    )
    return StoreOutcome(tried=tuple(tried))


def _spooled(record: RunRecord, tried: list[str], path: Path, how: str) -> StoreOutcome:
    """Say where a refused record went instead, and what refused it first."""
    logger.warning(
        "could not record %s run %s as %s in %s; spooled it to %s; run `lute db sync`%s to land it",
        record.task_name,
        record.run_id,
        record.row.get("result.task_status"),
        ", nor spool it in ".join(tried),
        path,
        how,
    )
    return StoreOutcome(spool_file=path, tried=tuple(tried))


def _describe_fallback() -> str:
    """The fallback spool directory, for a message (even when there is no home)."""
    try:
        return str(fallback.fallback_dir())
    except RuntimeError:
        return f"(${fallback.ENV_STATE_HOME} unset and no home directory)"


@dataclasses.dataclass
class SyncReport:
    """What ``sync_spool`` did with each spool file.

    Attributes:
        landed: Files whose record this sync stored.
        already_recorded: Files whose record was stored already.
        failed: Files that could not be read or landed, with the reason.
        elsewhere: Fallback files left for other databases.
    """

    landed: list[Path] = dataclasses.field(default_factory=list)
    already_recorded: list[Path] = dataclasses.field(default_factory=list)
    failed: list[tuple[Path, str]] = dataclasses.field(default_factory=list)
    elsewhere: int = 0


def sync_spool(url: str, work_dir: str | os.PathLike[str]) -> SyncReport:
    """Replay spooled records into the database, each exactly once.

    Lands the work dir's spool, then the fallback files that belong to
    ``url`` (compared without passwords); fallback files of other databases
    stay. A file is deleted only after its record is committed (or found
    already there), so an interrupted sync leaves at most files whose
    records are already stored, and the next sync recognises them by
    ``run_id`` and ``attempt`` instead of writing them again. Files that
    cannot be read or written stay for the next attempt.
    """
    report = SyncReport()
    pending = [(path, _local_record) for path in spool.pending(spool_dir(work_dir))]
    pending += _fallback_files(url, report)
    if not pending:
        return report
    database = open_database(url)
    for path, read in pending:
        try:
            _row_id, created = database.write(read(path))
        except (OSError, ValueError, sa.exc.SQLAlchemyError) as err:
            report.failed.append((path, failure_reason(err)))
            logger.warning("could not land %s: %s", path, failure_reason(err))
            continue
        spool.discard(path)
        (report.landed if created else report.already_recorded).append(path)
    return report


def _local_record(path: Path) -> RunRecord:
    return RunRecord.from_json(spool.read(path))


def _fallback_record(path: Path) -> RunRecord:
    return fallback.read(path).record


def _fallback_files(url: str, report: SyncReport) -> list[tuple[Path, Callable[[Path], RunRecord]]]:
    """The fallback files to land into ``url``; counts the others in ``report``."""
    try:
        directory = fallback.fallback_dir()
    except RuntimeError:  # no home: there can be no fallback spool either
        return []
    mine = fallback.target(url)
    files: list[tuple[Path, Callable[[Path], RunRecord]]] = []
    for path in spool.pending(directory):
        try:
            belongs = fallback.read(path).db_url == mine
        except (OSError, ValueError) as err:
            report.failed.append((path, failure_reason(err)))
            continue
        if belongs:
            files.append((path, _fallback_record))
        else:
            report.elsewhere += 1
    return files
