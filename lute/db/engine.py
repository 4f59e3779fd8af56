"""Which database to use and how to connect to it.

The URL comes from ``$LUTE_DB_URL``, else the config header, else a SQLite
file in the work dir, so a run and ``lute db`` find the same database
without being told twice.

On SQLite, writers take the lock when their transaction begins (``BEGIN
IMMEDIATE``): a transaction that read first and wrote later could fail at
once, without waiting, when another process wrote in between. The busy
timeout (``$LUTE_DB_TIMEOUT`` seconds) bounds every wait for a lock, and on
PostgreSQL every wait to connect as well; past it the write fails and the
caller spools the record (see ``lute.db.store.store_run``).
"""

from __future__ import annotations

import difflib
import functools
import importlib.util
import math
import os
import re
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from lute.core.exceptions import ConfigurationError
from lute.core.settings import env_number
from lute.db.location import ENV_DB_URL

ENV_DB_TIMEOUT = "LUTE_DB_TIMEOUT"
DEFAULT_TIMEOUT_S = 30.0
DB_FILE = "lute.db"


def database_url(work_dir: str | os.PathLike[str], configured: str | None = None) -> str:
    """The URL to use: ``$LUTE_DB_URL``, else the header's, else SQLite in work_dir."""
    url = os.environ.get(ENV_DB_URL) or configured
    if url:
        return url
    return f"sqlite:///{Path(work_dir).resolve() / DB_FILE}"


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or ``None`` for other databases and ``:memory:``.

    A string that is not a URL has no file either; opening it says why
    (``check_url``).
    """
    parsed = _parsed(url)
    if parsed is None or parsed.get_backend_name() != "sqlite":
        return None
    if parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _parsed(url: str) -> sa.engine.URL | None:
    """``url`` parsed, or ``None`` if it is not a URL."""
    try:
        return sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        return None


_PASSWORD = re.compile(r"(://[^/@:]*:)[^/@]*@")


def redacted(url: str) -> str:
    """``url`` with its password masked, for messages and logs; never raises.

    A string that is not a URL at all is shown with anything that looks
    like ``user:password@`` masked, so a message about it is still written.
    """
    parsed = _parsed(url)
    if parsed is None:
        return _PASSWORD.sub(r"\1***@", url)
    return parsed.render_as_string(hide_password=True)


def without_password(url: str) -> str:
    """``url`` with no password at all: what may be written to disk about it.

    Raises:
        sqlalchemy.exc.ArgumentError: ``url`` is not a URL.
    """
    parsed = sa.engine.make_url(url)
    return parsed._replace(password=None).render_as_string(hide_password=False)


def check_url(url: str, origin: str) -> None:
    """Refuse a URL no installed SQLAlchemy dialect and driver can use.

    Args:
        url: The database URL.
        origin: Where it came from (``$LUTE_DB_URL``, ``--url``...), for the message.

    Raises:
        ConfigurationError: One line naming ``origin``, the URL (password
            masked) and what is missing.
    """
    shown = redacted(url)
    try:
        parsed = sa.engine.make_url(with_driver(url))
    except sa.exc.ArgumentError as err:
        raise ConfigurationError(
            f"{origin}: {shown!r} is not a database URL "
            "(e.g. sqlite:////path/lute.db or postgresql://user@host/dbname)"
        ) from err
    try:
        dialect = parsed.get_dialect()
    except sa.exc.NoSuchModuleError as err:
        backend = parsed.get_backend_name()
        if backend in sa.dialects.__all__:
            what = f"has no driver {parsed.get_driver_name()!r} for {backend}"
        else:
            close = difflib.get_close_matches(backend, sa.dialects.__all__, n=1)
            hint = f"did you mean {close[0]}://?" if close else "e.g. sqlite:////path/lute.db"
            what = f"knows no database {backend!r} ({hint})"
        raise ConfigurationError(f"{origin}: {shown}: SQLAlchemy {what}") from err
    try:
        dialect.import_dbapi()
    except ImportError as err:
        hint = "; pip install 'lute[postgres]'" if parsed.get_backend_name() == "postgresql" else ""
        raise ConfigurationError(
            f"{origin}: {shown} needs the driver {parsed.get_driver_name()}, which is not "
            f"installed here ({err}){hint}"
        ) from err


def lock_timeout() -> float:
    """Seconds a write may wait for a lock (``$LUTE_DB_TIMEOUT``, default 30).

    Raises:
        ConfigurationError: The variable is set but is not a positive number.
    """
    return env_number(os.environ, ENV_DB_TIMEOUT, DEFAULT_TIMEOUT_S)


def with_driver(url: str) -> str:
    """``url`` with an installed PostgreSQL driver named when it names none.

    ``postgresql://`` means psycopg2 to SQLAlchemy 2.0 and psycopg (3) to
    2.1; users should not have to know which one their SQLAlchemy picks or
    which one is installed.
    """
    parsed = _parsed(url)
    if parsed is None or parsed.drivername != "postgresql":
        return url
    for module, driver in (("psycopg", "postgresql+psycopg"), ("psycopg2", "postgresql+psycopg2")):
        if importlib.util.find_spec(module) is not None:
            return parsed.set(drivername=driver).render_as_string(hide_password=False)
    return url


def get_engine(url: str) -> Engine:
    """The engine for ``url`` in this process, with the current lock timeout."""
    return _engine(with_driver(url), lock_timeout())


_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()
"""Every engine of this process, for ``_close_connections_before_fork``."""


def _close_connections_before_fork() -> None:
    """Close the pooled connections before this process forks (a Task forked from its Executor).

    SQLite keeps per-process state about the files it has open (their locks,
    the WAL index): a child that inherits an open connection, and then opens
    the same file again, works from its parent's state and fails ("locking
    protocol"). SQLite's rule is that no connection crosses a ``fork``; so
    the pools are emptied first, and each process opens its own afterwards
    (milliseconds for SQLite; the Executor needs one connection after the
    fork, to record the run).
    """
    for engine in list(_ENGINES):
        engine.dispose()


os.register_at_fork(before=_close_connections_before_fork)


@functools.lru_cache(maxsize=16)
def _engine(url: str, timeout: float) -> Engine:
    engine = _new_engine(url, timeout)
    _ENGINES.add(engine)
    return engine


def _new_engine(url: str, timeout: float) -> Engine:
    check_url(url, "database URL")
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
