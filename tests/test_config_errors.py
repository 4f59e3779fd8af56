"""Bad parameters are refused before anything runs; overrides come from LUTE_<param>."""

from __future__ import annotations

import json

from conftest import run_lute, task_rows, write_config


def run_tester(env, tmp_path, section):
    config = write_config(tmp_path / "cfg.yaml", {"Test": section})
    return run_lute(["run", "-t", "Tester", "-c", str(config)], env)


def test_wrong_type_names_the_parameter_and_records_nothing(lute_env, work_dir, tmp_path):
    done = run_tester(lute_env, tmp_path, {"float_var": "abc", "compound_var": {"int_var": "x"}})
    assert done.returncode == 2
    assert "Test.float_var: Input should be a valid number" in done.stderr
    assert "Test.compound_var.int_var: Input should be a valid integer" in done.stderr
    assert not (work_dir / "lute.db").exists()


def test_unknown_parameter_of_a_first_party_task(lute_env, work_dir, tmp_path):
    done = run_tester(lute_env, tmp_path, {"flaot_var": 1.0})
    assert done.returncode == 2
    assert "Test.flaot_var: Extra inputs are not permitted" in done.stderr
    assert not (work_dir / "lute.db").exists()


def test_third_party_parameter_that_cannot_be_a_flag(lute_env, work_dir, tmp_path):
    config = write_config(tmp_path / "cfg.yaml", {"TestThirdParty": {"geometry": {"a": 1}}})
    done = run_lute(["run", "-t", "ThirdPartyTester", "-c", str(config)], lute_env)
    assert done.returncode == 2
    assert "parameter 'geometry' is a mapping" in done.stderr
    assert not (work_dir / "lute.db").exists()


def test_environment_overrides_reach_executor_and_task(lute_env, work_dir, tmp_path):
    env = {
        **lute_env,
        "LUTE_float_var": "2.5",
        "LUTE_str_var": "123",
        "LUTE_compound_var__int_var": "42",
        "LUTE_compound_var__dict_var": "{x: y}",
        "LUTE_WORK_DIR": str(work_dir),  # lute's own variable, not a parameter
    }
    done = run_tester(env, tmp_path, {"float_var": 0.5, "compound_var": {"int_var": 1}})
    assert done.returncode == 0, done.stderr
    assert "LUTE_float_var overrides float_var" in done.stderr
    (row,) = task_rows(work_dir / "lute.db", "Test")
    assert row["float_var"] == 2.5
    assert row["str_var"] == "123"
    assert row["compound_var.int_var"] == 42
    assert row["compound_var.dict_var.x"] == "y"
    assert "compound_var.dict_var.a" not in row or row["compound_var.dict_var.a"] is None
    # The Task validated with the same overrides: its result reports them.
    assert json.loads(row["result.payload"]) == {"float_var": 2.5, "str_var": "123"}


def test_invalid_override_names_the_variable(lute_env, work_dir, tmp_path):
    done = run_tester({**lute_env, "LUTE_loops": "many"}, tmp_path, {})
    assert done.returncode == 2
    assert "Test.loops: Input should be a valid integer" in done.stderr
    assert "(from environment variable LUTE_loops)" in done.stderr
    assert not (work_dir / "lute.db").exists()


def test_override_below_a_scalar_names_the_variable(lute_env, work_dir, tmp_path):
    done = run_tester({**lute_env, "LUTE_float_var__x": "1"}, tmp_path, {"float_var": 1.0})
    assert done.returncode == 2
    assert "LUTE_float_var__x: 'float_var' is not a mapping" in done.stderr
    done = run_tester({**lute_env, "LUTE_float_var__x": "1"}, tmp_path, {})
    assert done.returncode == 2
    assert "Test.float_var: Input should be a valid number" in done.stderr
    assert "(from environment variable LUTE_float_var__x)" in done.stderr
