"""Workflow runs and many runs through the real SLURM cluster; ``lute ps``; cancelling.

The scheduler is asked about jobs with the bounded polling of
``tests/test_slurm.py`` (a job's end has no event to wait on); a Task's start
is waited for on a FIFO.
"""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import run_lute, task_rows, write_config
from faultkit import SYNC_TIMEOUT_S, Fifo
from test_slurm import final_rows, jobs_ended, wait_for
from workflow_helpers import submitted_jobs, workflow_id, write_dag

from lute.batch.parse import JobState
from lute.batch.slurm import job_status
from tests.workflows.helpers import db_rows, status_rows
from tests.workflows.test_local_runs import TWO_ROOTS, chain_config, counts

SLEEP_THEN_TEST = {"task_name": "FaultTester", "next": [{"task_name": "Tester"}]}


def sleeper_config(tmp_path, work_dir, ready: Fifo, **header):
    fault = {"mode": "sleep", "seconds": 300, "ready_fifo": str(ready.path)}
    return write_config(
        tmp_path / "c.yaml",
        {"Fault": fault, "Test": {"loops": 0}},
        {"work_dir": str(work_dir), **header},
    )


def test_submitted_workflow_status_and_cancel_agree_with_slurm(slurm_env, work_dir, tmp_path):
    ready = Fifo(tmp_path / "ready")
    dag = write_dag(tmp_path / "dag.yaml", SLEEP_THEN_TEST)
    config = sleeper_config(tmp_path, work_dir, ready)
    done = run_lute(["workflow", "submit", str(dag), "-c", str(config)], slurm_env)
    assert done.returncode == 0, done.stderr
    wf_id = workflow_id(done.stdout)
    jobs = submitted_jobs(done.stderr)
    ready.read_line()  # the first node's Task runs, in its batch job
    ready.close()

    shown = status_rows(wf_id, work_dir, slurm_env)
    [run] = db_rows(work_dir, "SELECT * FROM runs")
    assert {node: row["JOB"] for node, row in shown.items()} == jobs
    assert shown["FaultTester"]["STATUS"] == "RUNNING"
    assert shown["FaultTester"]["RUN ID"] == run["run_id"]  # linked by its job id
    assert shown["Tester"]["STATUS"] == "QUEUED"
    assert "Dependency" in shown["Tester"]["NOTE"]
    said = {info.job_id: info for info in job_status(list(jobs.values()))}
    assert said[jobs["FaultTester"]].state is JobState.RUNNING
    assert said[jobs["Tester"]].state is JobState.PENDING

    cancel = run_lute(["workflow", "cancel", wf_id, "--work-dir", str(work_dir)], slurm_env)
    assert cancel.returncode == 0, cancel.stderr
    assert "stopped 1 running node(s) (FaultTester)" in cancel.stdout
    assert "dropped 1 queued job(s) (Tester)" in cancel.stdout
    said = wait_for("the jobs to end", jobs_ended(list(jobs.values())))
    [fault] = wait_for("the run's end record", final_rows(work_dir, "Fault"))

    shown = status_rows(wf_id, work_dir, slurm_env)
    assert shown["FaultTester"]["STATUS"] == fault["result.task_status"] == "CANCELLED"
    assert shown["Tester"]["STATUS"] == "CANCELLED (not run)"
    assert said[jobs["Tester"]].state is JobState.CANCELLED
    assert said[jobs["FaultTester"]].start is not None and said[jobs["FaultTester"]].end
    assert task_rows(work_dir / "lute.db", "Test") == []
    [workflow] = db_rows(work_dir, "SELECT status, mode FROM workflow_runs")
    assert workflow == {"status": "CANCELLED", "mode": "slurm"}


def test_a_job_array_records_each_run_with_its_own_number(slurm_env, work_dir, tmp_path):
    config = write_config(tmp_path / "c.yaml", {"Test": {"loops": 0}}, {"work_dir": str(work_dir)})
    fixed = run_lute(["submit", "-t", "Tester", "-c", str(config), "--runs", "10-12"], slurm_env)
    assert fixed.returncode == 2
    assert "the header sets run to 7; with --runs each job takes its run" in fixed.stderr

    config = write_config(
        tmp_path / "c.yaml", {"Test": {"loops": 0}}, {"work_dir": str(work_dir), "run": ""}
    )
    done = run_lute(["submit", "-t", "Tester", "-c", str(config), "--runs", "10-11,12"], slurm_env)
    assert done.returncode == 0, done.stderr
    array_id = done.stdout.strip()
    assert re.fullmatch(r"\d+", array_id)
    [script] = (work_dir / "slurm").glob("*.sh")
    assert "#SBATCH --array=10-12" in script.read_text().splitlines()
    rows = wait_for(
        "three recorded runs", lambda: (r := final_rows(work_dir, "Test")()) and len(r) == 3 and r
    )
    assert all(row["result.task_status"] == "COMPLETED" for row in rows)
    assert len({row["slurm_job_id"] for row in rows}) == 3
    recorded = db_rows(work_dir, "SELECT run, run_id FROM runs ORDER BY run")
    assert [row["run"] for row in recorded] == ["10", "11", "12"]
    assert len({row["run_id"] for row in recorded}) == 3


def test_ps_lists_a_running_local_task_and_a_queued_job(slurm_env, work_dir, tmp_path):
    ready = Fifo(tmp_path / "ready")
    dag = write_dag(tmp_path / "dag.yaml", SLEEP_THEN_TEST)
    config = sleeper_config(tmp_path, work_dir, ready)
    runner = subprocess.Popen(
        [sys.executable, "-m", "lute", "workflow", "run", str(dag), "-c", str(config)],
        env=slurm_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    wf_id = runner.stdout.readline().strip()
    held = run_lute(["submit", "-t", "Tester", "-c", str(config), "--hold"], slurm_env)
    try:
        assert held.returncode == 0, held.stderr
        job_id = held.stdout.strip()
        ready.read_line()
        ready.close()
        ps = run_lute(["ps", "--work-dir", str(work_dir)], slurm_env)
        assert ps.returncode == 0, ps.stderr
        rows = {line.split()[1]: line.split() for line in ps.stdout.splitlines()[2:]}
        [run] = db_rows(work_dir, "SELECT run_id FROM runs")
        kind, _, name, state, elapsed, _host, *rest = rows[run["run_id"]]
        assert (kind, name, state) == ("run", "Fault", "RUNNING")
        assert re.fullmatch(r"\d+:\d\d:\d\d", elapsed)
        assert rest[-2:] == [wf_id[:8], "FaultTester"]  # the workflow node it is
        kind, _, name, state, *rest = rows[job_id]
        assert (kind, name, state) == ("job", "Tester", "PENDING")
        assert "(JobHeldUser)" in " ".join(rest)

        cancel = run_lute(["workflow", "cancel", wf_id, "--work-dir", str(work_dir)], slurm_env)
        assert cancel.returncode == 0, cancel.stderr
        runner.communicate(timeout=SYNC_TIMEOUT_S)  # the runner stopped before cancel returned
        shown = status_rows(wf_id, work_dir, slurm_env)
        assert shown["FaultTester"]["STATUS"] == "CANCELLED"
        assert shown["Tester"]["STATUS"] == "CANCELLED (not run)"
        assert db_rows(work_dir, "SELECT status FROM workflow_runs") == [{"status": "CANCELLED"}]
    finally:
        runner.kill()
        runner.communicate(timeout=SYNC_TIMEOUT_S)
        if held.returncode == 0:
            run_lute(["cancel", held.stdout.strip()], slurm_env)


def test_a_submitted_rerun_submits_only_the_failed_node_and_its_descendants(
    slurm_env, work_dir, tmp_path
):
    dag = write_dag(tmp_path / "dag.yaml", TWO_ROOTS[0])  # the chain A -> B -> C
    config = chain_config(tmp_path / "c.yaml", work_dir, fail=True)
    done = run_lute(["workflow", "submit", str(dag), "-c", str(config)], slurm_env)
    assert done.returncode == 0, done.stderr
    wf_id = workflow_id(done.stdout)
    wait_for("the jobs to end", jobs_ended(list(submitted_jobs(done.stderr).values())))
    shown = status_rows(wf_id, work_dir, slurm_env)
    assert shown["B"]["STATUS"] == "FAILED" and shown["C"]["STATUS"] == "CANCELLED (not run)"

    chain_config(config, work_dir, fail=False)
    again = run_lute(["workflow", "rerun", wf_id, "-c", str(config)], slurm_env)
    assert again.returncode == 0, again.stderr
    rerun_id = workflow_id(again.stdout)
    jobs = submitted_jobs(again.stderr)
    assert list(jobs) == ["B", "C"]  # submitted as the first run was: to SLURM
    wait_for("the rerun's jobs to end", jobs_ended(list(jobs.values())))
    assert counts(work_dir) == {"A": 1, "B": 2, "C": 1, "R": 0}
    shown = status_rows(rerun_id, work_dir, slurm_env)
    assert shown["C"]["STATUS"] == "COMPLETED" and shown["C"]["JOB"] == jobs["C"]
    assert shown["A"]["STATUS"] == f"SKIPPED (done in {wf_id[:8]})"
    [rerun] = db_rows(work_dir, "SELECT * FROM workflow_runs WHERE wf_id = ?", rerun_id)
    assert (rerun["rerun_of"], rerun["mode"], rerun["status"]) == (wf_id, "slurm", "COMPLETED")


def test_workflow_submit_runs_submits_one_workflow_run_per_run(slurm_env, work_dir, tmp_path):
    dag = write_dag(tmp_path / "dag.yaml", {"task_name": "Tester"})
    config = write_config(tmp_path / "c.yaml", {"Test": {}}, {"work_dir": str(work_dir), "run": ""})
    args = ["workflow", "submit", str(dag), "-c", str(config), "--runs", "3-4", "--hold"]
    done = run_lute(args, slurm_env)
    assert done.returncode == 0, done.stderr
    wf_ids = done.stdout.split()
    assert len(wf_ids) == 2
    scripts = sorted((work_dir / "slurm").glob("*.sh"))
    assert {line for s in scripts for line in s.read_text().splitlines() if "RUN_NUM" in line} == {
        "export RUN_NUM=3",
        "export RUN_NUM=4",
    }
    shown = status_rows(wf_ids[0], work_dir, slurm_env)["Tester"]
    assert (shown["STATUS"], shown["NOTE"]) == ("QUEUED", "JobHeldUser")
    for wf_id in wf_ids:
        cancel = run_lute(["workflow", "cancel", wf_id, "--work-dir", str(work_dir)], slurm_env)
        assert "dropped 1 queued job(s) (Tester)" in cancel.stdout, cancel.stderr
    assert status_rows(wf_ids[1], work_dir, slurm_env)["Tester"]["STATUS"] == "CANCELLED (not run)"
