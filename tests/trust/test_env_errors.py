"""Environment errors: one line saying what and where, exit 2, nothing run.

A database URL no installed SQLAlchemy can use (an unknown scheme, a driver
that is not installed) and a work dir that cannot be a directory are found
before the Task starts: nothing runs, nothing is recorded, and ``lute``
says so in one line (the traceback only with ``--debug``). ``lute db``
refuses the same settings the same way.
"""

from __future__ import annotations

import importlib.util
import logging
import subprocess
from pathlib import Path

import pytest
from conftest import REPO, log_lines, run_lute
from database.helpers import ScanParameters, header, make_run

from lute.db import spool
from lute.db.store import spool_dir, store_run

CONFIG = str(REPO / "config" / "test.yaml")


def _missing_driver_url() -> str:
    for driver, module in (("psycopg2", "psycopg2"), ("pg8000", "pg8000")):
        if importlib.util.find_spec(module) is None:
            return f"postgresql+{driver}://u@h/db"
    pytest.skip("every PostgreSQL driver tried is installed")


def _refused(done: subprocess.CompletedProcess[str], *words: str) -> str:
    """Assert exit 2 with exactly one line of output, holding ``words``; return it."""
    assert done.returncode == 2, done.stderr
    lines = log_lines(done.stderr)
    assert len(lines) == 1, done.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def _nothing_ran(work_dir: Path) -> None:
    assert not (work_dir / "logs").exists()
    assert not (work_dir / "lute.db").exists()
    assert not list(spool.pending(spool_dir(work_dir)))


def test_unknown_database_scheme_is_refused_before_the_task_runs(lute_env, work_dir):
    done = run_lute(["run", "-t", "Tester", "-c", CONFIG], {**lute_env, "LUTE_DB_URL": "foo://x"})

    line = _refused(done, "$LUTE_DB_URL", "foo://x")
    assert line.startswith("ERROR:lute.cli: ")
    assert "foo" in line.split("foo://x", 1)[1]  # names the unknown kind
    _nothing_ran(work_dir)


def test_missing_database_driver_is_refused_before_the_task_runs(lute_env, work_dir):
    url = _missing_driver_url()
    done = run_lute(["run", "-t", "Tester", "-c", CONFIG], {**lute_env, "LUTE_DB_URL": url})

    driver = url.split("+")[1].split(":")[0]
    _refused(done, "$LUTE_DB_URL", url, driver, "not installed")
    _nothing_ran(work_dir)


def test_database_url_from_the_config_header_is_named_as_such(lute_env, work_dir, tmp_path):
    config = tmp_path / "cfg.yaml"
    config.write_text(
        (REPO / "config" / "test.yaml")
        .read_text()
        .replace("task_timeout: 600", "task_timeout: 600\ndb_url: 'nodb://here'")
    )
    done = run_lute(["run", "-t", "Tester", "-c", str(config)], lute_env)

    _refused(done, "db_url", str(config), "nodb://here")
    _nothing_ran(work_dir)


@pytest.mark.parametrize("where", ["file", "below-a-file"])
def test_work_dir_that_cannot_be_a_directory_is_refused(lute_env, tmp_path, where):
    blocker = tmp_path / "blocker"
    blocker.write_text("a regular file\n")
    work = blocker if where == "file" else blocker / "work"
    env = {**lute_env, "LUTE_WORK_DIR": str(work)}

    done = run_lute(["run", "-t", "Tester", "-c", CONFIG], env)

    _refused(done, "work dir", str(work), "directory")
    assert blocker.read_text() == "a regular file\n"


def test_debug_shows_the_traceback_of_a_refused_setting(lute_env, work_dir):
    env = {**lute_env, "LUTE_DB_URL": "foo://x"}
    done = run_lute(["--debug", "run", "-t", "Tester", "-c", CONFIG], env)

    assert done.returncode == 2, done.stderr
    assert "Traceback" in done.stderr and "foo://x" in done.stderr
    _nothing_ran(work_dir)


@pytest.mark.parametrize("action", ["list", "sync"])
def test_lute_db_refuses_an_unusable_database_url(lute_env, work_dir, action):
    for url in ("foo://x", _missing_driver_url()):
        done = run_lute(["db", action], {**lute_env, "LUTE_DB_URL": url})
        _refused(done, "$LUTE_DB_URL", url)
    done = run_lute(["db", action, "--url", "foo://x"], lute_env)
    _refused(done, "--url", "foo://x")


@pytest.mark.parametrize("action", ["list", "sync"])
def test_lute_db_refuses_a_work_dir_that_is_a_file(lute_env, tmp_path, action):
    blocker = tmp_path / "blocker"
    blocker.write_text("a regular file\n")

    done = run_lute(["db", action, "--work-dir", str(blocker)], lute_env)

    _refused(done, "work dir", str(blocker), "not a directory")


def test_a_url_that_does_not_parse_is_spooled_and_said_so(work_dir, caplog):
    """Recording through the API (no preflight): the record is kept, the log is true."""
    run = make_run(ScanParameters(lute_config=header(work_dir)), "Scan")

    with caplog.at_level(logging.WARNING, logger="lute.db"):
        outcome = store_run(run, "not a url", work_dir)

    assert outcome.spool_file is not None and outcome.spool_file.exists()
    assert [r.getMessage() for r in caplog.records if "spooled it to" in r.getMessage()]
    assert "nor spool" not in caplog.text
