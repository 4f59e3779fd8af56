"""``lute watch`` with directory triggers: real files written into a real directory."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import run_lute, task_rows, write_config

from .helpers import Watch, header_runs, ledger_launches, write_in_pieces, write_triggers

PATTERN = r"run(?P<run>\d+)\.h5$"


def _setup(tmp_path: Path, str_var: str, **trigger: object) -> tuple[Path, Path]:
    raw = tmp_path / "raw"
    raw.mkdir()
    config = write_config(tmp_path / "cfg.yaml", {"Test": {"loops": 0, "str_var": str_var}})
    spec = {
        "name": "new-files",
        "dir": {"path": str(raw), "events": ["closed"], "pattern": PATTERN},
        "run": {"managed_task": "Tester", "config": str(config)},
        **trigger,
    }
    return raw, write_triggers(tmp_path / "TRIGGERS.yaml", [spec])


def _launch_id(watch: Watch, path: Path) -> str:
    (line,) = watch.wait_for(rf"launch \d+: Tester for closed {re.escape(str(path))} ")
    return line.split("launch ", 1)[1].split(":", 1)[0]


def test_files_written_slowly_launch_one_run_each_with_its_own_path(lute_env, work_dir, tmp_path):
    raw, triggers = _setup(tmp_path, "{{ trigger.path }}", max_running=2)
    watch = Watch(triggers, lute_env)
    watch.wait_for("watching: new-files")

    first = open(raw / "run0001.h5", "wb")  # noqa: SIM115 (kept open across the steps below)
    first.write(b"piece 0\n")
    first.flush()
    write_in_pieces(raw / "run0002.h5")
    second = _launch_id(watch, raw / "run0002.h5")
    watch.wait_for(rf"launch {second} ended: completed")
    assert "run0001.h5" not in watch.log(), "a file still being written was launched"
    first.write(b"piece 1\n")
    first.close()
    (raw / "notes.txt").write_text("not data\n")
    write_in_pieces(raw / "run0009.h5.part")
    for number in (3, 4, 5):
        write_in_pieces(raw / f"run000{number}.h5")
    watch.wait_for(r"launch \d+ ended: completed", count=5)
    assert watch.stop() == 0, watch.log()

    db = work_dir / "lute.db"
    expected = [str(raw / f"run000{n}.h5") for n in range(1, 6)]
    rows = task_rows(db, "Test")
    assert sorted(row["str_var"] for row in rows) == expected
    assert {row["result.task_status"] for row in rows} == {"COMPLETED"}
    assert header_runs(db, "Test") == {path: str(n) for n, path in enumerate(expected, 1)}
    launches = ledger_launches(db, "new-files")
    assert sorted(launch["keys"][0].split("|")[0] for launch in launches) == expected
    assert [len(launch["keys"]) for launch in launches] == [1] * 5
    assert {launch["outcome"] for launch in launches} == {"completed"}


def test_batch_size_two_launches_once_per_two_files(lute_env, work_dir, tmp_path):
    raw, triggers = _setup(
        tmp_path,
        "paths: {{ trigger.paths }}",
        dir={"path": "raw", "events": ["closed"], "pattern": PATTERN, "batch_size": 2},
    )
    watch = Watch(triggers, lute_env)
    watch.wait_for("watching: new-files")
    for number in range(1, 6):
        write_in_pieces(raw / f"run000{number}.h5")
    watch.wait_for(r"launch \d+ ended: completed", count=2)
    assert watch.stop() == 0, watch.log()

    db = work_dir / "lute.db"
    paths = [str(raw / f"run000{n}.h5") for n in range(1, 6)]
    assert [row["str_var"] for row in task_rows(db, "Test")] == [
        f"paths: {paths[0:2]}",
        f"paths: {paths[2:4]}",
    ]
    launches = ledger_launches(db, "new-files")
    assert [[key.split("|")[0] for key in launch["keys"]] for launch in launches] == [
        paths[0:2],
        paths[2:4],
    ]
    assert "1 event(s) wait for a full batch of 2" in _dry_run(triggers, watch.env)


def _dry_run(triggers: Path, env: dict[str, str]) -> str:
    done = run_lute(["watch", str(triggers), "--dry-run"], env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_files_that_arrive_while_stopped_are_launched_once_after_restart(
    lute_env, work_dir, tmp_path
):
    raw, triggers = _setup(tmp_path, "{{ trigger.path }}")
    watch = Watch(triggers, lute_env)
    watch.wait_for("watching: new-files")
    write_in_pieces(raw / "run0001.h5")
    watch.wait_for(r"launch \d+ ended: completed")
    assert watch.stop() == 0, watch.log()

    for number in (2, 3):
        write_in_pieces(raw / f"run000{number}.h5")
    restarted = Watch(triggers, lute_env)
    starts = restarted.wait_for(r"launch \d+: Tester for existing", count=2)
    restarted.wait_for(r"launch \d+ ended: completed", count=2)
    assert restarted.stop() == 0, restarted.log()

    assert [line.rsplit("existing ", 1)[1].split(" ")[0] for line in starts] == [
        str(raw / "run0002.h5"),
        str(raw / "run0003.h5"),
    ]
    rows = task_rows(work_dir / "lute.db", "Test")
    assert sorted(row["str_var"] for row in rows) == [
        str(raw / f"run000{n}.h5") for n in range(1, 4)
    ]
