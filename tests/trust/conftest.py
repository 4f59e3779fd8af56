"""Fixtures of the trust tests: the database backends of ``tests/database``.

``db_url`` runs a test body on SQLite and on PostgreSQL, as there.
"""

from database.conftest import db_url, pg_server, pg_url

__all__ = ["db_url", "pg_server", "pg_url"]
