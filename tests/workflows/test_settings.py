"""Executor settings in YAML: a Task's ``lute_executor`` and the site file reach the
Executor and the batch script; ``lute run --dry-run`` shows where each comes from; a
wrong key is refused before anything runs.
"""

from __future__ import annotations

import pytest
import yaml
from conftest import run_lute, task_rows, write_config
from workflow_helpers import write_dag

SITE = {
    "executor": {"retries": 0, "log_dir": "site_logs/{task}"},
    "sbatch": {"partition": "debug", "account": "lcls:{{ experiment }}"},
}


def fault_config(path, work_dir, counter, **executor):
    fault = {"mode": "fail_times", "fail_times": 1, "counter_file": str(counter)}
    if executor:
        fault["lute_executor"] = executor
    return write_config(path, {"Fault": fault}, {"work_dir": str(work_dir)})


@pytest.fixture
def site_env(lute_env, tmp_path):
    site = tmp_path / "site.yaml"
    site.write_text(yaml.safe_dump(SITE))
    return {**lute_env, "LUTE_SITE_CONFIG": str(site)}


def test_task_and_site_settings_reach_the_executor(site_env, work_dir, tmp_path):
    config = fault_config(tmp_path / "c.yaml", work_dir, tmp_path / "count", retries=1)
    dry = run_lute(["run", "-t", "FaultTester", "-c", str(config), "--dry-run"], site_env)
    assert dry.returncode == 0, dry.stderr
    shown = {line.split()[0]: line for line in dry.stdout.splitlines() if line.strip()}
    assert shown["retries"].split()[1] == "1"
    assert shown["retries"].endswith(f"{config} (Fault.lute_executor)")  # the config beats the site
    assert shown["log_dir"].endswith("(executor)") and "site.yaml" in shown["log_dir"]
    assert shown["kill_grace"].endswith("the managed task")
    assert shown["--account"].split()[1] == "lcls:xpptest"  # templated from the experiment
    assert not (work_dir / "lute.db").exists()  # a dry run records nothing

    done = run_lute(["run", "-t", "FaultTester", "-c", str(config)], site_env)
    assert done.returncode == 0, done.stderr
    rows = task_rows(work_dir / "lute.db", "Fault")
    assert [(r["attempt"], r["result.task_status"]) for r in rows] == [
        (1, "FAILED"),
        (2, "COMPLETED"),
    ]
    assert all(r["log_stdout"].startswith(str(work_dir / "site_logs" / "Fault")) for r in rows)


def test_settings_reach_the_batch_script(slurm_env, site_env, work_dir, tmp_path):
    config = fault_config(tmp_path / "c.yaml", work_dir, tmp_path / "count", retries=1)
    env = {**slurm_env, "LUTE_SITE_CONFIG": site_env["LUTE_SITE_CONFIG"]}
    done = run_lute(["submit", "-t", "FaultTester", "-c", str(config), "--hold"], env)
    assert done.returncode == 0, done.stderr
    job_id = done.stdout.strip()
    run_lute(["cancel", job_id], env)
    [script] = (work_dir / "slurm").glob("*.sh")
    lines = script.read_text().splitlines()
    assert "#SBATCH --partition=debug" in lines
    assert "#SBATCH --account=lcls:xpptest" in lines
    assert f"# Executor setting retries=1 from {config} (Fault.lute_executor)" in lines
    assert any(line.startswith("# Executor setting log_dir=site_logs/{task}") for line in lines)


@pytest.mark.parametrize(
    ("where", "command"),
    [
        ("config", ["run", "-t", "FaultTester"]),
        ("config", ["workflow", "run", "DAG"]),
        ("site", ["run", "-t", "FaultTester"]),
        ("site section", ["submit", "-t", "FaultTester"]),
    ],
)
def test_a_wrong_key_is_refused_naming_file_and_key(where, command, site_env, work_dir, tmp_path):
    site = tmp_path / "site.yaml"
    executor = {}
    if where == "config":
        executor = {"retrys": 1}
        expected = f"{tmp_path / 'c.yaml'}: Fault.lute_executor.retrys: unknown setting"
    elif where == "site":
        site.write_text(yaml.safe_dump({"executor": {"kill_grase": 1}}))
        expected = f"{site}: executor.kill_grase: unknown setting"
    else:
        site.write_text(yaml.safe_dump({"sbatch_options": {"partition": "debug"}}))
        expected = f"{site}: sbatch_options: unknown section"
    config = fault_config(tmp_path / "c.yaml", work_dir, tmp_path / "count", **executor)
    dag = write_dag(tmp_path / "dag.yaml", {"task_name": "FaultTester"})
    args = [str(dag) if word == "DAG" else word for word in command]
    done = run_lute([*args, "-c", str(config)], site_env)
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert expected in line
    assert not (work_dir / "lute.db").exists() and not (work_dir / "slurm").exists()
