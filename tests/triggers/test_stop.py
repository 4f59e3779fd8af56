"""SIGTERM to ``lute watch`` while a launched Task runs: it finishes, or is cancelled."""

from __future__ import annotations

import signal

import pytest
from conftest import task_rows

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


@pytest.mark.parametrize(
    ("on_stop", "status", "outcome"),
    [("wait", "COMPLETED", "completed"), ("cancel", "CANCELLED", "cancelled")],
)
def test_sigterm_leaves_the_running_task_to_finish_or_cancels_it(
    on_stop, status, outcome, lute_env, work_dir, tmp_path
):
    raw = tmp_path / "raw"
    raw.mkdir()
    started, released = tmp_path / "started", tmp_path / "released"
    config = blocking_task_config(tmp_path / "cfg.yaml", started, released)
    triggers = write_triggers(
        tmp_path / "TRIGGERS.yaml",
        [
            {
                "name": "blocking",
                "dir": {"path": str(raw), "events": ["closed"]},
                "run": {"managed_task": "BinaryTester", "config": str(config)},
                "on_stop": on_stop,
            }
        ],
    )
    watch = Watch(triggers, lute_env)
    watch.wait_for("watching: blocking")
    write_in_pieces(raw / "scan.h5")
    assert fifo_message(started) == "started\n"

    watch.signal(signal.SIGTERM)
    if on_stop == "wait":
        watch.wait_for("stopping: no new launches; 1 running")
        release(released)  # raises if the Task is no longer waiting
    assert watch.finish() == 0, watch.log()

    (row,) = task_rows(work_dir / "lute.db", "TestBinary")
    assert row["result.task_status"] == status
    (launch,) = ledger_launches(work_dir / "lute.db", "blocking")
    assert (launch["state"], launch["outcome"]) == ("ended", outcome)
    assert launch["run_ids"] == f'["{row["run_id"]}"]'
    assert processes_with(watch.token) == []
