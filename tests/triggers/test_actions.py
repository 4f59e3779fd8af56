"""What a trigger launches: a workflow here, a managed task submitted to SLURM."""

from __future__ import annotations

import json

from conftest import task_rows, write_config
from test_slurm import final_rows, wait_for

from .helpers import Watch, header_runs, ledger_launches, write_in_pieces, write_triggers

PATTERN = r"run(?P<run>\d+)\.h5$"


def _triggers(tmp_path, run):
    raw = tmp_path / "raw"
    raw.mkdir()
    spec = {"name": "arrivals", "dir": {"path": "raw", "pattern": PATTERN}, "run": run}
    return raw, write_triggers(tmp_path / "TRIGGERS.yaml", [spec])


def test_a_trigger_runs_a_workflow_here_with_its_values_in_the_config(lute_env, work_dir, tmp_path):
    dag = tmp_path / "dag.yaml"
    dag.write_text("task_name: WriteTester\nnext:\n  - task_name: ReadTester\n")
    out = "{{ lute_config.work_dir }}/out_{{ trigger.match.run }}.txt"
    write_config(tmp_path / "cfg.yaml", {"TestWriteOutput": {"out_file": out}})
    raw, triggers = _triggers(tmp_path, {"workflow": "dag.yaml", "config": "cfg.yaml"})
    watch = Watch(triggers, lute_env)
    watch.wait_for("watching: arrivals")
    write_in_pieces(raw / "run0042.h5")
    watch.wait_for(r"launch 1 ended: completed")
    assert watch.stop() == 0, watch.log()

    db = work_dir / "lute.db"
    (written,) = task_rows(db, "TestWriteOutput")
    (read,) = task_rows(db, "TestReadOutput")
    assert written["out_file"] == read["in_file"] == str(work_dir / "out_0042.txt")
    (launch,) = ledger_launches(db, "arrivals")
    assert sorted(json.loads(launch["run_ids"])) == sorted([written["run_id"], read["run_id"]])
    assert {row["run"] for row in task_rows(db, "gen_cfg")} == {"42"}


def test_a_trigger_submits_a_managed_task_to_slurm(slurm_env, work_dir, tmp_path):
    config = write_config(
        tmp_path / "cfg.yaml",
        {"Test": {"loops": 0, "str_var": "{{ trigger.path }}"}},
        {"work_dir": str(work_dir)},
    )
    run = {
        "managed_task": "Tester",
        "config": str(config),
        "submit": True,
        "slurm_params": "--time=00:05:00",
    }
    raw, triggers = _triggers(tmp_path, run)
    watch = Watch(triggers, slurm_env)
    watch.wait_for("watching: arrivals")
    write_in_pieces(raw / "run0007.h5")
    (ended,) = watch.wait_for(r"launch 1 ended: submitted \(exit 0\); jobs \d+")
    assert watch.stop() == 0, watch.log()

    job_id = ended.rsplit("jobs ", 1)[1]
    (row,) = wait_for("the run record", final_rows(work_dir, "Test"))
    assert (row["slurm_job_id"], row["result.task_status"]) == (job_id, "COMPLETED")
    assert header_runs(work_dir / "lute.db", "Test") == {str(raw / "run0007.h5"): "7"}
    (launch,) = ledger_launches(work_dir / "lute.db", "arrivals")
    assert (launch["outcome"], json.loads(launch["job_ids"])) == ("submitted", [job_id])
    assert list((work_dir / "slurm").glob(f"Tester_xpptest_r7_*_{job_id}.log"))
