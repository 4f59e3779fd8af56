"""Names that become paths cannot lead out of their directory.

A Task, a workflow node or a run is named by whoever writes the plugin, the
DAG or the command line; its name becomes part of a log path. A name like
``../../../escaped`` is refused with exit status 2 and one line saying what
names may hold, before anything runs, is written or is recorded.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_lute, task_rows, write_config
from workflow_helpers import write_dag

ESCAPE = "../../../escaped"
ALLOWED = "letters, digits, '_', '-' and '.' (not first)"


def written_outside(tmp_path: Path, work_dir: Path) -> list[Path]:
    """Files and directories under ``tmp_path`` named like the escape, outside the work dir."""
    return [
        path
        for path in tmp_path.rglob("escaped*")
        if not path.resolve().is_relative_to(work_dir.resolve())
    ]


def test_workflow_node_named_like_a_path_is_refused(lute_env, work_dir, tmp_path):
    config = write_config(tmp_path / "c.yaml", {"Test": {"loops": 1}}, {"work_dir": str(work_dir)})
    dag = write_dag(tmp_path / "dag.yaml", {"task_name": "Tester", "name": ESCAPE})
    done = run_lute(["workflow", "run", str(dag), "-c", str(config)], lute_env)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"node name '{ESCAPE}' is not a valid name: use {ALLOWED}" in lines[0]
    assert str(dag) in lines[0]
    assert written_outside(tmp_path, work_dir) == []
    assert not (work_dir / "workflows").exists()
    assert task_rows(work_dir / "lute.db", "Test") == []


PLUGIN = f'ESCAPER = {{"task_name": {ESCAPE!r}, "description": "Named like a path."}}\n'

ENTRY_POINTS = f"""\
[lute.managed_tasks]
Escaper = escape_plugin:ESCAPER

[lute.tasks]
{ESCAPE} = lute.tasks.test:Test

[lute.models]
{ESCAPE} = lute.config.models.tests:TestParameters
"""


@pytest.fixture
def escape_plugin_env(lute_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """``lute_env`` with an installed plugin whose Task is named like a path."""
    site = tmp_path / "site"
    info = site / "escape_plugin-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: escape-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    (site / "escape_plugin.py").write_text(PLUGIN)
    return {**lute_env, "PYTHONPATH": f"{site}:{lute_env['PYTHONPATH']}"}


def test_plugin_task_named_like_a_path_is_refused(escape_plugin_env, work_dir, tmp_path):
    config = write_config(tmp_path / "c.yaml", {"Test": {"loops": 1}}, {"work_dir": str(work_dir)})
    done = run_lute(["run", "-t", "Escaper", "-c", str(config)], escape_plugin_env)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"Task '{ESCAPE}' is not a valid name: use {ALLOWED}" in lines[0]
    assert written_outside(tmp_path, work_dir) == []
    assert not (work_dir / "logs").exists()
    assert not (work_dir / "lute.db").exists()


@pytest.mark.parametrize("run_id", ["../../etc/passwd", "..", ".hidden", "a\nb"])
def test_cancel_refuses_a_run_id_that_is_not_a_name(lute_env, work_dir, run_id):
    done = run_lute(["cancel", run_id, "--work-dir", str(work_dir)], lute_env)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"run id {run_id!r} is not a valid name: use {ALLOWED}" in lines[0]
