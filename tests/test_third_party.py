"""Third-party managed tasks run real programs through ``python -m lute run``."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from conftest import run_lute, run_python, task_rows, write_config
from programs import ARGV_PRINTER, FAILING, tagged_lines, write_program


def test_every_flag_style_reaches_the_program_and_the_record(lute_env, work_dir, tmp_path):
    program = write_program(tmp_path / "print_argv", ARGV_PRINTER)
    out_file = str(work_dir / "result.h5")
    config = write_config(
        tmp_path / "cfg.yaml",
        {
            "TestThirdParty": {
                "executable": str(program),
                "n": 3,
                "num_events": 10,
                "out_file": out_file,
                "geom": "det.geom",
                "mode": "fast",
                "verbose": True,
                "threads": 4,
                "j": 2,
                "files": ["a.h5", "b.h5"],
                "include": ["x", "y"],
                "p_arg1": "first",
                "p_arg2": "with space",
                "unset": None,
            }
        },
    )
    done = run_lute(["run", "-t", "ThirdPartyTester", "-c", str(config)], lute_env)
    assert done.returncode == 0, done.stderr
    expected = [
        "-n", "3", "--num_events", "10", "--output", out_file, "-geom", "det.geom",
        "fast", "--verbose", "--threads=4", "-j=2", "--files", "a.h5", "b.h5",
        "-I", "x", "-I", "y", "first", "with space",
    ]  # fmt: skip
    (row,) = task_rows(work_dir / "lute.db", "TestThirdParty")
    stdout_log = Path(row["log_stdout"]).read_text()
    assert [json.loads(line) for line in tagged_lines(stdout_log, "ARGV")] == [expected]
    assert f"Running: {shlex.join([str(program), *expected])}" in done.stderr
    assert row["lute_command"] == shlex.join([str(program), *expected])
    assert row["result.task_status"] == "COMPLETED"
    assert row["exit_code"] == 0
    assert row["valid_flag"] == 1
    assert row["result.payload"] == out_file  # is_result on out_file
    assert row["result.impl_schemas"] == "lute.test.argv"


def test_failing_program_ends_failed_with_its_exit_code(lute_env, work_dir, tmp_path):
    program = write_program(tmp_path / "fail", FAILING)
    config = write_config(tmp_path / "cfg.yaml", {"TestThirdParty": {"executable": str(program)}})
    done = run_lute(["run", "-t", "ThirdPartyTester", "-c", str(config)], lute_env)
    assert done.returncode == 1
    assert "about to fail" in done.stderr
    (row,) = task_rows(work_dir / "lute.db", "TestThirdParty")
    assert row["result.task_status"] == "FAILED"
    assert row["exit_code"] == 5
    assert row["valid_flag"] == 0
    assert "exited with code 5" in row["result.summary"]


def test_missing_executable_is_named_and_recorded_as_invalid(lute_env, work_dir, tmp_path):
    config = write_config(
        tmp_path / "cfg.yaml", {"TestThirdParty": {"executable": "no-such-program-4711"}}
    )
    done = run_lute(["run", "-t", "ThirdPartyTester", "-c", str(config)], lute_env)
    assert done.returncode == 1
    assert "executable 'no-such-program-4711' not found" in done.stderr
    assert "Traceback" not in done.stderr
    (row,) = task_rows(work_dir / "lute.db", "TestThirdParty")
    assert row["result.task_status"] == "FAILED"
    assert row["valid_flag"] == 0
    assert row["exit_code"] == 2
    assert "no-such-program-4711" in row["result.summary"]


ENV_DRIVER = """
import sys
from lute.tasks.environment import ProgramEnvironment
from lute.managed_tasks import ManagedTask

config, script, extra_bin = sys.argv[1:]
managed = ManagedTask(
    "TestThirdParty",
    program_env=ProgramEnvironment(script=script, variables={"PATH": extra_bin}),
)
sys.exit(0 if managed.build().execute_task(config).successful else 1)
"""

SETUP_SCRIPT = """
# A facility setup script: another software stack, hostile to lute's Python.
PROGRAM_STACK=stack-2026
PYTHONHOME=/nonexistent/python/home
PATH="{stack_bin}:$PATH"
"""

STACK_PROGRAM = """#!/bin/sh
echo "STACK $PROGRAM_STACK $PYTHONHOME $(command -v extra-tool)"
"""


def test_program_runs_in_the_sourced_environment_task_in_lutes(lute_env, work_dir, tmp_path):
    stack_bin = tmp_path / "stack" / "bin"
    extra_bin = tmp_path / "extra" / "bin"
    for directory in (stack_bin, extra_bin):
        directory.mkdir(parents=True)
    stack_program = stack_bin / "stack-program"
    stack_program.write_text(STACK_PROGRAM)
    stack_program.chmod(0o755)
    (extra_bin / "extra-tool").write_text("#!/bin/sh\n")
    (extra_bin / "extra-tool").chmod(0o755)
    setup = tmp_path / "setup.sh"
    setup.write_text(SETUP_SCRIPT.format(stack_bin=stack_bin))
    driver = tmp_path / "driver.py"
    driver.write_text(ENV_DRIVER)
    section = {"TestThirdParty": {"executable": "stack-program"}}
    config = write_config(tmp_path / "cfg.yaml", section)
    done = run_python([str(driver), str(config), str(setup), str(extra_bin)], lute_env)
    assert done.returncode == 0, done.stderr
    (row,) = task_rows(work_dir / "lute.db", "TestThirdParty")
    stdout_log = Path(row["log_stdout"]).read_text()
    assert tagged_lines(stdout_log, "STACK") == [
        f"stack-2026 /nonexistent/python/home {extra_bin / 'extra-tool'}"
    ]
