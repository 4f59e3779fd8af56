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

A parameter seen for the first time adds a column; nothing is ever dropped,
so older rows read back with ``NULL`` there. Names reach SQL only through
SQLAlchemy's quoting, never by string formatting.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.schema import CreateColumn

from lute.tasks.dataclasses import DescribedAnalysis

logger = logging.getLogger(__name__)

ENV_DB_URL = "LUTE_DB_URL"
DB_FILE = "lute.db"
SQLITE_BUSY_TIMEOUT_S = 30.0
HEADER_FIELDS = (
    "title",
    "experiment",
    "run",
    "date",
    "lute_version",
    "task_timeout",
    "work_dir",
)
RESULT_COLUMNS = (
    "result.task_status",
    "result.summary",
    "result.payload",
    "result.impl_schemas",
)
RESERVED_COLUMNS = frozenset(
    {
        "id",
        "run_id",
        "attempt",
        "start_time",
        "end_time",
        "duration",
        "exit_code",
        "host",
        "slurm_job_id",
        "log_stdout",
        "log_stderr",
        "gen_cfg_id",
        "exec_cfg_id",
        "valid_flag",
        "invalid_reason",
        "executor_errors",
        *RESULT_COLUMNS,
    }
)


def database_url(work_dir: str | os.PathLike[str], configured: str | None = None) -> str:
    """The URL to use: ``$LUTE_DB_URL``, else the header's, else SQLite in work_dir."""
    url = os.environ.get(ENV_DB_URL) or configured
    if url:
        return url
    return f"sqlite:///{Path(work_dir).resolve() / DB_FILE}"


@functools.lru_cache(maxsize=16)
def get_engine(url: str) -> Engine:
    """One engine per URL per process; SQLite gets WAL and a busy timeout."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S}, poolclass=sa.NullPool
        )

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Flatten nested dicts and lists into ``a.b[0]``-style keys.

    Empty containers are kept as JSON text so they are not silently lost.
    """
    if isinstance(value, Mapping) and value:
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(value, (list, tuple)) and value:
        flat = {}
        for index, item in enumerate(value):
            flat.update(flatten(item, f"{prefix}[{index}]"))
        return flat
    if isinstance(value, (Mapping, list, tuple)):
        return {prefix: json.dumps(value)}
    return {prefix: value}


def parameter_column(name: str) -> str:
    """Column holding parameter ``name``; bookkeeping names get a prefix."""
    return f"param.{name}" if name in RESERVED_COLUMNS else name


def _column_type(value: Any) -> sa.types.TypeEngine[Any]:
    if isinstance(value, bool):
        return sa.Boolean()
    if isinstance(value, int):
        return sa.BigInteger()
    if isinstance(value, float):
        return sa.Float()
    return sa.Text()


def _storable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "value") and hasattr(value, "name"):
        return value.value
    return json.dumps(value, default=repr)


def _digest(values: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=repr).encode()).hexdigest()


class _Schema:
    """The tables of one database, created and extended on demand."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
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
        self._ensure(lambda conn: self.metadata.create_all(conn, checkfirst=True))

    def _ensure(self, ddl: Any) -> None:
        """Run DDL that another process may be running at the same moment."""
        try:
            with self.engine.begin() as conn:
                ddl(conn)
        except (OperationalError, ProgrammingError, IntegrityError) as err:
            if "exist" not in str(err).lower() and "duplicate" not in str(err).lower():
                raise
            logger.debug("schema already changed by another writer: %s", err.orig)

    def task_table(self, task_name: str, columns: Mapping[str, Any]) -> sa.Table:
        """The table of ``task_name``, with a column for every key of ``columns``."""
        table = self._reflect(task_name)
        if table is None:
            table = sa.Table(
                task_name,
                sa.MetaData(),
                sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                sa.Column("run_id", sa.String(64), index=True),
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
            )
            self._ensure(lambda conn: table.create(conn, checkfirst=True))
        missing = [name for name in columns if name not in table.c]
        for name in missing:
            column = sa.Column(name, _column_type(columns[name]))
            self._ensure(lambda conn, c=column: self._add_column(conn, task_name, c))
        reflected = self._reflect(task_name)
        return table if reflected is None else reflected

    def _add_column(self, conn: Connection, task_name: str, column: sa.Column[Any]) -> None:
        preparer = conn.dialect.identifier_preparer
        ddl = CreateColumn(column).compile(dialect=conn.dialect)
        conn.exec_driver_sql(f"ALTER TABLE {preparer.quote_identifier(task_name)} ADD COLUMN {ddl}")
        logger.debug("added column %r to table %r", column.name, task_name)

    def _reflect(self, task_name: str) -> sa.Table | None:
        metadata = sa.MetaData()
        try:
            return sa.Table(task_name, metadata, autoload_with=self.engine)
        except sa.exc.NoSuchTableError:
            return None


@functools.lru_cache(maxsize=16)
def _schema(url: str) -> _Schema:
    return _Schema(get_engine(url))


@contextmanager
def _connect(url: str) -> Iterator[tuple[_Schema, Connection]]:
    schema = _schema(url)
    with schema.engine.begin() as conn:
        yield schema, conn


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


def describe_row(desc: DescribedAnalysis) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Split a run into header, execution and Task-table values."""
    params = desc.task_parameters
    dumped: dict[str, Any] = params.model_dump(mode="json") if params is not None else {}
    header = dumped.pop("lute_config", {})
    header_values = {name: _storable(header.get(name)) for name in HEADER_FIELDS}
    header_values = {k: None if v is None else str(v) for k, v in header_values.items()}
    exec_values = {
        "env": json.dumps(desc.task_env, sort_keys=True),
        "communicator_desc": json.dumps(desc.communicator_desc),
    }
    result = desc.task_result
    row: dict[str, Any] = {
        parameter_column(name): _storable(value) for name, value in flatten(dumped).items()
    }
    row.update(
        {
            "run_id": desc.run_id,
            "attempt": desc.attempt,
            "start_time": _utc(desc.start_time),
            "end_time": _utc(desc.end_time),
            "duration": desc.duration,
            "exit_code": desc.exit_code,
            "host": desc.host,
            "slurm_job_id": desc.slurm_job_id,
            "log_stdout": desc.log_paths.get("stdout"),
            "log_stderr": desc.log_paths.get("stderr"),
            "result.task_status": result.task_status.value,
            "result.summary": _storable(result.summary),
            "result.payload": _storable(result.payload),
            "result.impl_schemas": result.impl_schemas,
            "valid_flag": 1 if result.task_status.successful else 0,
            "executor_errors": json.dumps(desc.executor_errors) if desc.executor_errors else None,
        }
    )
    return header_values, exec_values, row


def _utc(timestamp: float | None) -> dt.datetime | None:
    if timestamp is None:
        return None
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).replace(tzinfo=None)


def record_analysis(desc: DescribedAnalysis, url: str) -> int:
    """Write one run; returns the new row's id in its Task's table."""
    header_values, exec_values, row = describe_row(desc)
    task_name = desc.task_result.task_name
    with _connect(url) as (schema, conn):
        row["gen_cfg_id"] = _shared_row(conn, schema.gen_cfg, header_values)
        row["exec_cfg_id"] = _shared_row(conn, schema.exec_cfg, exec_values)
    table = schema.task_table(task_name, row)
    with schema.engine.begin() as conn:
        row_id = conn.execute(table.insert().values(row)).inserted_primary_key[0]
    logger.debug("recorded %s run %s as row %s", task_name, desc.run_id, row_id)
    return row_id


def read_latest_db_entry(
    db_dir: str | os.PathLike[str],
    task_name: str,
    param: str,
    valid_only: bool = True,
    for_run: int | str | None = None,
) -> Any:
    """Latest recorded value of one parameter (or result column) of a Task.

    Args:
        db_dir: Directory holding ``lute.db`` (ignored if ``LUTE_DB_URL`` is set).
        task_name: The Task whose table to read.
        param: A flattened parameter name (``a.b[0]``) or a ``result.*`` column.
        valid_only: Skip runs with ``valid_flag = 0`` (failed or invalidated).
        for_run: Only runs whose header has this run number.

    Returns:
        The value, or ``None`` when there is no such database, table, column
        or matching row.
    """
    url = database_url(db_dir)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None
    schema = _schema(url)
    table = schema._reflect(task_name)
    column = param if param in RESULT_COLUMNS else parameter_column(param)
    if table is None or column not in table.c:
        return None
    query = sa.select(table.c[column]).order_by(table.c.id.desc()).limit(1)
    if valid_only:
        query = query.where(table.c.valid_flag == 1)
    if for_run is not None:
        query = query.join(schema.gen_cfg, table.c.gen_cfg_id == schema.gen_cfg.c.id).where(
            schema.gen_cfg.c.run == str(for_run)
        )
    with schema.engine.connect() as conn:
        return conn.execute(query).scalar()
