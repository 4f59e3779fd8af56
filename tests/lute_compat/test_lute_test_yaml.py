"""LUTE's own ``config/test.yaml`` runs LUTE's test managed tasks to COMPLETED.

The file is LUTE's, unchanged but for ``work_dir`` (``tests/data/lute/``).
Its header takes the experiment and run from ``$EXPERIMENT`` and ``$RUN``,
as LUTE's does; its ``TestBinary`` names a program at SLAC, so the test
points ``executable`` at a stand-in with lute's ``LUTE_<param>`` override,
leaving the file alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO, run_lute, task_rows
from programs import write_program

from lute.config.loader import load_task_parameters
from lute.config.models import tests as test_models

LUTE_TEST_YAML = REPO / "tests" / "data" / "lute" / "test.yaml"

THREADS = """
import json, sys, threading
with open(sys.argv[0] + ".argv", "w") as out:
    json.dump(sys.argv[1:], out)
threads = [threading.Thread(target=print, args=(f"thread {i}",)) for i in range(int(sys.argv[1]))]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
"""


@pytest.fixture
def lute_yaml_env(lute_env: dict[str, str]) -> dict[str, str]:
    """What LUTE's header reads: ``$EXPERIMENT`` and ``$RUN``."""
    return {**lute_env, "EXPERIMENT": "xpplx9221", "RUN": "12"}


def run_managed(name: str, env: dict[str, str]) -> None:
    done = run_lute(["run", "-t", name, "-c", str(LUTE_TEST_YAML)], env)
    assert done.returncode == 0, f"{name}:\n{done.stderr[-3000:]}"


def test_lute_test_yaml_is_lutes_file_with_only_work_dir_changed():
    lines = LUTE_TEST_YAML.read_text().splitlines()
    assert lines[:2] == ["%YAML 1.3", "---"]
    assert [line for line in lines if line.startswith("work_dir:")] == [
        'work_dir: "{{ $LUTE_WORK_DIR }}"'
    ]
    assert "  array_size: 8000 # Size of arrays to send. 8000 floats ~ 6.4e4" in lines
    assert "  p_arg1: 4 # Number of cores" in lines


def test_lutes_test_sections_run_to_completed(lute_yaml_env, work_dir, tmp_path, monkeypatch):
    for name in ("Tester", "SocketTester", "WriteTester", "ReadTester"):
        run_managed(name, lute_yaml_env)
    program = write_program(tmp_path / "test_threads", THREADS)
    run_managed("BinaryTester", {**lute_yaml_env, "LUTE_executable": str(program)})

    db = work_dir / "lute.db"
    for table in ("Test", "TestSocket", "TestWriteOutput", "TestReadOutput", "TestBinary"):
        (row,) = task_rows(db, table)
        assert (row["result.task_status"], row["valid_flag"]) == ("COMPLETED", 1), table

    (socket,) = task_rows(db, "TestSocket")
    assert (socket["array_size"], socket["num_arrays"]) == (8000, 10)
    assert len(json.loads(socket["result.payload"])) == 10

    (written,) = task_rows(db, "TestWriteOutput")
    assert (written["outfile_name"], written["num_vals"]) == ("test_output.txt", 100)
    values = (work_dir / "test_output.txt").read_text().split()
    assert [float(v) for v in values] == [float(i) for i in range(100)]
    (read,) = task_rows(db, "TestReadOutput")
    assert read["in_file"] == str(work_dir / "test_output.txt")

    (binary,) = task_rows(db, "TestBinary")
    assert binary["p_arg1"] == 4
    assert json.loads(Path(f"{program}.argv").read_text()) == ["4"]

    # LUTE's explicit in_file: "" means "find it in the database", not the work dir.
    monkeypatch.setenv("EXPERIMENT", "xpplx9221")
    monkeypatch.setenv("RUN", "12")
    monkeypatch.setenv("LUTE_WORK_DIR", str(work_dir))
    explicit = tmp_path / "explicit.yaml"
    explicit.write_text(f"work_dir: {work_dir}\n---\nTestReadOutput:\n  in_file: ''\n")
    params = load_task_parameters(explicit, "TestReadOutput", test_models.TestReadOutputParameters)
    assert params.in_file == str(work_dir / "test_output.txt")
