"""Hostile values never become lines of a batch script.

A stand-in ``sbatch``, first on ``PATH``, behaves like a scheduler that runs
every job at once: it runs the batch script it is given. A value that could
add a line to the script (a newline in a node name, in ``slurm_params``, in
an sbatch option, in the header's ``work_dir``) must be refused with exit
status 2 and one line naming it, before any script runs: the marker file the
hostile line would create must never exist.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, run_lute, task_rows, write_config
from test_slurm import jobs_ended, slurm_cluster, slurm_env, wait_for  # noqa: F401 (fixtures)
from workflow_helpers import write_dag

STAND_IN_SBATCH = """\
#!/bin/bash
# Like a scheduler that starts the job at once: run the script (the last
# argument), then answer as `sbatch --parsable` does.
script="${@: -1}"
bash "$script" >"$script.ran" 2>&1
echo 4242
"""


@pytest.fixture
def scheduler_env(lute_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """``lute_env`` with the stand-in ``sbatch`` first on ``PATH``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    sbatch = bin_dir / "sbatch"
    sbatch.write_text(STAND_IN_SBATCH)
    sbatch.chmod(sbatch.stat().st_mode | stat.S_IXUSR)
    return {**lute_env, "PATH": f"{bin_dir}{os.pathsep}{lute_env['PATH']}"}


def hostile(marker: Path) -> str:
    """A value that, if it became part of the script, would create ``marker``."""
    return f"x\ntouch {marker}\n#"


def assert_refused(done: subprocess.CompletedProcess[str], marker: Path, field: str) -> None:
    assert not marker.exists(), "a hostile value ran as a command of the batch job"
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert field in lines[0]
    assert "control character" in lines[0] or "not a valid name" in lines[0]


def test_shell_hostile_but_printable_values_are_quoted_and_never_run(
    scheduler_env, work_dir, tmp_path
):
    marker = tmp_path / "MARKER"
    config = write_config(tmp_path / "c.yaml", {"Test": {"loops": 1}}, {"work_dir": str(work_dir)})
    sneaky = f'--comment=it\'s a "test"; $(touch {marker}) `touch {marker}`'
    done = run_lute(["submit", "-t", "Tester", "-c", str(config), sneaky], scheduler_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "4242"
    rows = task_rows(work_dir / "lute.db", "Test")
    assert [row["result.task_status"] for row in rows] == ["COMPLETED"], "the job did not run"
    assert not marker.exists()
    refused = run_lute(
        ["submit", "-t", "Tester", "-c", str(config), f"--comment={hostile(marker)}"],
        scheduler_env,
    )
    assert_refused(refused, marker, "sbatch option")
    assert len(task_rows(work_dir / "lute.db", "Test")) == 1


def test_sbatch_option_with_a_newline_is_refused(scheduler_env, work_dir, tmp_path):
    marker = tmp_path / "MARKER"
    config = write_config(tmp_path / "c.yaml", {"Test": {"loops": 1}}, {"work_dir": str(work_dir)})
    option = f"--comment={hostile(marker)}"
    done = run_lute(["submit", "-t", "Tester", "-c", str(config), option], scheduler_env)
    assert_refused(done, marker, "sbatch option")
    assert not (work_dir / "slurm").exists() or not any((work_dir / "slurm").iterdir())


def test_submit_slurm_sh_passes_hostile_options_to_lute_unchanged(
    scheduler_env, work_dir, tmp_path
):
    marker = tmp_path / "MARKER"
    config = write_config(tmp_path / "c.yaml", {"Test": {"loops": 1}}, {"work_dir": str(work_dir)})
    env = {**scheduler_env, "LUTE_PYTHON": sys.executable}
    done = subprocess.run(
        [
            "bash",
            str(REPO / "launch_scripts" / "submit_slurm.sh"),
            "-t",
            "Tester",
            "-c",
            str(config),
            f"--comment=$(touch {marker})",
            hostile(marker),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert_refused(done, marker, "sbatch option")


def test_experiment_with_a_newline_is_refused(scheduler_env, work_dir, tmp_path):
    marker = tmp_path / "MARKER"
    config = write_config(
        tmp_path / "c.yaml", {"Test": {"loops": 1}}, {"work_dir": str(work_dir), "experiment": ""}
    )
    done = run_lute(
        ["submit", "-t", "Tester", "-c", str(config), "-e", hostile(marker)], scheduler_env
    )
    assert_refused(done, marker, "experiment")


def test_work_dir_with_a_newline_is_refused(scheduler_env, tmp_path):
    marker = tmp_path / "MARKER"
    work_dir = Path(f"{tmp_path}/{hostile(marker)}")
    work_dir.mkdir(parents=True)
    config = write_config(tmp_path / "c.yaml", {"Test": {"loops": 1}}, {"work_dir": str(work_dir)})
    done = run_lute(["submit", "-t", "Tester", "-c", str(config)], scheduler_env)
    assert_refused(done, marker, "work_dir")
    assert str(config) in done.stderr


@pytest.mark.parametrize("where", ["name", "slurm_params list", "slurm_params string"])
def test_workflow_node_with_a_newline_is_refused(scheduler_env, work_dir, tmp_path, where):
    marker = tmp_path / "MARKER"
    config = write_config(tmp_path / "c.yaml", {"Test": {"loops": 1}}, {"work_dir": str(work_dir)})
    node = {"task_name": "Tester", "name": "A"}
    if where == "name":
        node["name"] = hostile(marker)
    elif where == "slurm_params list":
        node["slurm_params"] = ["--time=5", f"--comment={hostile(marker)}"]
    else:
        node["slurm_params"] = f"--time=5 '--comment={hostile(marker)}'"
    dag = write_dag(tmp_path / "dag.yaml", {"task_name": "Tester", "name": "root", "next": [node]})
    done = run_lute(["workflow", "submit", str(dag), "-c", str(config)], scheduler_env)
    assert_refused(done, marker, "node name" if where == "name" else "slurm_params")
    assert str(dag) in done.stderr
    assert task_rows(work_dir / "lute.db", "Test") == []


def test_a_real_sbatch_reads_quoted_options_whole(slurm_env, tmp_path):  # noqa: F811
    # sbatch reads #SBATCH lines with shell-like quoting: unquoted, this work
    # dir would end at its first space and the job log would be lost.
    work_dir = tmp_path / "work dir's #1"
    work_dir.mkdir()
    config = write_config(tmp_path / "c.yaml", {"Test": {"loops": 1}}, {"work_dir": str(work_dir)})
    done = run_lute(["submit", "-t", "Tester", "-c", str(config)], slurm_env)
    assert done.returncode == 0, done.stderr
    job_id = done.stdout.strip()
    wait_for("the job to end", jobs_ended([job_id]))
    logs = list((work_dir / "slurm").glob(f"Tester_*_{job_id}.log"))
    assert len(logs) == 1, sorted(p.name for p in tmp_path.rglob("*"))
    assert "Test loop 1 of 1" in logs[0].read_text()
