"""A run whose record neither the database nor the work dir will take.

The Task still ran, so its records (one when it starts, one when it ends)
must go somewhere: the fallback spool under ``$XDG_STATE_HOME/lute/spool``
(another filesystem, usually), which ``lute db sync`` lands when the
database is back. If even that fails, ``lute run`` exits 3 and says where
it tried.

Places are made unwritable for any user, root included, by putting a
regular file where a directory should be (``ENOTDIR``); when the tests may
mount filesystems (root in CI), a really full tmpfs is used as well.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import REPO, log_lines, require_service, run_lute, task_rows

from lute.db import spool
from lute.db.engine import with_driver

CONFIG = str(REPO / "config" / "test.yaml")


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_lute(["run", "-t", "Tester", "-c", CONFIG], env)


def _errors(stderr: str) -> list[str]:
    return [line for line in log_lines(stderr) if line.startswith(("ERROR", "WARNING"))]


def _statuses(paths: list[Path]) -> list[str]:
    """The status of the record in each fallback file."""
    return [json.loads(p.read_text())["record"]["row"]["result.task_status"] for p in paths]


@pytest.fixture
def blocker(tmp_path: Path) -> Path:
    """A regular file: nothing can be created below it, whoever asks."""
    path = tmp_path / "blocker"
    path.write_text("not a directory\n")
    return path


def test_record_refused_by_database_and_work_dir_lands_from_the_fallback_spool(
    lute_env, work_dir, tmp_path, blocker
):
    (work_dir / "db_spool").write_text("not a directory\n")
    state = tmp_path / "state"
    url = f"sqlite:///{blocker}/lute.db"
    env = {**lute_env, "LUTE_DB_URL": url, "XDG_STATE_HOME": str(state)}

    done = _run(env)

    assert done.returncode == 0, done.stderr
    fallback = state / "lute" / "spool"
    paths = list(spool.pending(fallback))
    assert _statuses(paths) == ["RUNNING", "COMPLETED"]
    warnings = _errors(done.stderr)
    assert len(warnings) == 2, done.stderr
    for path, status, warning in zip(paths, ["RUNNING", "COMPLETED"], warnings, strict=True):
        assert warning.startswith("WARNING:lute.db.store: could not record Test run ")
        assert f" as {status} in {url} (" in warning
        assert f"nor spool it in {work_dir / 'db_spool'} (" in warning
        assert f"spooled it to {path}; run `lute db sync` with the same database" in warning
        spooled = json.loads(path.read_text())
        assert (spooled["db_url"], spooled["work_dir"]) == (url, str(work_dir))
        assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    run_id = spooled["record"]["run_id"]

    other_url = f"sqlite:///{tmp_path / 'other.db'}"
    other = run_lute(["db", "sync", "--url", other_url], {**env, "LUTE_DB_URL": ""})
    assert other.returncode == 0, other.stderr
    assert "landed 0" in other.stdout and "2 for other databases" in other.stdout
    assert all(path.exists() for path in paths)

    blocker.unlink()
    blocker.mkdir()
    synced = run_lute(["db", "sync"], env)

    assert synced.returncode == 0, synced.stderr
    assert "landed 2, already recorded 0, failed 0" in synced.stdout
    [row] = task_rows(blocker / "lute.db", "Test")
    assert (row["run_id"], row["result.task_status"]) == (run_id, "COMPLETED")
    assert not list(spool.pending(fallback))


def test_record_stored_nowhere_exits_3_and_names_every_place_tried(
    lute_env, work_dir, tmp_path, blocker
):
    (work_dir / "db_spool").write_text("not a directory\n")
    url = f"sqlite:///{blocker}/lute.db"
    env = {**lute_env, "LUTE_DB_URL": url, "XDG_STATE_HOME": str(blocker / "state")}

    done = _run(env)

    assert done.returncode == 3, done.stderr  # ran, but recorded nowhere
    assert "Test finished: COMPLETED" in done.stderr  # the Task itself ran
    errors = _errors(done.stderr)
    assert len(errors) == 2, done.stderr  # the record at the start, the one at the end
    for status, error in zip(["RUNNING", "COMPLETED"], errors, strict=True):
        assert error.startswith("ERROR:lute.db.store: could not record Test run ")
        assert f" as {status} (attempt 1) anywhere, so this record is lost: " in error
        assert f"not in the database {url} (" in error
        assert f"nor in {work_dir / 'db_spool'} (" in error
        assert f"nor in the fallback spool {blocker / 'state' / 'lute' / 'spool'} (" in error
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "state").exists()


def test_password_is_not_spooled_and_comes_from_the_environment_at_sync(
    lute_env, work_dir, tmp_path, pg_server
):
    require_service(pg_server is not None, "PostgreSQL (LUTE_TEST_PG_URL or server binaries)")
    (work_dir / "db_spool").write_text("not a directory\n")
    name = f"lute_trust_{os.getpid()}_{tmp_path.name[-8:]}".lower().replace("-", "_")
    url = (
        sa.engine.make_url(pg_server)
        .set(password="s3cret", database=name)
        .render_as_string(hide_password=False)
    )
    env = {**lute_env, "LUTE_DB_URL": url, "XDG_STATE_HOME": str(tmp_path / "state")}

    done = _run(env)  # the database does not exist yet: the write fails

    assert done.returncode == 0, done.stderr
    paths = list(spool.pending(tmp_path / "state" / "lute" / "spool"))
    assert _statuses(paths) == ["RUNNING", "COMPLETED"]
    assert "s3cret" not in done.stderr
    for path in paths:
        assert "s3cret" not in path.read_text()
        assert json.loads(path.read_text())["db_url"] == url.replace(":s3cret", "")
    admin = sa.create_engine(with_driver(pg_server), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        synced = run_lute(["db", "sync"], env)
        assert synced.returncode == 0, synced.stderr
        assert "landed 2, already recorded 0, failed 0" in synced.stdout
        listed = run_lute(["db", "list"], env)
        assert "COMPLETED" in listed.stdout, listed.stderr
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def full_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs, filled up; skipped where this user may not mount."""
    mount = tmp_path / "full"
    mount.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        with (mount / "filler").open("wb", buffering=0) as handle:
            try:
                while True:
                    handle.write(b"\0" * 4096)
            except OSError:
                pass  # full: what this fixture is for
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def test_work_dir_on_a_full_filesystem_spools_to_home_and_lands_later(
    lute_env, tmp_path, full_filesystem
):
    work = full_filesystem / "work"
    work.mkdir()
    home = tmp_path / "home"
    env = {**lute_env, "LUTE_WORK_DIR": str(work), "HOME": str(home)}
    env.pop("XDG_STATE_HOME", None)

    done = _run(env)

    assert done.returncode == 0, done.stderr
    fallback = home / ".local" / "state" / "lute" / "spool"
    paths = list(spool.pending(fallback))
    assert _statuses(paths) == ["RUNNING", "COMPLETED"]
    stored = [line for line in _errors(done.stderr) if line.startswith("WARNING:lute.db.store")]
    for path, warning in zip(paths, stored, strict=True):
        assert f"spooled it to {path}" in warning
        assert "No space left on device" in warning

    (full_filesystem / "filler").unlink()
    synced = run_lute(["db", "sync"], env)

    assert synced.returncode == 0, synced.stderr
    assert "landed 2, already recorded 0, failed 0" in synced.stdout
    [row] = task_rows(work / "lute.db", "Test")
    assert row["result.task_status"] == "COMPLETED"
    assert not list(spool.pending(fallback))
