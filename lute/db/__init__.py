"""The run database: every managed task's record, written safely and read back.

Users and downstream Tasks import from here; lute's own code imports from
the modules, which each hold one concern:

* ``engine``: which database (``$LUTE_DB_URL``, the header, SQLite in the
  work dir) and how to connect and lock.
* ``records``: what a run's record is (flattened parameters, plain values).
* ``columns`` and ``ddl``: column types for values, and schema changes.
* ``schema``: the tables and writing one run into them (``Database``).
* ``spool`` and ``store``: recording a run, or spooling it when the
  database refuses it, and landing the spool later.
* ``latest`` and ``results``: reading values and whole runs back.

This package imports only ``lute.core``: it sits below configuration and
execution, which both use it.
"""

from lute.db.engine import database_url, get_engine, write_transaction
from lute.db.errors import DatabaseError
from lute.db.latest import read_latest_db_entry
from lute.db.records import RunRecord, describe_run
from lute.db.results import (
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

__all__ = [
    "Database",
    "DatabaseError",
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
