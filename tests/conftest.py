"""Shared fixtures: a private work dir per test and a real ``lute`` process.

Every test that runs a managed task starts the real CLI in a subprocess with
the repository on ``PYTHONPATH``, so it works from any checkout or worktree.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
LOG_STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_service(available: bool, what: str) -> None:
    """Skip when a service is missing by hand; fail in CI, where it must exist."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required in CI but is not available")
    pytest.skip(f"{what} is not available")


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def lute_env(work_dir: Path) -> dict[str, str]:
    """Environment for child processes: this checkout first, isolated work dir."""
    return child_env(work_dir)


def child_env(work_dir: Path) -> dict[str, str]:
    """``lute_env`` for fixtures of a wider scope than one test."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["LUTE_WORK_DIR"] = str(work_dir)
    for name in ("LUTE_DB_URL", "EXPERIMENT", "RUN_NUM", "LUTE_SOCKET", "LUTE_IPC_KEY"):
        env.pop(name, None)
    return env


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch, work_dir: Path) -> Path:
    """Run executors here: children import this checkout; no outside database."""
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    )
    for name in ("LUTE_DB_URL", "LUTE_SOCKET", "LUTE_IPC_KEY", "LUTE_CONFIGPATH"):
        monkeypatch.delenv(name, raising=False)
    return work_dir


def write_config(path: Path, tasks: dict[str, Any], header: dict[str, Any] | None = None) -> Path:
    """Write a two-document lute config."""
    header = {"title": "test", "experiment": "xpptest", "run": 7, **(header or {})}
    path.write_text(yaml.safe_dump_all([header, tasks], sort_keys=False))
    return path


def run_python(
    args: list[str], env: dict[str, str], timeout: float = 120, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """Run ``python ARGS`` (this interpreter) to completion, output captured as text."""
    return subprocess.run(
        [sys.executable, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kwargs,
    )


def run_lute(
    args: list[str], env: dict[str, str], timeout: float = 120, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m lute ARGS`` to completion."""
    return run_python(["-m", "lute", *args], env, timeout, **kwargs)


def task_rows(db_path: Path, table: str) -> list[dict[str, Any]]:
    """All rows of a Task table, read with the standard library only."""
    if not db_path.exists():
        return []
    with sqlite3.connect(db_path) as conn:
        conn.row_factory = sqlite3.Row
        exists = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (table,)
        ).fetchone()
        if not exists:
            return []
        return [dict(row) for row in conn.execute(f'SELECT * FROM "{table}" ORDER BY id')]


def log_lines(text: str) -> list[str]:
    """The lines of lute's log output without their timestamps (``LEVEL:logger: message``)."""
    return [LOG_STAMP.sub("", line) for line in text.strip().splitlines()]


def pip_install_copy(source: Path, root: Path) -> Path:
    """Install the package at ``source`` with pip into ``root/site``; return that directory.

    The source is copied first, because a build leaves files behind in it.
    """
    copy = shutil.copytree(source, root / "src")
    site = root / "site"
    subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--no-build-isolation",
            "--no-deps", "--no-compile", "--disable-pip-version-check", "--target", str(site),
            str(copy),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )  # fmt: skip
    return site
