"""Fixtures of the trust tests: the database backends of ``tests/database``.

``db_url`` runs a test body on SQLite and on PostgreSQL, as there, and every
test gets a fallback spool of its own (``private_state``).
"""

from database.conftest import db_url, pg_server, pg_url, private_state

__all__ = ["db_url", "pg_server", "pg_url", "private_state"]
