"""SLURM on a real single-node cluster: submit, record, cancel, workflows.

The ``slurm_cluster`` fixture reuses the cluster named by ``$SLURM_CONF``
(CI starts one with ``.ci/setup-slurm.sh``); run by hand where SLURM is
installed, it starts one with the same script and stops it afterwards.
Results are read from lute's database and from ``squeue``, never from
timing: the scheduler is polled with a bounded deadline.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from conftest import REPO, require_service, run_lute, task_rows, write_config
from engines import mpi_available
from workflow_helpers import (
    DIAMOND,
    FAILING_CHAIN,
    diamond_intervals,
    submitted_jobs,
    workflow_id,
    write_dag,
    write_workflow_config,
)

from lute.batch.parse import JobState
from lute.batch.slurm import job_status
from lute.core.analysis import TaskStatus

SETUP = REPO / ".ci" / "setup-slurm.sh"
DEADLINE_S = 60.0
POLL_S = 0.2
T = TypeVar("T")


def _cluster_answers(env: dict[str, str]) -> bool:
    sinfo = shutil.which("sinfo")
    if sinfo is None:
        return False
    done = subprocess.run(
        [sinfo, "--noheader", "--format=%T"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return done.returncode == 0 and bool(done.stdout.strip())


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[dict[str, str]]:
    """Environment variables that point SLURM clients at a running cluster."""
    if os.environ.get("SLURM_CONF") and _cluster_answers(dict(os.environ)):
        yield {"SLURM_CONF": os.environ["SLURM_CONF"]}
        return
    installed = all(shutil.which(p) for p in ("slurmctld", "slurmd", "sbatch", "munged"))
    require_service(installed, "SLURM (slurm-wlm and munge; see .ci/setup-slurm.sh)")
    started = subprocess.run(
        ["bash", str(SETUP)],
        env={**os.environ, "LUTE_SLURM_NO_INSTALL": "1"},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    require_service(started.returncode == 0, f"a local SLURM cluster: {started.stderr[-800:]}")
    exports = dict(
        line.removeprefix("export ").split("=", 1)
        for line in started.stdout.splitlines()
        if line.startswith("export ")
    )
    yield exports
    if "already up" not in started.stderr:
        subprocess.run(["bash", str(SETUP), "stop"], check=False, timeout=60)


@pytest.fixture
def slurm_env(slurm_cluster, lute_env, monkeypatch) -> dict[str, str]:
    """Child environment for ``lute``; this process's SLURM clients see the cluster too."""
    for name, value in slurm_cluster.items():
        monkeypatch.setenv(name, value)
    return {**lute_env, **slurm_cluster}


def wait_for(what: str, probe: Callable[[], T | None]) -> T:
    """Poll ``probe`` until it returns something truthy, failing after DEADLINE_S."""
    deadline = time.monotonic() + DEADLINE_S
    while not (value := probe()):
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {DEADLINE_S:.0f}s waiting for {what}")
        time.sleep(POLL_S)
    return value


def final_rows(work_dir: Path, task: str) -> Callable[[], list | None]:
    """A probe for the Task's rows once every one records how its run ended."""

    def probe() -> list | None:
        rows = task_rows(work_dir / "lute.db", task)
        return (
            rows if rows and all(TaskStatus(r["result.task_status"]).final for r in rows) else None
        )

    return probe


def jobs_ended(job_ids: list[str]) -> Callable[[], dict | None]:
    def probe() -> dict | None:
        infos = {info.job_id: info for info in job_status(job_ids)}
        return infos if all(info.state.final for info in infos.values()) else None

    return probe


def test_a_submission_writes_no_secret(slurm_env, work_dir, tmp_path):
    planted = {name: secrets.token_hex(8) for name in ("aws", "token", "pw", "tok")}
    env = {
        **slurm_env,
        "AWS_SECRET_ACCESS_KEY": planted["aws"],
        "LUTE_API_TOKEN": planted["token"],
    }
    secret_url = f"https://me:{planted['pw']}@data.example/x?token={planted['tok']}"
    config = write_config(
        tmp_path / "c.yaml",
        {"Test": {"loops": 1, "str_var": secret_url}},
        {"work_dir": str(work_dir)},
    )
    done = run_lute(
        ["submit", "-t", "Tester", "-c", str(config), f"--comment=see {secret_url}"], env
    )
    assert done.returncode == 0, done.stderr
    [row] = wait_for("the run record", final_rows(work_dir, "Test"))
    wait_for("the job to end", jobs_ended([done.stdout.strip()]))
    assert row["result.task_status"] == "COMPLETED"
    written = [path for path in work_dir.rglob("*") if path.is_file()]
    assert any(path.suffix == ".sh" for path in written) and any(
        path.suffix == ".log" for path in written
    )
    leaks = [
        (str(path), name)
        for path in written
        for name, value in planted.items()
        if value.encode() in path.read_bytes()
    ]
    assert leaks == []
    assert not [name for name, value in planted.items() if value in done.stdout + done.stderr]


def test_submit_runs_the_task_and_records_the_job_id(slurm_env, work_dir, tmp_path):
    # Experiment and run left empty in the config: they come from -e and -r.
    header = {"work_dir": str(work_dir), "experiment": "", "run": ""}
    config = write_config(tmp_path / "c.yaml", {"Test": {"loops": 2}}, header)
    done = run_lute(
        ["submit", "-t", "Tester", "-c", str(config), "-e", "xpp99", "-r", "12", "--time=00:05:00"],
        slurm_env,
    )
    assert done.returncode == 0, done.stderr
    job_id = done.stdout.strip()
    assert job_id.isdigit()
    rows = wait_for("the run record", final_rows(work_dir, "Test"))
    assert rows[0]["slurm_job_id"] == job_id
    assert rows[0]["result.task_status"] == "COMPLETED"
    (header_row,) = task_rows(work_dir / "lute.db", "gen_cfg")
    assert (header_row["experiment"], header_row["run"]) == ("xpp99", "12")
    logs = list((work_dir / "slurm").glob(f"Tester_xpp99_r12_*_{job_id}.log"))
    assert len(logs) == 1
    assert "Test loop 2 of 2" in logs[0].read_text()
    scripts = list((work_dir / "slurm").glob("Tester_xpp99_r12_*.sh"))
    assert len(scripts) == 1
    assert "--time=00:05:00" in scripts[0].read_text()


def test_submit_slurm_sh_keeps_lutes_interface(slurm_env, work_dir, tmp_path):
    config = write_config(tmp_path / "c.yaml", {"Test": {"loops": 1}}, {"work_dir": str(work_dir)})
    wrapper = str(REPO / "launch_scripts/submit_slurm.sh")
    done = subprocess.run(
        [wrapper, "-t", "Tester", "-c", str(config), "--debug", "--time=00:05:00"],
        env={**slurm_env, "LUTE_PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    job_id = done.stdout.strip()
    rows = wait_for("the run record", final_rows(work_dir, "Test"))
    assert rows[0]["slurm_job_id"] == job_id
    (log,) = (work_dir / "slurm").glob(f"*_{job_id}.log")
    assert "DEBUG:" in log.read_text()


def test_mpi_task_in_a_batch_job_sizes_itself_from_the_allocation(slurm_env, work_dir, tmp_path):
    require_service(mpi_available(), "MPI (pip install 'lute[mpi]')")
    config = write_config(tmp_path / "c.yaml", {"TestMPI": {}}, {"work_dir": str(work_dir)})
    env = {k: v for k, v in slurm_env.items() if k != "LUTE_MPI_NPROCS"}
    done = run_lute(["submit", "-t", "MPITester", "-c", str(config), "--ntasks=1"], env)
    assert done.returncode == 0, done.stderr
    job_id = done.stdout.strip()
    rows = wait_for("the run record", final_rows(work_dir, "TestMPI"))
    assert (rows[0]["slurm_job_id"], rows[0]["result.task_status"]) == (job_id, "COMPLETED")
    (log,) = (work_dir / "slurm").glob(f"*_{job_id}.log")
    assert "on 1 MPI ranks ($SLURM_NTASKS=1 minus one core for the Executor)" in log.read_text()


def test_cancel_job_ends_a_running_job_cancelled_in_the_record(slurm_env, work_dir, tmp_path):
    config = write_config(
        tmp_path / "c.yaml", {"TestSleep": {"seconds": 300}}, {"work_dir": str(work_dir)}
    )
    done = run_lute(["submit", "-t", "SleepTester", "-c", str(config)], slurm_env)
    assert done.returncode == 0, done.stderr
    job_id = done.stdout.strip()

    def task_started() -> bool:
        logs = list((work_dir / "slurm").glob(f"*_{job_id}.log"))
        return bool(logs) and "TestSleep waiting" in logs[0].read_text()

    wait_for("the Task to start", task_started)
    cancelled = run_lute(["cancel", job_id], slurm_env)
    assert cancelled.returncode == 0, cancelled.stderr
    assert f"{job_id} cancelled (was RUNNING)" in cancelled.stdout
    rows = wait_for("the run record", final_rows(work_dir, "TestSleep"))
    assert rows[0]["slurm_job_id"] == job_id
    assert rows[0]["result.task_status"] == "CANCELLED"
    ended = wait_for("the job to end", jobs_ended([job_id]))
    assert ended[job_id].state.final
    status = run_lute(["status", job_id], slurm_env)
    assert status.stdout.splitlines()[1].split()[0] == job_id


def test_status_wait_returns_when_the_jobs_end_and_says_how(slurm_env, work_dir, tmp_path):
    """``lute status --wait``: the exit code and final table of jobs it waited for."""
    ok = write_config(tmp_path / "ok.yaml", {"Test": {"loops": 0}}, {"work_dir": str(work_dir)})
    bad = write_config(
        tmp_path / "bad.yaml",
        {"Test": {"loops": 0, "throw_error": True}},
        {"work_dir": str(work_dir)},
    )
    job_ids = []
    for config in (ok, bad):
        done = run_lute(["submit", "-t", "Tester", "-c", str(config)], slurm_env)
        assert done.returncode == 0, done.stderr
        job_ids.append(done.stdout.strip())
    waited = run_lute(["status", "--wait", "--json", job_ids[0]], slurm_env)
    assert waited.returncode == 0, waited.stderr
    [job] = json.loads(waited.stdout)
    assert (job["job_id"], job["state"]) == (job_ids[0], "COMPLETED")
    assert f"job {job_ids[0]} COMPLETED" in waited.stderr
    both = run_lute(["status", "--wait", *job_ids], slurm_env)
    assert both.returncode == 1, both.stderr
    states = [line.split()[1] for line in both.stdout.splitlines()[1:]]
    assert states == ["COMPLETED", "FAILED"]


def test_workflow_submit_runs_the_diamond_in_dependency_order(slurm_env, work_dir, tmp_path):
    dag = write_dag(tmp_path / "diamond.yaml", DIAMOND)
    # parties=1: B and C need not run at once here (the cluster may have one CPU).
    config = write_workflow_config(tmp_path / "c.yaml", work_dir, parties=1)
    done = run_lute(["workflow", "submit", str(dag), "-c", str(config)], slurm_env)
    assert done.returncode == 0, done.stderr
    workflow_id(done.stdout)
    job_ids = submitted_jobs(done.stderr)
    assert list(job_ids) == ["A", "B", "C", "D"]
    ended = wait_for("all jobs to end", jobs_ended(list(job_ids.values())))
    assert {info.state for info in ended.values()} == {JobState.COMPLETED}
    times = diamond_intervals(work_dir / "lute.db")
    assert [len(times[k]) for k in ("A", "BC", "D")] == [1, 2, 1]
    ((_, a_end),) = times["A"]
    ((d_start, _),) = times["D"]
    assert a_end <= min(start for start, _ in times["BC"])
    assert max(end for _, end in times["BC"]) <= d_start
    slurm_ids = {row["slurm_job_id"] for row in task_rows(work_dir / "lute.db", "TestRendezvous")}
    assert slurm_ids == {job_ids["B"], job_ids["C"]}


def test_workflow_submit_failure_never_runs_descendants(slurm_env, work_dir, tmp_path):
    dag = write_dag(tmp_path / "chain.yaml", FAILING_CHAIN)
    config = write_workflow_config(tmp_path / "c.yaml", work_dir, parties=1)
    done = run_lute(["workflow", "submit", str(dag), "-c", str(config)], slurm_env)
    assert done.returncode == 0, done.stderr
    job_ids = submitted_jobs(done.stderr)
    ended = wait_for("all jobs to end", jobs_ended(list(job_ids.values())))
    assert ended[job_ids["A"]].state is JobState.FAILED
    for node in ("B", "C"):
        assert ended[job_ids[node]].state is JobState.CANCELLED
        assert ended[job_ids[node]].reason == "DependencyNeverSatisfied"
    db = work_dir / "lute.db"
    assert [r["result.task_status"] for r in task_rows(db, "TestBinaryErr")] == ["FAILED"]
    assert task_rows(db, "Test") == []
    assert task_rows(db, "TestWriteOutput") == []


@pytest.mark.parametrize("command", [["submit", "-t", "Tester"], ["workflow", "submit", "DAG"]])
def test_submitting_without_slurm_is_one_clear_error(command, lute_env, work_dir, tmp_path):
    config = write_config(tmp_path / "c.yaml", {"Test": {}}, {"work_dir": str(work_dir)})
    dag = write_dag(tmp_path / "dag.yaml", {"task_name": "Tester"})
    args = [str(dag) if arg == "DAG" else arg for arg in command] + ["-c", str(config)]
    no_slurm = tmp_path / "bin"
    no_slurm.mkdir()
    done = run_lute(args, {**lute_env, "PATH": str(no_slurm)})
    assert done.returncode == 1
    errors = done.stderr.strip().splitlines()
    assert len(errors) == 1, done.stderr
    assert "SLURM is not available here: 'sbatch' was not found on PATH" in errors[0]
    assert not (work_dir / "slurm").exists()
