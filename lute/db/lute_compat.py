"""Databases written by LUTE: recognised, and read without changing a byte.

LUTE (``slac-lcls/lute``) keeps its runs in ``<work_dir>/lute.db`` too, in
the layout lute's follows, minus lute's bookkeeping:

* ``gen_cfg(id, title, experiment, run, date, lute_version, task_timeout)``
  (LUTE leaves ``work_dir`` out);
* ``exec_cfg(id, env, poll_interval, communicator_desc)``, the environment
  as ``NAME=value;NAME=value`` and the communicators ``;``-separated;
* one table per Task: ``id``, ``timestamp`` (when the run was recorded, in
  UTC), ``gen_cfg_id``, ``exec_cfg_id``, the flattened parameters, the
  ``result.*`` columns and ``valid_flag``; no ``runs`` table.

Such a file is opened read-only (SQLite's ``mode=ro``: no journal, no WAL
switch, no table created), and each row is turned into the ``RunRecord``
lute would have written for it (``read_lute_runs``), which
``lute.db.import_lute`` copies into a lute database. A LUTE run gets a run
id derived from its row, stable across reads: ``lute-`` and 27 hex digits.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lute.core.redaction import redact_text, redact_value
from lute.db.errors import DatabaseError
from lute.db.records import HEADER_FIELDS, RESULT_COLUMNS, RunRecord, parameter_columns, storable

SHARED_TABLES = frozenset({"gen_cfg", "exec_cfg"})
LUTE_BOOKKEEPING = frozenset({"id", "timestamp", "gen_cfg_id", "exec_cfg_id", "valid_flag"})
"""Columns of a LUTE Task table that are not parameters or results."""
RUN_ID_PREFIX = "lute-"


def is_lute_database(path: str | Path) -> bool:
    """Whether the SQLite file at ``path`` has LUTE's layout (``gen_cfg`` and no ``runs``).

    A file that is missing, not SQLite, or unreadable is not one.
    """
    if not Path(path).is_file():
        return False
    try:
        with _read_only(path) as conn:
            tables = _tables(conn)
            if "gen_cfg" not in tables or "runs" in tables:
                return False
            return "digest" not in _columns(conn, "gen_cfg")
    except (sqlite3.Error, DatabaseError):
        return False


def lute_database_refusal(path: str | Path) -> str:
    """Why lute does not record runs into the LUTE database at ``path``, and what to do."""
    return (
        f"{path} is a LUTE database; lute does not write into it (its tables would change)."
        " Record lute's runs elsewhere (db_url in the config header, or $LUTE_DB_URL),"
        f" and copy LUTE's runs there with: lute db import {path} --url URL"
    )


def read_lute_runs(path: str | Path) -> Iterator[RunRecord]:
    """Every run of the LUTE database at ``path``, in the order recorded, as lute records it.

    Raises:
        DatabaseError: The file cannot be read as a LUTE database.
    """
    try:
        with _read_only(path) as conn:
            headers = _rows_by_id(conn, "gen_cfg")
            settings = _rows_by_id(conn, "exec_cfg")
            rows = [
                (table, dict(row))
                for table in sorted(_tables(conn) - SHARED_TABLES)
                if {"gen_cfg_id", "valid_flag", "timestamp"} <= set(_columns(conn, table))
                for row in conn.execute(f'SELECT * FROM "{_quoted(table)}"')
            ]
    except sqlite3.Error as err:
        raise DatabaseError(f"cannot read the LUTE database {path}: {err}") from err
    rows.sort(key=lambda item: (str(item[1].get("timestamp")), item[0], item[1].get("id") or 0))
    for table, row in rows:
        yield _record(table, row, headers, settings)


def lute_run_id(task: str, row: dict[str, Any], header: dict[str, Any]) -> str:
    """The run id lute gives a LUTE row: the same for the same row, read after read.

    The Task, row id, time and header make it unique across LUTE databases,
    so two experiments' databases imported into one do not collide.
    """
    identity = json.dumps([task, row.get("id"), row.get("timestamp"), header], default=str)
    return RUN_ID_PREFIX + hashlib.sha256(identity.encode()).hexdigest()[:27]


def _record(
    task: str,
    row: dict[str, Any],
    headers: dict[Any, dict[str, Any]],
    settings: dict[Any, dict[str, Any]],
) -> RunRecord:
    header_row = headers.get(row.get("gen_cfg_id"), {})
    header = {
        name: None if header_row.get(name) is None else redact_text(str(header_row[name]))
        for name in HEADER_FIELDS
    }
    run_id = lute_run_id(task, row, header)
    parameters = {
        name: value
        for name, value in row.items()
        if name not in LUTE_BOOKKEEPING and name not in RESULT_COLUMNS
    }
    columns = parameter_columns(parameters)
    values: dict[str, Any] = {
        columns[name]: storable(redact_value(name, _plain(value)))
        for name, value in parameters.items()
    }
    status = row.get("result.task_status")
    recorded = _posix(row.get("timestamp"))
    values.update(
        {
            "run_id": run_id,
            "attempt": 1,
            "start_time": None,
            "end_time": recorded,
            "result.task_status": status,
            "result.summary": _text(row.get("result.summary")),
            "result.payload": _text(row.get("result.payload")),
            "result.impl_schemas": row.get("result.impl_schemas"),
            "valid_flag": 1 if row.get("valid_flag") == 1 else 0,
        }
    )
    return RunRecord(
        task, run_id, 1, header, _execution(settings.get(row.get("exec_cfg_id"))), values
    )


def _execution(setting: dict[str, Any] | None) -> dict[str, Any]:
    """LUTE's ``NAME=value;...`` environment and ``;``-joined communicators, as lute stores them."""
    setting = setting or {}
    env: dict[str, str] = {}
    for item in str(setting.get("env") or "").split(";"):
        name, sep, value = item.partition("=")
        if sep and name:
            env[name] = redact_value(name, value)
    communicators = [c for c in str(setting.get("communicator_desc") or "").split(";") if c]
    return {
        "env": json.dumps(env, sort_keys=True),
        "communicator_desc": json.dumps(communicators),
    }


def _plain(value: Any) -> Any:
    """A stored value lute can keep: bytes (LUTE's BLOBs) as text when they are text."""
    if isinstance(value, bytes):
        with contextlib.suppress(UnicodeDecodeError):
            return value.decode("utf-8")
        return value.hex()
    return value


def _text(value: Any) -> Any:
    plain = _plain(value)
    return plain if plain is None or isinstance(plain, str) else json.dumps(plain)


def _posix(timestamp: Any) -> float | None:
    """LUTE's ``CURRENT_TIMESTAMP`` text (UTC) as POSIX seconds."""
    if not isinstance(timestamp, str):
        return None
    try:
        when = dt.datetime.fromisoformat(timestamp)
    except ValueError:
        return None
    return when.replace(tzinfo=dt.timezone.utc).timestamp()


@contextlib.contextmanager
def _read_only(path: str | Path) -> Iterator[sqlite3.Connection]:
    """A connection that cannot write: SQLite's ``mode=ro``, opened by URI."""
    uri = f"{Path(path).resolve().as_uri()}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as err:
        raise DatabaseError(f"cannot open {path} read-only: {err}") from err
    conn.row_factory = sqlite3.Row
    try:
        yield conn
    finally:
        conn.close()


def _tables(conn: sqlite3.Connection) -> set[str]:
    query = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    return {row[0] for row in conn.execute(query)}


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f'PRAGMA table_info("{_quoted(table)}")')]


def _rows_by_id(conn: sqlite3.Connection, table: str) -> dict[Any, dict[str, Any]]:
    if table not in _tables(conn):
        return {}
    return {row["id"]: dict(row) for row in conn.execute(f'SELECT * FROM "{table}"')}


def _quoted(name: str) -> str:
    """A table name inside double quotes, as SQLite escapes it."""
    return name.replace('"', '""')
