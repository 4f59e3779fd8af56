"""A Task's section misspelt, or missing: refused, or run on defaults with a warning.

A Task whose section is missing runs with every parameter at its default.
That is right for a Task without parameters and wrong when the section is
in the file under a misspelt name; lute cannot tell one from the other
silently, so it refuses a close miss (exit 2, "did you mean") and warns,
once, when there is no section at all.
"""

from __future__ import annotations

import os
import stat

from conftest import log_lines, run_lute, task_rows, write_config

WARNING = (
    "WARNING:lute.config.loader: {config}: no section 'Test':"
    " Task Test runs with every parameter at its default"
)


def test_a_misspelt_section_is_refused_with_did_you_mean(lute_env, work_dir, tmp_path):
    config = write_config(tmp_path / "typo.yaml", {"Tset": {"loops": 1}})
    done = run_lute(["run", "-t", "Tester", "-c", str(config)], lute_env)
    assert done.returncode == 2, done.stderr
    lines = log_lines(done.stderr)
    assert len(lines) == 1, done.stderr
    assert f"{config}: no section 'Test' for Task Test; did you mean 'Tset'?" in lines[0]
    assert not (work_dir / "lute.db").exists()


def test_submit_refuses_a_misspelt_section_before_submitting(lute_env, work_dir, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    sbatch = bin_dir / "sbatch"
    called = tmp_path / "sbatch-was-called"
    sbatch.write_text(f"#!/bin/sh\ntouch {called}\necho 1\n")
    sbatch.chmod(sbatch.stat().st_mode | stat.S_IXUSR)
    env = {**lute_env, "PATH": f"{bin_dir}{os.pathsep}{lute_env['PATH']}"}
    config = write_config(tmp_path / "typo.yaml", {"test": {"loops": 1}})
    done = run_lute(["submit", "-t", "Tester", "-c", str(config)], env)
    assert done.returncode == 2, done.stderr
    assert "did you mean 'test'?" in done.stderr
    assert not called.exists()


def test_no_section_at_all_runs_on_defaults_with_one_warning(lute_env, work_dir, tmp_path):
    config = write_config(tmp_path / "none.yaml", {"Unrelated": {"x": 1}})
    done = run_lute(["run", "-t", "Tester", "-c", str(config)], lute_env)
    assert done.returncode == 0, done.stderr
    warnings = [line for line in log_lines(done.stderr) if line.startswith("WARNING")]
    assert warnings == [WARNING.format(config=config)]
    rows = task_rows(work_dir / "lute.db", "Test")
    assert [row["result.task_status"] for row in rows] == ["COMPLETED"]


def test_another_tasks_section_is_not_taken_for_a_typo(lute_env, work_dir, tmp_path):
    # TestMPI and TestSleep are as close to Test as a typo, but they are Tasks.
    config = write_config(tmp_path / "others.yaml", {"TestMPI": {}, "TestSleep": {"seconds": 1}})
    done = run_lute(["run", "-t", "Tester", "-c", str(config)], lute_env)
    assert done.returncode == 0, done.stderr
    assert WARNING.format(config=config) in log_lines(done.stderr)
