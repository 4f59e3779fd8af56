"""A real run database for the report tests: runs of several Tasks and two workflow runs.

Built once per module with the real ``lute`` command: a Test run whose
parameter and header hold markup, a failing Test run, a WriteTester run, a
workflow run whose middle node fails (so its graph has COMPLETED, FAILED
and not-run nodes) and one that completes.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from conftest import child_env, require_service, run_lute, write_config

HOSTILE_PARAM = "<script>alert(1)</script>"
HOSTILE_RUN = "<img src=x onerror=alert(2)>"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DAG = {
    "task_name": "WriteTester",
    "name": "A",
    "next": [
        {"task_name": "Tester", "name": "B", "next": [{"task_name": "ReadTester", "name": "C"}]},
        {"task_name": "ReadTester", "name": "D"},
    ],
}


@dataclass(frozen=True)
class Built:
    """The database and report the tests look at."""

    work_dir: Path
    out: Path
    env: dict[str, str]
    runs: list[dict[str, object]]
    failed_workflow: str
    hostile_run: str


def _lute(args: list[str], env: dict[str, str], expect: int) -> str:
    done = run_lute(args, env)
    assert done.returncode == expect, f"lute {' '.join(args)}: {done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("report")
    work_dir = root / "work"
    work_dir.mkdir()
    env = child_env(work_dir)
    tasks = {"TestWriteOutput": {"num_lines": 2}, "TestReadOutput": {}}
    header = {"work_dir": str(work_dir)}
    good = write_config(
        root / "good.yaml",
        {**tasks, "Test": {"loops": 1, "str_var": HOSTILE_PARAM}},
        {**header, "run": HOSTILE_RUN},
    )
    bad = write_config(
        root / "bad.yaml", {**tasks, "Test": {"loops": 1, "throw_error": True}}, header
    )
    _lute(["run", "-t", "Tester", "-c", str(good)], env, 0)
    _lute(["run", "-t", "Tester", "-c", str(bad)], env, 1)
    _lute(["run", "-t", "WriteTester", "-c", str(good)], env, 0)
    dag = root / "dag.yaml"
    dag.write_text(yaml.safe_dump(DAG, sort_keys=False))
    failed = _lute(["workflow", "run", str(dag), "-c", str(bad)], env, 1).strip()
    _lute(["workflow", "run", str(dag), "-c", str(good)], env, 0)
    runs = json.loads(_lute(["db", "list", "-n", "0", "--json"], env, 0))
    hostile = next(r for r in runs if r["run"] == HOSTILE_RUN and r["task_name"] == "Test")
    out = root / "shared" / "report"
    stdout = _lute(["report", "--work-dir", str(work_dir), "-o", str(out)], env, 0)
    assert stdout == f"{out / 'index.html'}\n"
    return Built(work_dir, out, env, runs, failed, str(hostile["run_id"]))


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, driven by Playwright (never a downloaded browser)."""
    require_service(shutil.which("chromium") is not None, "Chromium (/usr/bin/chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_service(False, "the playwright package (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=shutil.which("chromium") or CHROMIUM, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()
