"""The run database: every managed task's record, through SQLAlchemy.

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

A parameter seen for the first time adds a column; nothing is ever dropped,
so older rows read back with ``NULL`` there. A value that does not fit its
column's type (a parameter that was an integer and is now a string) widens
the column to text; the values already there are converted by the
database's own cast, so no row is lost and every value still reads back.

Names reach SQL only as SQLAlchemy identifiers, quoted by the dialect's
preparer; values only as bound parameters.

On SQLite, writers take the lock when their transaction begins (``BEGIN
IMMEDIATE``): a transaction that read first and wrote later could fail at
once, without waiting, when another process wrote in between. The busy
timeout (``$LUTE_DB_TIMEOUT`` seconds) bounds every wait for a lock; past it
the write fails and the caller spools the record (see ``store_run``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import importlib.util
import json
import logging
import math
import os
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, ProgrammingError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateColumn, CreateIndex, CreateTable, ExecutableDDLElement

from lute.core.analysis import DescribedAnalysis
from lute.core.exceptions import ConfigurationError, LuteError, UnknownNameError
from lute.db import spool
from lute.db.records import (
    HEADER_FIELDS,
    RESERVED_COLUMNS,
    RESULT_COLUMNS,
    TIME_COLUMNS,
    RunRecord,
    describe_run,
    parameter_column,
)

logger = logging.getLogger(__name__)

ENV_DB_URL = "LUTE_DB_URL"
ENV_DB_TIMEOUT = "LUTE_DB_TIMEOUT"
DEFAULT_TIMEOUT_S = 30.0
DB_FILE = "lute.db"
SPOOL_DIR = "db_spool"
"""Directory under the work dir holding records the database refused."""
DDL_RETRIES = 5
"""Attempts at a schema change that concurrent writers may race on."""


class DatabaseError(LuteError):
    """The database could not be opened, read or written."""


# --- URL and engine ---------------------------------------------------------------


def database_url(work_dir: str | os.PathLike[str], configured: str | None = None) -> str:
    """The URL to use: ``$LUTE_DB_URL``, else the header's, else SQLite in work_dir."""
    url = os.environ.get(ENV_DB_URL) or configured
    if url:
        return url
    return f"sqlite:///{Path(work_dir).resolve() / DB_FILE}"


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or ``None`` for other databases and ``:memory:``."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def lock_timeout() -> float:
    """Seconds a write may wait for a lock (``$LUTE_DB_TIMEOUT``, default 30).

    Raises:
        ConfigurationError: The variable is set but is not a positive number.
    """
    text = os.environ.get(ENV_DB_TIMEOUT)
    if not text:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value > 0:
        raise ConfigurationError(f"{ENV_DB_TIMEOUT}={text!r} is not a positive number of seconds")
    return value


def with_driver(url: str) -> str:
    """``url`` with an installed PostgreSQL driver named when it names none.

    ``postgresql://`` means psycopg2 to SQLAlchemy 2.0 and psycopg (3) to
    2.1; users should not have to know which one their SQLAlchemy picks or
    which one is installed.
    """
    parsed = sa.engine.make_url(url)
    if parsed.drivername != "postgresql":
        return url
    for module, driver in (("psycopg", "postgresql+psycopg"), ("psycopg2", "postgresql+psycopg2")):
        if importlib.util.find_spec(module) is not None:
            return parsed.set(drivername=driver).render_as_string(hide_password=False)
    return url


def get_engine(url: str) -> Engine:
    """The engine for ``url`` in this process, with the current lock timeout."""
    return _engine(with_driver(url), lock_timeout())


@functools.lru_cache(maxsize=16)
def _engine(url: str, timeout: float) -> Engine:
    backend = sa.engine.make_url(url).get_backend_name()
    if backend == "sqlite":
        engine = sa.create_engine(url, connect_args={"timeout": timeout})
        sa.event.listen(engine, "connect", functools.partial(_sqlite_connect, timeout=timeout))
        sa.event.listen(engine, "begin", _sqlite_begin)
        return engine
    connect_args: dict[str, Any] = {}
    if backend == "postgresql":
        # libpq: give up connecting, and waiting for a lock, after the timeout.
        connect_args = {
            "connect_timeout": max(2, math.ceil(timeout)),
            "options": f"-c lock_timeout={int(timeout * 1000)}",
        }
    return sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def _sqlite_connect(dbapi_conn: Any, _record: Any, timeout: float) -> None:
    # SQLAlchemy emits BEGIN itself (see _sqlite_begin); the driver must not.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    mode = "IMMEDIATE" if conn.get_execution_options().get("lute_write") else "DEFERRED"
    conn.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that holds the write lock from its start on SQLite."""
    with engine.connect() as conn:
        conn.execution_options(lute_write=True)
        with conn.begin():
            yield conn


# --- DDL the SQLAlchemy core does not provide, compiled by each dialect -----------


class _AddColumn(ExecutableDDLElement):
    inherit_cache = False

    def __init__(self, table: sa.Table, column: sa.Column[Any]) -> None:
        self.table = table
        self.column = column


class _DropColumn(ExecutableDDLElement):
    inherit_cache = False

    def __init__(self, table: sa.Table, name: str) -> None:
        self.table = table
        self.name = name


class _RenameColumn(ExecutableDDLElement):
    inherit_cache = False

    def __init__(self, table: sa.Table, old: str, new: str) -> None:
        self.table = table
        self.old = old
        self.new = new


class _AlterColumnToText(ExecutableDDLElement):
    inherit_cache = False

    def __init__(self, table: sa.Table, name: str) -> None:
        self.table = table
        self.name = name


@compiles(_AddColumn)
def _compile_add_column(element: _AddColumn, compiler: Any, **kw: Any) -> str:
    column = compiler.process(CreateColumn(element.column), **kw)
    guard = "IF NOT EXISTS " if compiler.dialect.name == "postgresql" else ""
    return f"ALTER TABLE {compiler.preparer.format_table(element.table)} ADD COLUMN {guard}{column}"


@compiles(_DropColumn)
def _compile_drop_column(element: _DropColumn, compiler: Any, **kw: Any) -> str:
    preparer = compiler.preparer
    return (
        f"ALTER TABLE {preparer.format_table(element.table)} "
        f"DROP COLUMN {preparer.quote_identifier(element.name)}"
    )


@compiles(_RenameColumn)
def _compile_rename_column(element: _RenameColumn, compiler: Any, **kw: Any) -> str:
    preparer = compiler.preparer
    return (
        f"ALTER TABLE {preparer.format_table(element.table)} RENAME COLUMN "
        f"{preparer.quote_identifier(element.old)} TO {preparer.quote_identifier(element.new)}"
    )


@compiles(_AlterColumnToText, "postgresql")
def _compile_alter_to_text(element: _AlterColumnToText, compiler: Any, **kw: Any) -> str:
    preparer = compiler.preparer
    name = preparer.quote_identifier(element.name)
    return (
        f"ALTER TABLE {preparer.format_table(element.table)} "
        f"ALTER COLUMN {name} TYPE TEXT USING {name}::text"
    )


# --- values -----------------------------------------------------------------------


def _kind(value: Any) -> str | None:
    """The column kind a value needs: bool, int, float or text (None fits any)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return "text"


def _column_kind(column_type: sa.types.TypeEngine[Any]) -> str:
    if isinstance(column_type, sa.Boolean):
        return "bool"
    if isinstance(column_type, sa.Integer):
        return "int"
    if isinstance(column_type, (sa.Float, sa.Numeric)):
        return "float"
    if isinstance(column_type, sa.DateTime):
        return "datetime"
    return "text"


_TYPES: dict[str, type[sa.types.TypeEngine[Any]]] = {
    "bool": sa.Boolean,
    "int": sa.BigInteger,
    "float": sa.Float,
    "text": sa.Text,
}


def _fits(value: Any, column_kind: str) -> bool:
    """Whether ``value`` can be stored as it is in a column of ``column_kind``."""
    kind = _kind(value)
    return (
        kind is None or column_kind in ("text", kind) or (kind == "int" and column_kind == "float")
    )


def _as_text(value: Any) -> Any:
    """A value for a text column: strings as they are, anything else as JSON."""
    return value if value is None or isinstance(value, str) else json.dumps(value)


def _digest(values: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=repr).encode()).hexdigest()


def to_datetime(timestamp: float | None) -> dt.datetime | None:
    """A POSIX time as the naive UTC datetime the database stores."""
    if timestamp is None:
        return None
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).replace(tzinfo=None)


# --- the schema -------------------------------------------------------------------


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


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
            sa.UniqueConstraint("run_id", "attempt", name="uq_runs_run_id_attempt"),
        )
        self._tables: dict[str, sa.Table] = {}
        self._ddl(self._create_shared_tables)

    # -- schema changes

    def _create_shared_tables(self, conn: Connection) -> None:
        for table in self.metadata.sorted_tables:
            conn.execute(CreateTable(table, if_not_exists=True))
            for index in table.indexes:
                conn.execute(CreateIndex(index, if_not_exists=True))

    def _ddl(self, change: Any) -> Any:
        """Run a schema change that other writers may be running at the same moment.

        On PostgreSQL two processes creating the same table or index can
        collide on the system catalogs even with ``IF NOT EXISTS``; the loser
        gets an integrity or programming error, and the change, which
        re-reads the schema first, is simply run again. SQLite writers are
        serialised by ``BEGIN IMMEDIATE`` and never collide.
        """
        attempt = 1
        while True:
            try:
                with write_transaction(self.engine) as conn:
                    return change(conn)
            except (IntegrityError, ProgrammingError) as err:
                if attempt >= DDL_RETRIES:
                    raise
                attempt += 1
                logger.debug("schema change collided with another writer; retrying: %s", err.orig)

    def _new_task_table(self, task_name: str) -> sa.Table:
        key = _short_hash(task_name)
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

    def _prepare(self, conn: Connection, task_name: str, row: Mapping[str, Any]) -> sa.Table:
        """Create, extend and widen ``task_name``'s table so ``row`` fits; return it."""
        table = _reflect(conn, task_name)
        changed = table is None
        if table is None:
            table = self._new_task_table(task_name)
            conn.execute(CreateTable(table, if_not_exists=True))
            for index in table.indexes:
                conn.execute(CreateIndex(index, if_not_exists=True))
            logger.debug("created table %r", task_name)
        for name, value in row.items():
            if not _needs_change(table, name, value):
                continue
            if name not in table.c:
                column_type = sa.DateTime() if name in TIME_COLUMNS else _TYPES[_kind(value)]()
                conn.execute(_AddColumn(table, sa.Column(name, column_type)))
                logger.debug("added column %r to table %r", name, task_name)
                changed = True
            else:
                _widen_to_text(conn, table, name)
                changed = True
        if changed:
            reflected = _reflect(conn, task_name)
            if reflected is not None:
                table = reflected
        return table

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

    def _writable_table(self, record: RunRecord) -> sa.Table:
        table = self._tables.get(record.task_name)
        if table is None or any(
            _needs_change(table, name, value) for name, value in record.row.items()
        ):
            self._tables[record.task_name] = self._ddl(
                functools.partial(self._prepare, task_name=record.task_name, row=record.row)
            )
        return self._tables[record.task_name]

    # -- writing

    def recorded_row(self, conn: Connection, run_id: str, attempt: int) -> int | None:
        """The Task-table row id of a run already recorded, else ``None``."""
        query = sa.select(self.runs.c.task_row_id).where(
            self.runs.c.run_id == run_id, self.runs.c.attempt == attempt
        )
        return conn.execute(query).scalar()

    def write(self, record: RunRecord) -> tuple[int, bool]:
        """Store one run unless it is already there.

        Returns:
            The row id in the Task's table, and whether this call wrote it.
        """
        with self.engine.connect() as conn:
            existing = self.recorded_row(conn, record.run_id, record.attempt)
        if existing is not None:
            return existing, False
        table = self._writable_table(record)
        # A missing column is one only ever given None: it reads back as None.
        row = {
            name: _column_value(table.c[name], value)
            for name, value in record.row.items()
            if name in table.c
        }
        try:
            with write_transaction(self.engine) as conn:
                existing = self.recorded_row(conn, record.run_id, record.attempt)
                if existing is not None:
                    return existing, False
                row["gen_cfg_id"] = _shared_row(conn, self.gen_cfg, record.header)
                row["exec_cfg_id"] = _shared_row(conn, self.exec_cfg, record.execution)
                row_id = conn.execute(table.insert().values(row)).inserted_primary_key[0]
                conn.execute(self.runs.insert().values(self._runs_row(record, row, row_id)))
        except IntegrityError:
            # Another writer landed the same run between our check and insert.
            with self.engine.connect() as conn:
                existing = self.recorded_row(conn, record.run_id, record.attempt)
            if existing is None:
                raise
            return existing, False
        logger.debug("recorded %s run %s as row %s", record.task_name, record.run_id, row_id)
        return row_id, True

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
        }


def _needs_change(table: sa.Table, name: str, value: Any) -> bool:
    """Whether ``value`` needs a new or wider column ``name`` in ``table``.

    A column is created only for a value that is not None, so that its type
    follows the first real value rather than defaulting to text.
    """
    if name not in table.c:
        return value is not None
    return name not in RESERVED_COLUMNS and not _fits(value, _column_kind(table.c[name].type))


def _column_value(column: sa.Column[Any], value: Any) -> Any:
    if column.name in TIME_COLUMNS:
        return to_datetime(value)
    if _column_kind(column.type) == "text":
        return _as_text(value)
    return value


def _reflect(conn: Connection, task_name: str) -> sa.Table | None:
    if not sa.inspect(conn).has_table(task_name):
        return None
    return sa.Table(task_name, sa.MetaData(), autoload_with=conn)


def _widen_to_text(conn: Connection, table: sa.Table, name: str) -> None:
    """Make column ``name`` TEXT, keeping every value (as the database casts it)."""
    kind = _column_kind(table.c[name].type)
    logger.warning(
        "table %r: a value of %r does not fit its %s column; widening it to text",
        table.name,
        name,
        kind,
    )
    if conn.dialect.name == "postgresql":
        conn.execute(_AlterColumnToText(table, name))
        return
    # SQLite cannot change a column's type: copy into a new text column, then
    # swap it in under the old name (all inside this one transaction).
    scratch = f"lute_widen_{uuid.uuid4().hex}"
    conn.execute(_AddColumn(table, sa.Column(scratch, sa.Text())))
    target = sa.table(table.name, sa.column(name), sa.column(scratch))
    source = target.c[name]
    if kind == "bool":
        text = sa.case((source.is_(None), sa.null()), (source != 0, "true"), else_="false")
    else:
        text = sa.cast(source, sa.Text())
    conn.execute(sa.update(target).values({scratch: text}))
    conn.execute(_DropColumn(table, name))
    conn.execute(_RenameColumn(table, scratch, name))


def _shared_row(conn: Connection, table: sa.Table, values: dict[str, Any]) -> int:
    """Id of the row holding ``values``, inserting it if it is new."""
    digest = _digest(values)
    found = conn.execute(sa.select(table.c.id).where(table.c.digest == digest)).scalar()
    if found is not None:
        return found
    try:
        with conn.begin_nested():
            return conn.execute(
                table.insert().values(digest=digest, **values)
            ).inserted_primary_key[0]
    except IntegrityError:
        return conn.execute(sa.select(table.c.id).where(table.c.digest == digest)).scalar_one()


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

    Raises:
        UnknownNameError: There is no such SQLite file (``create=False``).
        DatabaseError: The database cannot be reached.
    """
    path = sqlite_path(url)
    if not create and path is not None and not path.exists():
        raise UnknownNameError(f"no database at {path} (nothing recorded there yet?)")
    try:
        return _database(url, lock_timeout())
    except sa.exc.SQLAlchemyError as err:
        raise DatabaseError(f"cannot open the database {_redacted(url)}: {_reason(err)}") from err


def _redacted(url: str) -> str:
    return sa.engine.make_url(url).render_as_string(hide_password=True)


def _reason(err: BaseException) -> str:
    orig = getattr(err, "orig", None) or err
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__


# --- writing with a safety net ----------------------------------------------------


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
            _redacted(url),
            _reason(err),
            path,
        )
        logger.debug("recording failed", exc_info=True)
        return StoreOutcome(spool_file=path)
    logger.info("recorded %s run %s in %s", record.task_name, record.run_id, _redacted(url))
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
            report.failed.append((path, _reason(err)))
            logger.warning("could not land %s: %s", path, _reason(err))
            continue
        spool.discard(path)
        (report.landed if created else report.already_recorded).append(path)
    return report


# --- reading ----------------------------------------------------------------------


def read_latest_db_entry(
    db_dir: str | os.PathLike[str],
    task_name: str,
    param: str,
    valid_only: bool = True,
    for_run: int | str | None = None,
    *,
    db_url: str | None = None,
) -> Any:
    """Latest recorded value of one parameter (or result column) of a Task.

    "Latest" is the run that ended last (a spooled run landed later keeps
    its place in time), ties broken by insertion order.

    Args:
        db_dir: Work dir holding ``lute.db`` (ignored if a URL is given or
            ``LUTE_DB_URL`` is set).
        task_name: The Task whose table to read.
        param: A flattened parameter name (``a.b[0]``) or a ``result.*`` column.
        valid_only: Skip runs with ``valid_flag = 0`` (failed or invalidated).
        for_run: Only runs whose header has this run number.
        db_url: The header's ``db_url``, if it has one.

    Returns:
        The value, or ``None`` when there is no such database, table, column
        or matching row.

    Raises:
        DatabaseError: The database exists but cannot be read.
    """
    url = database_url(db_dir, db_url)
    path = sqlite_path(url)
    if path is not None and not path.exists():
        return None
    database = open_database(url)
    column = param if param in RESULT_COLUMNS else parameter_column(param)
    table = database.task_table(task_name)
    if table is not None and column not in table.c:
        table = database.task_table(task_name, refresh=True)
    if table is None or column not in table.c:
        return None
    query = (
        sa.select(table.c[column])
        .order_by(table.c.end_time.desc().nulls_last(), table.c.id.desc())
        .limit(1)
    )
    if valid_only:
        query = query.where(table.c.valid_flag == 1)
    if for_run is not None:
        gen_cfg = database.gen_cfg
        query = query.join(gen_cfg, table.c.gen_cfg_id == gen_cfg.c.id).where(
            gen_cfg.c.run == str(for_run)
        )
    try:
        with database.engine.connect() as conn:
            return conn.execute(query).scalar()
    except sa.exc.SQLAlchemyError as err:
        raise DatabaseError(
            f"cannot read {task_name!r} from {_redacted(url)}: {_reason(err)}"
        ) from err
