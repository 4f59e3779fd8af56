"""``DatabaseTrigger``: rows that come to match a condition in a table.

Any SQLAlchemy URL works; the main use is lute's own run database: "when
a ``TestWriteOutput`` run is recorded COMPLETED, start ``ReadTester``" is a
trigger on the table ``TestWriteOutput`` with the condition
``"result.task_status" = 'COMPLETED'``.

The table is polled every ``poll_interval`` seconds (databases do not
notify portably). Each poll reads the keys of the rows that match, and
only the rows whose key is new are read whole and reported, each once. A
row that matches only later (a run recorded RUNNING, then COMPLETED) is
reported when it first matches. Rows are keyed by their primary key, or by
``key_columns``.

Row values reach launches as ``{{ trigger.row.<column> }}``; a column
named with dots, as lute's flattened parameters are (``result.payload``,
``compound_var.int_var``), is nested, so it reads the same way. A row of a
lute Task table also carries its config header as ``lute_config``, which
is where its run number is.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from lute.db.engine import redacted, sqlite_path, with_driver
from lute.db.errors import failure_reason
from lute.triggers.base import BaseTrigger, Emit, TriggerEvent, utc_now

logger = logging.getLogger(__name__)

_QUOTED = re.compile(r"'(?:[^']|'')*'|\"(?P<name>(?:[^\"]|\"\")*)\"")
"""A single-quoted string (skipped) or a double-quoted name."""
HEADER_TABLE = "gen_cfg"
"""Where lute keeps config headers; a Task table points there by ``gen_cfg_id``."""


class DatabaseTrigger(BaseTrigger):
    r"""Fires for each new row of ``table_name`` that satisfies every where clause.

    Args:
        db_url: SQLAlchemy URL of the database.
        table_name: The table to watch.
        where_clauses: SQL conditions, all of which a row must satisfy
            (``["valid_flag = 1", "\"result.task_status\" = 'COMPLETED'"]``).
            They are the trigger author's own SQL, run as written.
        poll_interval: Seconds between polls.
        trigger_after_n: Rows per ``observe`` callback (Covalent's name for
            a batch size).
        key_columns: Columns that identify a row; default the primary key.
        catch_up: Whether rows already matching when watching starts fire
            (otherwise only rows that match later do).

    Raises:
        ValueError: ``poll_interval`` or ``trigger_after_n`` is not positive.
    """

    type_name = "database"

    def __init__(
        self,
        db_url: str,
        table_name: str,
        where_clauses: Sequence[str] | None = None,
        poll_interval: float = 1,
        trigger_after_n: int = 1,
        *,
        key_columns: Sequence[str] | None = None,
        catch_up: bool = False,
    ) -> None:
        super().__init__(trigger_after_n)
        if not poll_interval > 0:
            raise ValueError(f"poll_interval must be positive, got {poll_interval}")
        self.db_url = db_url
        self.table_name = table_name
        self.where_clauses = tuple(where_clauses or ())
        self.poll_interval = float(poll_interval)
        self.key_columns = tuple(key_columns) if key_columns else None
        self.catch_up = catch_up
        self._engine: Engine | None = None
        self._table: sa.Table | None = None
        self._seen: set[str] = set()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._waiting_logged = False

    @property
    def trigger_after_n(self) -> int:
        """Rows per ``observe`` callback."""
        return self.batch_size

    def _parameters(self) -> dict[str, Any]:
        return {
            "db_url": self.db_url,
            "table_name": self.table_name,
            "where_clauses": list(self.where_clauses),
            "poll_interval": self.poll_interval,
            "trigger_after_n": self.batch_size,
            "key_columns": None if self.key_columns is None else list(self.key_columns),
            "catch_up": self.catch_up,
        }

    def mark_seen(self, keys: Sequence[str]) -> None:
        """Treat rows with these keys as already reported (``lute watch`` passes its ledger's)."""
        self._seen.update(keys)

    # -- the table

    @property
    def engine(self) -> Engine:
        """The engine of the watched database (created on first use)."""
        if self._engine is None:
            self._engine = sa.create_engine(with_driver(self.db_url), pool_pre_ping=True)
        return self._engine

    def check(self) -> bool:
        """Whether the table is there, having checked the where clauses compile against it.

        Returns:
            False if the table does not exist (yet): nothing can be checked.

        Raises:
            ValueError: A where clause does not compile, or no key columns.
            sqlalchemy.exc.SQLAlchemyError: The database cannot be reached.
        """
        table = self._reflect()
        if table is None:
            return False
        with self.engine.connect() as conn:
            for clause in self.where_clauses:
                if conn.dialect.name == "sqlite":
                    _check_quoted_names(clause, table)
                probe = sa.select(sa.literal(1)).select_from(table).where(sa.text(clause)).limit(0)
                try:
                    conn.execute(probe)
                except sa.exc.DBAPIError as err:
                    conn.rollback()
                    raise ValueError(failure_reason(err)) from err
        return True

    def _reflect(self) -> sa.Table | None:
        if self._table is not None:
            return self._table
        path = sqlite_path(self.db_url)
        if path is not None and not path.exists():
            return None  # connecting would create an empty database file
        if not sa.inspect(self.engine).has_table(self.table_name):
            return None
        table = sa.Table(self.table_name, sa.MetaData(), autoload_with=self.engine)
        keys = self.key_columns or tuple(column.name for column in table.primary_key.columns)
        if not keys:
            raise ValueError(f"table {self.table_name!r} has no primary key: give key_columns")
        missing = [name for name in keys if name not in table.c]
        if missing:
            raise ValueError(f"table {self.table_name!r} has no column {missing[0]!r}")
        self.key_columns = tuple(keys)
        self._table = table
        return table

    def _key(self, values: Sequence[Any]) -> str:
        assert self.key_columns is not None
        return ";".join(f"{c}={v}" for c, v in zip(self.key_columns, values, strict=True))

    # -- polling

    def scan(self) -> list[TriggerEvent]:
        """Rows matching now whose keys are new, each reported once, in key order."""
        table = self._reflect()
        if table is None:
            return []
        assert self.key_columns is not None
        keys = [table.c[name] for name in self.key_columns]
        query = sa.select(*keys).order_by(*keys)
        for clause in self.where_clauses:
            query = query.where(sa.text(clause))
        with self.engine.connect() as conn:
            fresh = [tuple(r) for r in conn.execute(query) if self._key(tuple(r)) not in self._seen]
            events = []
            for start in range(0, len(fresh), 200):
                events.extend(self._read_rows(conn, table, fresh[start : start + 200]))
        self._seen.update(event.key for event in events)
        return events

    def _read_rows(
        self, conn: sa.Connection, table: sa.Table, keys: list[tuple[Any, ...]]
    ) -> list[TriggerEvent]:
        assert self.key_columns is not None
        columns = [table.c[name] for name in self.key_columns]
        query = sa.select(table).where(sa.tuple_(*columns).in_(keys)).order_by(*columns)
        rows = [dict(row._mapping) for row in conn.execute(query)]
        headers = self._headers(conn, table, rows)
        now = utc_now()
        events = []
        for row in rows:
            values = nest({name: plain(value) for name, value in row.items()})
            header = headers.get(row.get("gen_cfg_id"))
            if header is not None:
                values["lute_config"] = header
            key = self._key([row[name] for name in self.key_columns])
            events.append(TriggerEvent("row", key, now, row=values))
        return events

    def _headers(
        self, conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]
    ) -> dict[Any, dict[str, Any]]:
        """Config headers of a lute Task table's rows, by ``gen_cfg_id``."""
        ids = {row.get("gen_cfg_id") for row in rows} - {None}
        if "gen_cfg_id" not in table.c or not ids:
            return {}
        if not sa.inspect(conn).has_table(HEADER_TABLE):
            return {}
        headers = sa.Table(HEADER_TABLE, sa.MetaData(), autoload_with=conn)
        found = conn.execute(sa.select(headers).where(headers.c.id.in_(ids)))
        return {
            row.id: {k: plain(v) for k, v in row._mapping.items() if k not in ("id", "digest")}
            for row in found
        }

    def _start(self, emit: Emit) -> None:
        self._stopping.clear()
        if not self.catch_up:
            # Rows matching before observe() returns are the baseline, not news.
            self._poll(lambda _event: None)
        self._thread = threading.Thread(
            target=self._run, args=(emit,), name=f"poll {self.table_name}", daemon=True
        )
        self._thread.start()

    def _run(self, emit: Emit) -> None:
        while True:
            self._poll(emit)
            if self._stopping.wait(self.poll_interval):
                return

    def _poll(self, emit: Emit) -> None:
        """One poll: emit each new matching row.

        A database that cannot be read is retried at the next poll. A where
        clause that does not compile against a table that appeared after
        watching started can never work: it is reported once, and this
        trigger stops polling.
        """
        try:
            if self._table is None and not self.check():
                if not self._waiting_logged:
                    logger.info("table %r does not exist yet; waiting for it", self.table_name)
                    self._waiting_logged = True
                return
            for event in self.scan():
                emit(event)
        except ValueError as err:
            logger.error("table %r: %s; no longer polling it", self.table_name, err)
            self._stopping.set()
        except sa.exc.SQLAlchemyError as err:
            logger.error(
                "polling %s table %r failed: %s",
                redacted(self.db_url),
                self.table_name,
                failure_reason(err),
            )

    def _halt(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.close()

    def close(self) -> None:
        """Let go of the database's connections (watching opens them again)."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


class SQLiteTrigger(DatabaseTrigger):
    """A ``DatabaseTrigger`` on a SQLite file (Covalent's name for that case).

    Args:
        db_path: The database file.
        table_name, where_clauses, poll_interval, trigger_after_n,
        key_columns, catch_up: As for ``DatabaseTrigger``.
    """

    type_name = "sqlite"

    def __init__(
        self,
        db_path: str | os.PathLike[str],
        table_name: str,
        where_clauses: Sequence[str] | None = None,
        poll_interval: float = 1,
        trigger_after_n: int = 1,
        *,
        key_columns: Sequence[str] | None = None,
        catch_up: bool = False,
    ) -> None:
        self.db_path = str(Path(db_path).expanduser().resolve())
        super().__init__(
            f"sqlite:///{self.db_path}",
            table_name,
            where_clauses,
            poll_interval,
            trigger_after_n,
            key_columns=key_columns,
            catch_up=catch_up,
        )

    def _parameters(self) -> dict[str, Any]:
        parameters = super()._parameters()
        del parameters["db_url"]
        return {"db_path": self.db_path, **parameters}


def _check_quoted_names(clause: str, table: sa.Table) -> None:
    """Refuse a double-quoted name that is not a column of ``table``.

    SQLite reads a double-quoted name it cannot resolve as a string, so
    ``"result.task_stats" = 'COMPLETED'`` compiles and never matches: a typo
    would make a trigger that silently never fires.

    Raises:
        ValueError: Naming the clause and the name.
    """
    columns = {column.name.lower() for column in table.columns}
    for name in _double_quoted(clause):
        if name.lower() not in columns:
            raise ValueError(
                f'no column "{name}" in table {table.name!r}'
                " (SQLite would read the quoted name as a string)"
            )


def _double_quoted(clause: str) -> list[str]:
    """The double-quoted names in an SQL text, outside single-quoted strings."""
    names = []
    for match in _QUOTED.finditer(clause):
        if match.group("name") is not None:
            names.append(match.group("name").replace('""', '"'))
    return names


def plain(value: Any) -> Any:
    """A column value as YAML and JSON can carry it (times as ISO text)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    """``{"a.b": 1, "c": 2}`` as ``{"a": {"b": 1}, "c": 2}``, so dotted names resolve.

    A name that clashes with another (a column ``a`` beside ``a.b``) is
    kept under its full name, and never replaces what is already there.
    """
    nested: dict[str, Any] = {}
    for name, value in flat.items():
        node: dict[str, Any] | None = nested
        *parents, leaf = name.split(".")
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                node = None
                break
            node = child
        if node is None or isinstance(node.get(leaf), dict):
            nested.setdefault(name, value)
        else:
            node[leaf] = value
    return nested
