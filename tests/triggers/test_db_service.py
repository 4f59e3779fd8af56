"""``lute watch`` with a database trigger on lute's own run database."""

from __future__ import annotations

import re

from conftest import run_lute, task_rows, write_config

from .helpers import Watch, ledger_launches, write_triggers

COMPLETED = "\"result.task_status\" = 'COMPLETED'"


def test_a_completed_write_launches_read_once_even_across_kill_9(lute_env, work_dir, tmp_path):
    outputs = [tmp_path / "first.txt", tmp_path / "second.txt"]
    writes = [
        write_config(tmp_path / f"write{i}.yaml", {"TestWriteOutput": {"out_file": str(out)}})
        for i, out in enumerate(outputs)
    ]
    read = write_config(
        tmp_path / "read.yaml", {"TestReadOutput": {"in_file": "{{ trigger.row.out_file }}"}}
    )
    triggers = write_triggers(
        tmp_path / "TRIGGERS.yaml",
        [
            {
                "name": "after-write",
                "database": {
                    "table": "TestWriteOutput",
                    "where": [COMPLETED, "valid_flag = 1"],
                    "poll_interval": 0.2,
                },
                "run": {"managed_task": "ReadTester", "config": str(read)},
            }
        ],
    )
    db = work_dir / "lute.db"
    watch = Watch(triggers, lute_env)
    watch.wait_for("watching: after-write")
    wrote = run_lute(["run", "-t", "WriteTester", "-c", str(writes[0])], lute_env)
    assert wrote.returncode == 0, wrote.stderr
    watch.wait_for(r"launch \d+ ended: completed")
    watch.proc.kill()
    watch.finish()

    again = run_lute(["watch", str(triggers), "--once"], lute_env)
    assert again.returncode == 0, again.stderr
    assert not re.search(r"launch \d+: ReadTester", again.stderr), again.stderr
    assert [row["in_file"] for row in task_rows(db, "TestReadOutput")] == [str(outputs[0])]

    restarted = Watch(triggers, lute_env)
    restarted.wait_for("watching: after-write")
    wrote = run_lute(["run", "-t", "WriteTester", "-c", str(writes[1])], lute_env)
    assert wrote.returncode == 0, wrote.stderr
    restarted.wait_for(r"launch \d+ ended: completed")
    assert restarted.stop() == 0, restarted.log()

    rows = task_rows(db, "TestReadOutput")
    assert [row["in_file"] for row in rows] == [str(output) for output in outputs]
    assert {row["result.task_status"] for row in rows} == {"COMPLETED"}
    launches = ledger_launches(db, "after-write")
    assert [launch["outcome"] for launch in launches] == ["completed", "completed"]
    written = task_rows(db, "TestWriteOutput")
    assert [launch["keys"] for launch in launches] == [[f"id={row['id']}"] for row in written]
