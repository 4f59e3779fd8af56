"""A watcher killed outright: the next one neither launches twice nor drops anything."""

from __future__ import annotations

import json
import socket
import uuid

from conftest import task_rows, write_config

from lute.db.ledger import EventRecord, Ledger
from lute.triggers.dir import DirTrigger

from .helpers import (
    Watch,
    blocking_task_config,
    fifo_message,
    ledger_launches,
    processes_with,
    release,
    write_in_pieces,
    write_triggers,
)


def _dir_triggers(tmp_path, raw, managed_task, config, **trigger):
    spec = {
        "name": "files",
        "dir": {"path": str(raw), "events": ["closed"]},
        "run": {"managed_task": managed_task, "config": str(config)},
        **trigger,
    }
    return write_triggers(tmp_path / "TRIGGERS.yaml", [spec])


def test_a_launch_running_when_the_watcher_is_killed_is_followed_not_relaunched(
    lute_env, work_dir, tmp_path
):
    raw = tmp_path / "raw"
    raw.mkdir()
    started, released = tmp_path / "started", tmp_path / "released"
    config = blocking_task_config(tmp_path / "cfg.yaml", started, released)
    triggers = _dir_triggers(tmp_path, raw, "BinaryTester", config)
    watch = Watch(triggers, lute_env)
    watch.wait_for("watching: files")
    write_in_pieces(raw / "scan.h5")
    assert fifo_message(started) == "started\n"
    watch.proc.kill()
    watch.finish()

    restarted = Watch(triggers, lute_env)
    restarted.wait_for(r"launch 1 is still running \(pid .*\); following it")
    restarted.wait_for("watching: files")
    release(released)
    restarted.wait_for("launch 1 ended: completed")
    assert restarted.stop() == 0, restarted.log()

    assert "launch 2" not in restarted.log()
    (row,) = task_rows(work_dir / "lute.db", "TestBinary")
    assert row["result.task_status"] == "COMPLETED"
    (launch,) = ledger_launches(work_dir / "lute.db", "files")
    assert (launch["state"], launch["outcome"]) == ("ended", "completed")
    assert json.loads(launch["run_ids"]) == [row["run_id"]]
    assert processes_with(watch.token) == processes_with(restarted.token) == []


def test_a_claimed_launch_that_never_started_is_launched_again_and_one_that_did_is_not(
    lute_env, work_dir, tmp_path
):
    raw = tmp_path / "raw"
    raw.mkdir()
    config = write_config(
        tmp_path / "cfg.yaml", {"Test": {"loops": 0, "str_var": "{{ trigger.path }}"}}
    )
    triggers = _dir_triggers(tmp_path, raw, "Tester", config)
    for name in ("never.h5", "began.h5"):
        write_in_pieces(raw / name)
    # What a watcher killed right after claiming leaves behind: two claimed launches,
    # one whose process never got as far as starting a run, one whose log shows a run.
    ledger = Ledger(f"sqlite:///{work_dir / 'lute.db'}")
    ledger.create()
    trigger = DirTrigger(raw, ["closed"])
    events = [trigger.event_for("closed", str(raw / name)) for name in ("never.h5", "began.h5")]
    ledger.enqueue([EventRecord("files", e.key, e.kind, e.time, e.context()) for e in events if e])
    never, began = ledger.claim("files", 1, 2, socket.gethostname())
    run_id = uuid.uuid4().hex
    log = work_dir / "triggers" / "files" / f"{began.launch_id:06d}.log"
    log.parent.mkdir(parents=True)
    log.write_text(f"INFO:lute.execution.executor: Test: run {run_id} (cancel with: ...)\n")

    again = Watch(triggers, lute_env, "--once")
    assert again.finish() == 0, again.log()

    assert f"launch {never.launch_id} never started work" in again.log()
    assert f"launch {began.launch_id} ended while no watcher ran: unknown" in again.log()
    (row,) = task_rows(work_dir / "lute.db", "Test")
    assert row["str_var"] == str(raw / "never.h5")
    launches = {launch["id"]: launch for launch in ledger_launches(work_dir / "lute.db", "files")}
    assert launches[never.launch_id]["state"] == "released"
    assert launches[began.launch_id]["state"] == "ended"
    assert json.loads(launches[began.launch_id]["run_ids"]) == [run_id]
    (relaunch,) = (launch for launch in launches.values() if launch["id"] > began.launch_id)
    assert relaunch["keys"] == [events[0].key]
    assert relaunch["outcome"] == "completed"
