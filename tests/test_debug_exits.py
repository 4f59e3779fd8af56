"""LUTE_DEBUG_* stop ``lute run`` early: they show what would run and record nothing."""

from __future__ import annotations

import shlex

import yaml
from conftest import run_lute, write_config
from programs import write_program

TOUCH = """
import pathlib, sys
pathlib.Path(sys.argv[-1]).write_text("ran")
"""


def test_exit_at_yaml_prints_validated_parameters(lute_env, work_dir, tmp_path):
    config = write_config(tmp_path / "cfg.yaml", {"Test": {"loops": 5}})
    env = {**lute_env, "LUTE_DEBUG_EXIT_AT_YAML": "1", "LUTE_float_var": "2.5"}
    done = run_lute(["run", "-t", "Tester", "-c", str(config)], env)
    assert done.returncode == 0, done.stderr
    printed = yaml.safe_load(done.stdout)["Test"]
    assert printed["loops"] == 5
    assert printed["float_var"] == 2.5
    assert printed["lute_config"]["experiment"] == "xpptest"
    assert "Test loop" not in done.stderr
    assert not (work_dir / "lute.db").exists()


def test_exit_at_yaml_still_reports_invalid_config(lute_env, work_dir, tmp_path):
    config = write_config(tmp_path / "cfg.yaml", {"Test": {"loops": "x"}})
    env = {**lute_env, "LUTE_DEBUG_EXIT_AT_YAML": "1"}
    done = run_lute(["run", "-t", "Tester", "-c", str(config)], env)
    assert done.returncode == 2
    assert "Test.loops" in done.stderr


def test_before_tpp_exec_prints_the_command_and_runs_nothing(lute_env, work_dir, tmp_path):
    program = write_program(tmp_path / "touch", TOUCH)
    marker = tmp_path / "marker"
    config = write_config(
        tmp_path / "cfg.yaml",
        {"TestTemplate": {"executable": str(program), "p_arg1": str(marker)}},
    )
    env = {**lute_env, "LUTE_DEBUG_BEFORE_TPP_EXEC": "1"}
    done = run_lute(["run", "-t", "TemplateTester", "-c", str(config)], env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"# LUTE_DEBUG_BEFORE_TPP_EXEC: would exec {program} as:",
        shlex.join([str(program), str(marker)]),
    ]
    assert (work_dir / "test_template.yaml").is_file()  # prepared as for a real run
    assert not marker.exists()
    assert not (work_dir / "lute.db").exists()


def test_before_tpp_exec_names_a_missing_program(lute_env, work_dir, tmp_path):
    config = write_config(tmp_path / "cfg.yaml", {"TestThirdParty": {"executable": "nope-4711"}})
    env = {**lute_env, "LUTE_DEBUG_BEFORE_TPP_EXEC": "1"}
    done = run_lute(["run", "-t", "ThirdPartyTester", "-c", str(config)], env)
    assert done.returncode == 2
    assert "executable 'nope-4711' not found" in done.stderr
    assert not (work_dir / "lute.db").exists()


def test_before_tpp_exec_leaves_python_tasks_alone(lute_env, work_dir, tmp_path):
    config = write_config(tmp_path / "cfg.yaml", {"Test": {"loops": 1}})
    env = {**lute_env, "LUTE_DEBUG_BEFORE_TPP_EXEC": "1"}
    done = run_lute(["run", "-t", "Tester", "-c", str(config)], env)
    assert done.returncode == 0, done.stderr
    assert "Test loop 1 of 1" in done.stderr
