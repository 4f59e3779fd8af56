"""LUTE and lute read each other's run databases.

* LUTE's reader, on a database lute wrote, finds lute's files under the
  column names LUTE uses (its queries are reproduced in ``lute_db.py``).
* lute reads a database LUTE wrote (``lute db list|show|history``,
  ``read_latest_db_entry``, ``get_result``) without changing a byte of it,
  refuses to write into it, and ``lute db import`` copies its runs into a
  lute database.
"""

from __future__ import annotations

import json

from conftest import run_lute, task_rows, write_config

from lute.core.analysis import TaskStatus
from lute.db.latest import read_latest_db_entry
from lute.db.results import get_result, list_runs, resolve_database

from .lute_db import SECRET, checksum, lute_style_latest, write_lute_database


def test_lutes_reader_finds_what_lute_wrote(lute_env, work_dir, tmp_path):
    config = write_config(tmp_path / "c.yaml", {"TestWriteOutput": {"num_vals": 3}}, {"run": 12})
    done = run_lute(["run", "-t", "WriteTester", "-c", str(config)], lute_env)
    assert done.returncode == 0, done.stderr
    found = lute_style_latest(work_dir, "TestWriteOutput", "outfile_name")
    assert found == "test_output.txt"  # not the literal 'outfile_name' of a missing column
    assert (work_dir / found).read_text().split() == [f"{float(i):.18e}" for i in range(3)]
    assert lute_style_latest(work_dir, "TestWriteOutput", "outfile_name", for_run=12) == found
    assert lute_style_latest(work_dir, "TestWriteOutput", "outfile_name", for_run=13) is None
    assert lute_style_latest(work_dir, "TestWriteOutput", "num_vals") == 3


def test_lute_reads_a_lute_written_database_without_changing_it(lute_env, work_dir, tmp_path):
    database = write_lute_database(work_dir / "lute.db")
    before = checksum(database)
    files_before = sorted(p.name for p in work_dir.iterdir())

    listing = run_lute(["db", "list", "--work-dir", str(work_dir)], lute_env)
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()[2:]
    assert [line.split()[1:3] for line in lines] == [
        ["TestWriteOutput", "FAILED"],
        ["TestWriteOutput", "COMPLETED"],
        ["Test", "COMPLETED"],
        ["TestWriteOutput", "COMPLETED"],
    ]
    run_id = lines[1].split()[0]
    assert run_id.startswith("lute-")
    shown = run_lute(["db", "show", run_id[:10], "--json", "--work-dir", str(work_dir)], lute_env)
    assert shown.returncode == 0, shown.stderr
    result = json.loads(shown.stdout)
    assert (result["task_name"], result["status"]) == ("TestWriteOutput", "COMPLETED")
    assert result["parameters"] == {"outfile_name": "lute_wrote_this.txt", "num_vals": 7}
    assert result["header"]["run"] == "13"
    assert result["end_time"] == "2024-05-01T11:00:00+00:00"
    history = run_lute(
        ["db", "history", "TestWriteOutput", "outfile_name", "--work-dir", str(work_dir)],
        lute_env,
    )
    assert history.returncode == 0, history.stderr
    assert "lute_wrote_this.txt" in history.stdout

    assert read_latest_db_entry(work_dir, "TestWriteOutput", "outfile_name") == (
        "lute_wrote_this.txt"
    )
    assert read_latest_db_entry(work_dir, "TestWriteOutput", "outfile_name", for_run=12) == (
        "old.txt"
    )
    assert read_latest_db_entry(work_dir, "Test", "compound_var.int_var") == 3
    assert get_result(run_id, work_dir).payload == "/sdf/scratch/lute_wrote_this.txt"
    opened = resolve_database(work_dir)
    assert [r.status for r in list_runs(opened, task="Test")] == [TaskStatus.COMPLETED.value]

    # Writing is refused, before anything runs.
    refused = run_lute(
        ["db", "invalidate", run_id, "--reason", "x", "--work-dir", str(work_dir)], lute_env
    )
    assert refused.returncode == 2
    assert "is a LUTE database, which lute only reads" in refused.stderr
    config = write_config(tmp_path / "c.yaml", {"Test": {"loops": 1}})
    run = run_lute(["run", "-t", "Tester", "-c", str(config)], lute_env)
    assert run.returncode == 2
    assert "is a LUTE database; lute does not write into it" in run.stderr

    assert checksum(database) == before
    assert sorted(p.name for p in work_dir.iterdir()) == files_before  # no -wal, -shm, journal


def test_lute_db_import_copies_lutes_runs(lute_env, work_dir, tmp_path):
    source = write_lute_database(tmp_path / "lute_from_lute.db")
    before = checksum(source)
    target_url = f"sqlite:///{work_dir / 'lute.db'}"
    done = run_lute(["db", "import", str(source), "--url", target_url], lute_env)
    assert done.returncode == 0, done.stderr
    assert "imported 4 run(s)" in done.stdout
    again = run_lute(["db", "import", str(source), "--url", target_url], lute_env)
    assert "imported 0 run(s)" in again.stdout and "(4 already there)" in again.stdout
    assert checksum(source) == before

    rows = task_rows(work_dir / "lute.db", "TestWriteOutput")
    assert [r["outfile_name"] for r in rows] == ["old.txt", "lute_wrote_this.txt", "failed.txt"]
    assert [r["valid_flag"] for r in rows] == [1, 1, 0]
    assert SECRET.encode() not in (work_dir / "lute.db").read_bytes()
    (env_row,) = task_rows(work_dir / "lute.db", "exec_cfg")
    assert json.loads(env_row["env"])["SLURM_JOB_ID"] == "77"

    # lute's ReadTester now finds the file LUTE's TestWriteOutput recorded.
    (work_dir / "lute_wrote_this.txt").write_text("1.0\n2.0\n")
    config = write_config(tmp_path / "c.yaml", {"TestReadOutput": {"in_file": ""}})
    read = run_lute(["run", "-t", "ReadTester", "-c", str(config)], lute_env)
    assert read.returncode == 0, read.stderr
    assert f"Read 2 lines from {work_dir / 'lute_wrote_this.txt'}" in read.stderr


def test_import_refuses_what_is_not_a_lute_database(lute_env, work_dir, tmp_path):
    not_lute = tmp_path / "other.db"
    not_lute.write_bytes(b"")
    done = run_lute(["db", "import", str(not_lute), "--work-dir", str(work_dir)], lute_env)
    assert done.returncode == 2
    assert "is not a LUTE database" in done.stderr
