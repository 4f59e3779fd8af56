"""1,000 files at once: every one launched once, never more than ``max_running`` at a time.

The launches run a ``command`` (a shell appending two lines to a shared
file), not a managed task: a managed task costs a Python interpreter and a
Task process, about 0.7 s of CPU each, which 1,000 times over is several
minutes on a test machine. Queueing, claiming and the process limit are the
same code whatever is launched.
"""

from __future__ import annotations

from collections import Counter

from .helpers import Watch, ledger_launches, processes_with, write_triggers

FILES = 1000
MAX_RUNNING = 2


def test_a_thousand_files_at_once_are_each_launched_once_two_at_a_time(
    lute_env, work_dir, tmp_path
):
    raw = tmp_path / "raw"
    raw.mkdir()
    journal = tmp_path / "journal"
    script = f'echo "+ $1" >> {journal}; echo "- $1" >> {journal}'
    triggers = write_triggers(
        tmp_path / "TRIGGERS.yaml",
        [
            {
                "name": "flood",
                "dir": {"path": str(raw), "events": ["closed"], "pattern": r"\.h5$"},
                "run": {"command": ["sh", "-c", script, "sh", "{{ trigger.path }}"]},
                "max_running": MAX_RUNNING,
            }
        ],
    )
    watch = Watch(triggers, lute_env)
    watch.wait_for("watching: flood")
    paths = [raw / f"frame{index:05d}.h5" for index in range(FILES)]
    for path in paths:
        path.write_bytes(b"x")
    watch.wait_for(r"launch \d+ ended: completed", count=FILES, timeout=120)
    assert watch.stop() == 0, watch.log()[-2000:]

    lines = journal.read_text().splitlines()
    starts = Counter(line[2:] for line in lines if line.startswith("+ "))
    assert starts == Counter({str(path): 1 for path in paths})
    running = peak = 0
    for line in lines:
        running += 1 if line.startswith("+ ") else -1
        peak = max(peak, running)
    assert 1 <= peak <= MAX_RUNNING
    launches = ledger_launches(work_dir / "lute.db", "flood")
    assert len(launches) == FILES
    assert sorted(key.split("|")[0] for launch in launches for key in launch["keys"]) == [
        str(path) for path in paths
    ]
    assert processes_with(watch.token) == []
