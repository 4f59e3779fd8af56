"""Compatibility path kept for code written against LUTE or earlier lute.

Everything here now lives in ``lute.db``; import it from there in new code.
"""

from lute.db import (
    DatabaseError,
    database_url,
    open_database,
    read_latest_db_entry,
    record_analysis,
    store_run,
    sync_spool,
)

__all__ = [
    "DatabaseError",
    "database_url",
    "open_database",
    "read_latest_db_entry",
    "record_analysis",
    "store_run",
    "sync_spool",
]
