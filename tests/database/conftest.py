"""Database fixtures: every test body runs against SQLite and PostgreSQL.

PostgreSQL comes from ``$LUTE_TEST_PG_URL`` (``.ci/setup-postgres.sh`` sets it
in CI) or, when that is unset but the server binaries are installed, from a
throwaway server this session starts with the same script and stops at the
end. Each test gets a database of its own on that server. Without a server
the PostgreSQL variants skip by hand and fail in CI (``require_service``).
Every test has a fallback spool of its own, so that ``lute db sync`` never
reads (or lands) the records of the user running the tests.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import REPO, require_service

from lute.db.engine import with_driver

SETUP_SCRIPT = REPO / ".ci" / "setup-postgres.sh"
EXPORT_PREFIX = "export LUTE_TEST_PG_URL="


def _pg_bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(candidates[-1]).parent if candidates else None


@pytest.fixture(autouse=True)
def private_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fallback spool of the test's own (``$XDG_STATE_HOME``), never the user's."""
    state = tmp_path / "xdg-state"
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    return state


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str | None]:
    """URL of a PostgreSQL server to create test databases on, or None."""
    configured = os.environ.get("LUTE_TEST_PG_URL")
    if configured:
        yield configured
        return
    bindir = _pg_bindir()
    if bindir is None:
        yield None
        return
    data = Path(tempfile.mkdtemp(prefix="lute-pg-"))
    env = {**os.environ, "LUTE_PG_DATA": str(data), "LUTE_PG_NO_INSTALL": "1"}
    started = subprocess.run(
        ["bash", str(SETUP_SCRIPT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    lines = [ln for ln in started.stdout.splitlines() if ln.startswith(EXPORT_PREFIX)]
    if started.returncode != 0 or len(lines) != 1:
        sys.stderr.write(f"could not start PostgreSQL:\n{started.stderr}\n")
        yield None
        return
    try:
        yield lines[0].removeprefix(EXPORT_PREFIX)
    finally:
        as_server = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        stop = ["-D", str(data / "cluster"), "-m", "fast", "-w", "stop"]
        subprocess.run(
            [*as_server, str(bindir / "pg_ctl"), *stop],
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: str | None) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    require_service(pg_server is not None, "PostgreSQL (LUTE_TEST_PG_URL or server binaries)")
    assert pg_server is not None
    name = f"lute_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(
        with_driver(pg_server), isolation_level="AUTOCOMMIT", poolclass=sa.NullPool
    )
    quoted = admin.dialect.identifier_preparer.quote(name)
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {quoted}")
    try:
        yield sa.engine.make_url(pg_server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, work_dir: Path) -> str:
    """The run database URL of one test, on each backend in turn."""
    if request.param == "sqlite":
        return f"sqlite:///{work_dir / 'lute.db'}"
    return request.getfixturevalue("pg_url")
