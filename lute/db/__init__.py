"""The run database: every managed task's record, written safely and read back.

Users and downstream Tasks import from here; lute's own code imports from
the modules, which each hold one concern:

* ``location``: whether a run's work dir and database URL can be used at
  all, checked before the Task starts.
* ``engine``: which database (``$LUTE_DB_URL``, the header, SQLite in the
  work dir) and how to connect and lock.
* ``records``: what a run's record is (flattened parameters, plain values)
  and the parameter -> column mapping.
* ``columns`` and ``ddl``: column types for values, and schema changes.
* ``schema``: the tables and writing one run into them (``Database``).
* ``spool``, ``fallback`` and ``store``: recording a run, or spooling it
  when the database refuses it, and landing the spool later.
* ``latest`` and ``results``: reading values and whole runs back.

This package imports only ``lute.core``: it sits below configuration and
execution, which both use it. The names below are imported on first use,
so that code needing only ``location`` (the Executor, before its Task
starts) does not wait for SQLAlchemy to load.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lute.db.engine import database_url, get_engine, write_transaction
    from lute.db.errors import DatabaseError
    from lute.db.latest import read_latest_db_entry
    from lute.db.records import RunRecord, describe_run
    from lute.db.results import (
        RecordedProgress,
        Result,
        RunSummary,
        UnknownRunError,
        export_results,
        find_run,
        get_result,
        invalidate_run,
        list_runs,
        load_result,
        parameter_history,
        resolve_database,
    )
    from lute.db.schema import Database, open_database
    from lute.db.store import (
        StoreOutcome,
        SyncReport,
        record_analysis,
        spool_dir,
        store_run,
        sync_spool,
    )

_HOMES = {
    "Database": "lute.db.schema",
    "DatabaseError": "lute.db.errors",
    "RecordedProgress": "lute.db.results",
    "Result": "lute.db.results",
    "RunRecord": "lute.db.records",
    "RunSummary": "lute.db.results",
    "StoreOutcome": "lute.db.store",
    "SyncReport": "lute.db.store",
    "UnknownRunError": "lute.db.results",
    "database_url": "lute.db.engine",
    "describe_run": "lute.db.records",
    "export_results": "lute.db.results",
    "find_run": "lute.db.results",
    "get_engine": "lute.db.engine",
    "get_result": "lute.db.results",
    "invalidate_run": "lute.db.results",
    "list_runs": "lute.db.results",
    "load_result": "lute.db.results",
    "open_database": "lute.db.schema",
    "parameter_history": "lute.db.results",
    "read_latest_db_entry": "lute.db.latest",
    "record_analysis": "lute.db.store",
    "resolve_database": "lute.db.results",
    "spool_dir": "lute.db.store",
    "store_run": "lute.db.store",
    "sync_spool": "lute.db.store",
    "write_transaction": "lute.db.engine",
}
"""Public name -> the module that defines it."""

__all__ = [
    "Database",
    "DatabaseError",
    "RecordedProgress",
    "Result",
    "RunRecord",
    "RunSummary",
    "StoreOutcome",
    "SyncReport",
    "UnknownRunError",
    "database_url",
    "describe_run",
    "export_results",
    "find_run",
    "get_engine",
    "get_result",
    "invalidate_run",
    "list_runs",
    "load_result",
    "open_database",
    "parameter_history",
    "read_latest_db_entry",
    "record_analysis",
    "resolve_database",
    "spool_dir",
    "store_run",
    "sync_spool",
    "write_transaction",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module the first time the name is used."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
