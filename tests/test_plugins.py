"""A user's package adds Tasks and managed tasks through entry points, lute unchanged.

The example package in ``tests/plugin_pkg`` is pip-installed once per session
into a private directory (so the environment running the tests is not
changed) and put on the children's ``PYTHONPATH``; lute finds it only through
the installed package metadata.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from conftest import REPO, pip_install_copy, run_lute, run_python, task_rows, write_config

PLUGIN_SOURCE = Path(__file__).resolve().parent / "plugin_pkg"


@pytest.fixture(scope="session")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example plugin, installed with pip into a fresh directory."""
    root = tmp_path_factory.mktemp("plugin")
    return pip_install_copy(PLUGIN_SOURCE, root)


@pytest.fixture
def plugin_env(lute_env: dict[str, str], plugin_site: Path) -> dict[str, str]:
    return {**lute_env, "PYTHONPATH": os.pathsep.join([lute_env["PYTHONPATH"], str(plugin_site)])}


def test_plugin_task_runs_through_lute_run(plugin_env, work_dir, tmp_path):
    config = write_config(
        tmp_path / "cfg.yaml",
        {"PluginSum": {"values": [1, 2, 3.5], "scaling": {"factor": 2, "offset": 1}}},
    )
    done = run_lute(["run", "-t", "PluginSummer", "-c", str(config)], plugin_env)
    assert done.returncode == 0, done.stderr
    assert "PluginSum: 3 values, total 14.0" in done.stderr
    (row,) = task_rows(work_dir / "lute.db", "PluginSum")
    assert row["result.task_status"] == "COMPLETED"
    assert json.loads(row["result.payload"]) == 14.0
    assert row["scaling.factor"] == 2.0


def test_plugin_third_party_task_from_a_dict_spec(plugin_env, work_dir, tmp_path):
    config = write_config(tmp_path / "cfg.yaml", {"PluginEcho": {"p_arg1": "plugged in"}})
    done = run_lute(["run", "-t", "PluginEchoer", "-c", str(config)], plugin_env)
    assert done.returncode == 0, done.stderr
    assert "INFO:lute.task.PluginEcho: plugged in" in done.stderr
    (row,) = task_rows(work_dir / "lute.db", "PluginEcho")
    assert row["lute_command"] == "echo 'plugged in'"


def test_plugin_tasks_are_listed_and_documented(plugin_env, tmp_path):
    listing = run_lute(["tasks", "list"], plugin_env)
    assert listing.returncode == 0, listing.stderr
    rows = {line.split()[0]: line.split(maxsplit=2) for line in listing.stdout.splitlines()}
    assert rows["PluginSum"][1:] == ["PluginSummer", "Adds numbers up (a plugin Task)."]
    assert rows["PluginEcho"][1] == "PluginEchoer"
    helped = run_lute(["tasks", "help", "PluginSum"], plugin_env)
    assert "  scaling.factor (float; default: 1.0)\n      Multiplies the sum.\n" in helped.stdout
    assert "  values (list[float]; default: [1.0, 2.0])" in helped.stdout
    pasted = run_lute(["tasks", "help", "PluginSum", "--yaml"], plugin_env)
    assert yaml.safe_load(pasted.stdout) == {
        "PluginSum": {"values": [1.0, 2.0], "scaling": {"factor": 1.0, "offset": 0.0}}
    }


def test_without_the_plugin_its_names_are_unknown(lute_env, tmp_path):
    config = write_config(tmp_path / "cfg.yaml", {"PluginSum": {}})
    done = run_lute(["run", "-t", "PluginSummer", "-c", str(config)], lute_env)
    assert done.returncode == 2
    assert "unknown managed task 'PluginSummer'" in done.stderr


NO_SCAN = """
import importlib.metadata, sys

real_entry_points = importlib.metadata.entry_points

def refuse_lute_groups(*args, **kwargs):
    if str(kwargs.get("group", "")).startswith("lute"):
        raise AssertionError("lute's entry points were scanned")
    return real_entry_points(*args, **kwargs)

importlib.metadata.entry_points = refuse_lute_groups
from lute.cli import main
sys.exit(main(["run", "-t", "Tester", "-c", sys.argv[1]]))
"""


def test_builtin_runs_never_scan_for_plugins(plugin_env, work_dir):
    done = run_python(["-c", NO_SCAN, str(REPO / "config" / "test.yaml")], plugin_env)
    assert done.returncode == 0, done.stderr
    assert task_rows(work_dir / "lute.db", "Test")[0]["result.task_status"] == "COMPLETED"
