"""Copying a LUTE database's runs into a lute database, for keeps or for one read.

``import_lute_database`` is ``lute db import``: every run of a LUTE file
(``lute.db.lute_compat``) is written to a lute database as the record lute
would have made, under a run id derived from the LUTE row, so importing the
same file twice (or a LUTE file that has grown since) adds only what is new.

``lute_database_copy`` serves readers (``lute db list|show``,
``read_latest_db_entry``, ``get_result``) pointed at a LUTE file: the runs
are copied into a private in-memory lute database, built once per version
of the file in a process, and the LUTE file is only ever read. The copy
refuses writes, so ``lute db invalidate`` cannot seem to change a file it
would not change.
"""

from __future__ import annotations

import functools
import hashlib
import sqlite3
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from lute.core.exceptions import ConfigurationError
from lute.db.engine import redacted, sqlite_path
from lute.db.lute_compat import is_lute_database, read_lute_runs
from lute.db.schema import Database, open_database


@dataclass(frozen=True)
class ImportReport:
    """What ``import_lute_database`` did.

    Attributes:
        source: The LUTE database read.
        target: The lute database written (URL, password masked).
        imported: Runs written by this import.
        already_there: Runs found already imported.
    """

    source: str
    target: str
    imported: int
    already_there: int


def import_lute_database(source: str | Path, url: str) -> ImportReport:
    """Copy every run of the LUTE database ``source`` into the lute database at ``url``.

    Raises:
        ConfigurationError: ``source`` is not a LUTE database, or ``url`` is
            one (lute writes nothing into a LUTE database) or is ``source``.
        DatabaseError: Either database cannot be read or written.
    """
    path = Path(source)
    if not is_lute_database(path):
        raise ConfigurationError(f"{path} is not a LUTE database (no LUTE gen_cfg table)")
    target = sqlite_path(url)
    if target is not None and target.exists() and target.resolve() == path.resolve():
        raise ConfigurationError(f"{path}: import it into another database, not into itself")
    database = open_database(url)
    imported = already = 0
    for record in read_lute_runs(path):
        _row, created = database.write(record)
        imported += created
        already += not created
    return ImportReport(str(path), redacted(url), imported, already)


def lute_database_copy(path: Path, url: str) -> Database:
    """A read-only lute database holding the runs of the LUTE file at ``path``.

    Args:
        path: The LUTE database file.
        url: Its URL, which messages about the copy name.

    Raises:
        DatabaseError: The LUTE file cannot be read.
    """
    state = path.stat()
    return _copy(str(path.resolve()), state.st_mtime_ns, state.st_size, url)


@functools.lru_cache(maxsize=4)
def _copy(path: str, mtime_ns: int, size: int, url: str) -> Database:
    """The in-memory copy of one version of a LUTE file (the cache key says which)."""
    name = "lute-copy-" + hashlib.sha256(f"{path}\0{mtime_ns}\0{size}".encode()).hexdigest()[:16]
    memory = f"file:{name}?mode=memory&cache=shared"
    keeper = sqlite3.connect(memory, uri=True)  # the memory database lives while one is open
    with warnings.catch_warnings():
        # SQLAlchemy 2.1 announces a pool change for memory URLs; the keeper
        # connection holds the database either way.
        warnings.filterwarnings(
            "ignore", "Selection of the SingletonThreadPool", DeprecationWarning
        )
        database = Database(f"sqlite:///{memory}&uri=true")
    for record in read_lute_runs(path):
        database.write(record)
    database.url = url
    database.keeper = keeper  # type: ignore[attr-defined]
    sa.event.listen(database.engine, "begin", functools.partial(_refuse_writes, path=path))
    return database


def _refuse_writes(conn: Any, path: str) -> None:
    if conn.get_execution_options().get("lute_write"):
        raise ConfigurationError(
            f"{path} is a LUTE database, which lute only reads; `lute db import {path}`"
            " copies its runs into a lute database, where they can be changed"
        )
