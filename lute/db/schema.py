"""The tables of the run database and the one way of writing a run into them.

Layout (after LUTE):

* ``gen_cfg``: one row per distinct config header (title, experiment, run,
  date, lute_version, task_timeout, work_dir). Identical headers share a row.
* ``exec_cfg``: one row per distinct execution setting (environment and
  communicators). Identical settings share a row.
* one table per Task, named after it, one row per run: timing and
  bookkeeping columns, one column per flattened parameter (``a.b[0]``),
  ``result.task_status``, ``result.summary``, ``result.payload``,
  ``result.impl_schemas`` and ``valid_flag``.
* ``runs``: one row per run of any Task, keyed by ``(run_id, attempt)``. It
  says which Task table holds the run, carries what listing needs (status,
  times, experiment, run) and is the idempotency key: a run is written in
  one transaction with its ``runs`` row, so replaying it cannot duplicate it.

Task tables grow as parameters appear and widen as their types change (see
``lute.db.ddl``); values reach SQL only as bound parameters.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError

from lute.core.analysis import TaskStatus
from lute.core.exceptions import ConfigurationError, UnknownNameError
from lute.db.columns import column_value, needs_change, new_column_type, to_datetime
from lute.db.ddl import add_column, create_table, widen_to_text
from lute.db.engine import get_engine, lock_timeout, redacted, sqlite_path, write_transaction
from lute.db.errors import DatabaseError, failure_reason
from lute.db.lute_compat import is_lute_database, lute_database_refusal
from lute.db.records import (
    HEADER_FIELDS,
    PROCESS_COLUMNS,
    PROGRESS_COLUMNS,
    RESULT_COLUMNS,
    RunRecord,
    fit_columns,
)

logger = logging.getLogger(__name__)

DDL_RETRIES = 5
"""Attempts at a schema change that concurrent writers may race on."""
DEADLOCK = "40P01"
"""PostgreSQL's SQLSTATE for a transaction chosen as a deadlock victim."""

_T = TypeVar("_T")


class Database:
    """The tables of one database, created and extended on demand.

    Task tables are reflected once and cached: columns are only ever added
    and types only ever widened, so a cached table that has every column a
    record needs, of a type that fits, is good enough to write with.

    Args:
        url: SQLAlchemy URL of the database.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = get_engine(url)
        self.metadata = sa.MetaData()
        self.gen_cfg = sa.Table(
            "gen_cfg",
            self.metadata,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("digest", sa.String(64), unique=True, nullable=False),
            *(sa.Column(name, sa.Text) for name in HEADER_FIELDS),
        )
        self.exec_cfg = sa.Table(
            "exec_cfg",
            self.metadata,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("digest", sa.String(64), unique=True, nullable=False),
            sa.Column("env", sa.Text),
            sa.Column("communicator_desc", sa.Text),
        )
        self.runs = sa.Table(
            "runs",
            self.metadata,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("run_id", sa.String(64), nullable=False),
            sa.Column("attempt", sa.Integer, nullable=False),
            sa.Column("task_name", sa.Text, nullable=False),
            sa.Column("task_row_id", sa.Integer, nullable=False),
            sa.Column("status", sa.Text),
            sa.Column("valid_flag", sa.Integer, nullable=False),
            sa.Column("start_time", sa.DateTime, index=True),
            sa.Column("end_time", sa.DateTime),
            sa.Column("experiment", sa.Text),
            sa.Column("run", sa.Text),
            *_added_columns(),
            sa.UniqueConstraint("run_id", "attempt", name="uq_runs_run_id_attempt"),
        )
        self._tables: dict[str, sa.Table] = {}
        self._ddl(self._create_shared_tables)

    # -- schema changes

    def _create_shared_tables(self, conn: Connection) -> None:
        for table in self.metadata.sorted_tables:
            create_table(conn, table)
        present = {column["name"] for column in sa.inspect(conn).get_columns("runs")}
        for column in _added_columns():
            if column.name not in present:
                add_column(conn, self.runs, column)
                logger.debug("added column %r to the runs table", column.name)

    def _ddl(self, change: Callable[[Connection], _T]) -> _T:
        """Run a schema change that other writers may be running at the same moment.

        On PostgreSQL two processes creating the same table or index can
        collide on the system catalogs even with ``IF NOT EXISTS``, or
        deadlock (each holds a lock on the new table from ``CREATE INDEX IF
        NOT EXISTS`` and wants it exclusively to add a column); the loser
        gets an integrity or programming error or is chosen as the deadlock
        victim, and the change, which re-reads the schema first, is simply
        run again. SQLite writers are serialised by ``BEGIN IMMEDIATE`` and
        never collide.
        """
        attempt = 1
        while True:
            try:
                with write_transaction(self.engine) as conn:
                    return change(conn)
            except (IntegrityError, ProgrammingError, OperationalError) as err:
                if attempt >= DDL_RETRIES or not _lost_a_race(err):
                    raise
                attempt += 1
                logger.debug("schema change collided with another writer; retrying: %s", err.orig)

    def _new_task_table(self, task_name: str) -> sa.Table:
        key = hashlib.sha256(task_name.encode()).hexdigest()[:12]
        return sa.Table(
            task_name,
            sa.MetaData(),
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("run_id", sa.String(64)),
            sa.Column("attempt", sa.Integer),
            sa.Column("start_time", sa.DateTime),
            sa.Column("end_time", sa.DateTime),
            sa.Column("duration", sa.Float),
            sa.Column("exit_code", sa.Integer),
            sa.Column("host", sa.Text),
            sa.Column("slurm_job_id", sa.Text),
            sa.Column("log_stdout", sa.Text),
            sa.Column("log_stderr", sa.Text),
            sa.Column("gen_cfg_id", sa.Integer, sa.ForeignKey(self.gen_cfg.c.id)),
            sa.Column("exec_cfg_id", sa.Integer, sa.ForeignKey(self.exec_cfg.c.id)),
            *(sa.Column(name, sa.Text) for name in RESULT_COLUMNS),
            sa.Column("valid_flag", sa.Integer, nullable=False, default=1),
            sa.Column("invalid_reason", sa.Text),
            sa.Column("executor_errors", sa.Text),
            sa.Index(f"ix_{key}_run", "run_id", "attempt"),
            sa.Index(f"ix_{key}_end_time", "end_time"),
        )

    def _prepare(
        self, conn: Connection, task_name: str, row: Mapping[str, Any]
    ) -> tuple[sa.Table, dict[str, Any]]:
        """Create, extend and widen ``task_name``'s table so ``row`` fits.

        Returns:
            The table, and ``row`` with its columns as they are in it
            (``lute.db.records.fit_columns``).
        """
        table = _reflect(conn, task_name)
        changed = table is None
        if table is None:
            table = self._new_task_table(task_name)
            create_table(conn, table)
            logger.debug("created table %r", task_name)
        row = fit_columns(table.c.keys(), row)
        for name, value in row.items():
            if not needs_change(table, name, value):
                continue
            if name not in table.c:
                add_column(conn, table, sa.Column(name, new_column_type(name, value)))
                logger.debug("added column %r to table %r", name, task_name)
            else:
                widen_to_text(conn, table, name)
            changed = True
        if changed:
            reflected = _reflect(conn, task_name)
            if reflected is not None:
                table = reflected
        return table, row

    def task_table(self, task_name: str, refresh: bool = False) -> sa.Table | None:
        """The (cached) reflected table of ``task_name``, or ``None`` if there is none."""
        if refresh or task_name not in self._tables:
            with self.engine.connect() as conn:
                table = _reflect(conn, task_name)
            if table is None:
                return None
            self._tables[task_name] = table
        return self._tables[task_name]

    def task_names(self) -> list[str]:
        """Every Task with at least one recorded run, sorted."""
        query = sa.select(self.runs.c.task_name).distinct().order_by(self.runs.c.task_name)
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def _writable_table(self, record: RunRecord) -> tuple[sa.Table, dict[str, Any]]:
        """The table to write ``record`` to, and its row with the table's column names."""
        table = self._tables.get(record.task_name)
        row = record.row if table is None else fit_columns(table.c.keys(), record.row)
        if table is None or any(needs_change(table, name, value) for name, value in row.items()):
            table, row = self._ddl(
                functools.partial(self._prepare, task_name=record.task_name, row=record.row)
            )
            self._tables[record.task_name] = table
        return table, row

    # -- writing

    def _recorded(self, conn: Connection, run_id: str, attempt: int) -> tuple[int, bool] | None:
        """The Task-table row id of a recorded run and whether its status is final."""
        query = sa.select(self.runs.c.task_row_id, self.runs.c.status).where(
            self.runs.c.run_id == run_id, self.runs.c.attempt == attempt
        )
        found = conn.execute(query).first()
        return None if found is None else (found[0], _is_final(found[1]))

    def _stored(self, record: RunRecord) -> tuple[int, bool] | None:
        """``_recorded`` of ``record``, outside any transaction."""
        with self.engine.connect() as conn:
            return self._recorded(conn, record.run_id, record.attempt)

    def write(self, record: RunRecord) -> tuple[int, bool]:
        """Store one run: insert it, or bring a RUNNING record of it up to date.

        A run is written when it starts (RUNNING) and again when it ends; a
        final record is never changed by a later write, so replaying spooled
        records in any order converges on the last word about each run.

        Returns:
            The row id in the Task's table, and whether this call wrote it.
        """
        stored = self._stored(record)
        if stored is not None and not self._supersedes(record, stored):
            return stored[0], False
        table, fitted = self._writable_table(record)
        # A missing column is one only ever given None: it reads back as None.
        row = {
            name: column_value(table.c[name], value)
            for name, value in fitted.items()
            if name in table.c
        }
        try:
            with write_transaction(self.engine) as conn:
                stored = self._recorded(conn, record.run_id, record.attempt)
                if stored is not None and not self._supersedes(record, stored):
                    return stored[0], False
                row["gen_cfg_id"] = _shared_row(conn, self.gen_cfg, record.header)
                row["exec_cfg_id"] = _shared_row(conn, self.exec_cfg, record.execution)
                if stored is None:
                    row_id = conn.execute(table.insert().values(row)).inserted_primary_key[0]
                    conn.execute(self.runs.insert().values(self._runs_row(record, row, row_id)))
                else:
                    row_id = stored[0]
                    conn.execute(table.update().where(table.c.id == row_id).values(row))
                    conn.execute(
                        self.runs.update()
                        .where(
                            self.runs.c.run_id == record.run_id,
                            self.runs.c.attempt == record.attempt,
                        )
                        .values(self._runs_row(record, row, row_id))
                    )
        except IntegrityError:
            # Another writer landed the same run between our check and insert.
            stored = self._stored(record)
            if stored is None:
                raise
            return stored[0], False
        logger.debug("recorded %s run %s as row %s", record.task_name, record.run_id, row_id)
        return row_id, True

    @staticmethod
    def _supersedes(record: RunRecord, stored: tuple[int, bool]) -> bool:
        """Whether ``record`` should replace what is stored: a final word on a live run."""
        return not stored[1] and _is_final(record.row.get("result.task_status"))

    @staticmethod
    def _runs_row(record: RunRecord, row: Mapping[str, Any], row_id: int) -> dict[str, Any]:
        return {
            "run_id": record.run_id,
            "attempt": record.attempt,
            "task_name": record.task_name,
            "task_row_id": row_id,
            "status": row.get("result.task_status"),
            "valid_flag": row.get("valid_flag", 1),
            "start_time": row.get("start_time"),
            "end_time": row.get("end_time"),
            "experiment": record.header.get("experiment"),
            "run": record.header.get("run"),
            "host": row.get("host"),
            **{name: row.get(name) for name in PROCESS_COLUMNS},
            **{name: record.row.get(name) for name in PROGRESS_COLUMNS},
            "progress_time": to_datetime(record.row.get("progress_time")),
        }

    def record_progress(self, run_id: str, attempt: int, values: Mapping[str, Any]) -> bool:
        """Keep a live run's latest progress (``PROGRESS_COLUMNS``) in its ``runs`` row.

        Only the small ``runs`` row is touched, and only while the run is not
        final: a late write never changes a finished record, whose final
        progress its own record carries.

        Returns:
            Whether a row was updated (``False``: no such live run).
        """
        runs = self.runs
        update = (
            runs.update()
            .where(
                runs.c.run_id == run_id,
                runs.c.attempt == attempt,
                runs.c.status.in_([s.value for s in TaskStatus if not s.final]),
            )
            .values(
                {
                    **{name: values.get(name) for name in PROGRESS_COLUMNS},
                    "progress_time": to_datetime(values.get("progress_time")),
                }
            )
        )
        with write_transaction(self.engine) as conn:
            return bool(conn.execute(update).rowcount)


def _added_columns() -> list[sa.Column[Any]]:
    """Columns of ``runs`` added after its first release, added to older databases on opening.

    Who runs a live run (host and process), and how far it has got
    (``PROGRESS_COLUMNS``, latest report while it runs, last one at its end).
    New objects each call: a column belongs to one table.
    """
    return [
        sa.Column("host", sa.Text),
        sa.Column("executor_pid", sa.Integer),
        sa.Column("executor_start", sa.Text),
        sa.Column("task_pgid", sa.Integer),
        sa.Column("progress_done", sa.Float),
        sa.Column("progress_total", sa.Float),
        sa.Column("progress_text", sa.Text),
        sa.Column("progress_time", sa.DateTime),
    ]


def _is_final(status: str | None) -> bool:
    """Whether a recorded status can no longer change (unknown text counts as final)."""
    try:
        return TaskStatus(status).final
    except ValueError:
        return True


def _lost_a_race(err: DBAPIError) -> bool:
    """Whether a failed schema change collided with another writer's (see ``_ddl``).

    Other operational errors (a server that does not answer) are not
    retried: they would only fail again, each after the connect timeout.
    """
    if not isinstance(err, OperationalError):
        return True
    orig = err.orig
    return (getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)) == DEADLOCK


def _reflect(conn: Connection, task_name: str) -> sa.Table | None:
    if not sa.inspect(conn).has_table(task_name):
        return None
    return sa.Table(task_name, sa.MetaData(), autoload_with=conn)


def _shared_row(conn: Connection, table: sa.Table, values: dict[str, Any]) -> int:
    """Id of the row holding ``values``, inserting it if it is new."""
    digest = hashlib.sha256(json.dumps(values, sort_keys=True, default=repr).encode()).hexdigest()
    find = sa.select(table.c.id).where(table.c.digest == digest)
    found = conn.execute(find).scalar()
    if found is not None:
        return found
    try:
        with conn.begin_nested():
            return conn.execute(
                table.insert().values(digest=digest, **values)
            ).inserted_primary_key[0]
    except IntegrityError:
        return conn.execute(find).scalar_one()


_OPENED: set[str] = set()
"""URLs opened as lute databases in this process: no need to look for LUTE's layout again."""


@functools.lru_cache(maxsize=16)
def _database(url: str, timeout: float) -> Database:
    """One ``Database`` per URL and lock timeout (the timeout only keys the cache)."""
    return Database(url)


def open_database(url: str, create: bool = True) -> Database:
    """The database at ``url``, with its shared tables created if needed.

    Args:
        url: SQLAlchemy URL.
        create: When false, a SQLite file that does not exist is an error
            rather than created (readers must not leave empty databases
            behind).

    A SQLite file written by LUTE is never changed: readers get a read-only
    copy of its runs (``lute.db.import_lute``), and writing is refused.

    Raises:
        UnknownNameError: There is no such SQLite file (``create=False``).
        ConfigurationError: ``create`` is true and the file is a LUTE database.
        DatabaseError: The database cannot be reached.
    """
    path = sqlite_path(url)
    if not create and path is not None and not path.exists():
        raise UnknownNameError(f"no database at {path} (nothing recorded there yet?)")
    if path is not None and url not in _OPENED and is_lute_database(path):
        if create:
            raise ConfigurationError(lute_database_refusal(path))
        from lute.db.import_lute import lute_database_copy  # noqa: PLC0415 (import cycle)

        return lute_database_copy(path, url)
    try:
        database = _database(url, lock_timeout())
        _OPENED.add(url)
        return database
    except sa.exc.SQLAlchemyError as err:
        raise DatabaseError(
            f"cannot open the database {redacted(url)}: {failure_reason(err)}"
        ) from err
