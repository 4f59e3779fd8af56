"""Task code written the LUTE way runs unchanged.

``lute_style_pkg`` follows LUTE's docs/development/new_task.md: models with
an inner ``class Config(TaskParameters.Config)`` (``set_result``,
``result_from_params``, ``impl_schemas``, ``long_flags_use_eq``), ``Field``
attributes, v1 ``validator``s; a Task with ``__init__(self, *, params)``;
managed tasks declared as ``Executor("RunTask")`` and ``MPIExecutor(...)``
objects with a tasklet whose ``{{ }}`` arguments come from the parameters.
Only its entry points are lute's.
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import pytest
from conftest import run_lute, run_python, task_rows, write_config
from programs import ARGV_PRINTER, tagged_lines, write_program


def test_a_lute_first_party_task_runs_with_its_tasklet(lute_style_env, work_dir, tmp_path):
    config = write_config(tmp_path / "cfg.yaml", {"RunTask": {"count": 4}}, {"run": 12})
    done = run_lute(["run", "-t", "TaskRunner", "-c", str(config)], lute_style_env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Writing 4 numbers" in done.stderr
    out_file = work_dir / "numbers.txt"
    assert out_file.read_text() == "0\n1\n2\n3\n"

    (row,) = task_rows(work_dir / "lute.db", "RunTask")
    assert (row["result.task_status"], row["valid_flag"]) == ("COMPLETED", 1)
    assert row["label"] == "xpptest"  # Optional without default + validator reading values
    assert row["result.payload"] == str(out_file)
    assert row["result.impl_schemas"] == "lute_style.numbers"
    # set_summary appends the tasklet's value to the Task's own summary.
    assert json.loads(row["result.summary"]) == [
        f"xpptest: wrote {out_file}",
        {"lines": "4", "run": "r12"},
    ]


def test_a_lute_third_party_model_builds_lutes_command(lute_style_env, work_dir, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    write_program(bin_dir / "runtask2", ARGV_PRINTER)
    out = str(work_dir / "out.h5")
    section = {"in_file": "in.h5", "num_threads": 4, "output": out, "debug": True}
    config = write_config(tmp_path / "cfg.yaml", {"RunTask2": section})
    env = {**lute_style_env, "PATH": f"{bin_dir}:{lute_style_env['PATH']}"}
    done = run_lute(["run", "-t", "Task2Runner", "-c", str(config)], env)
    assert done.returncode == 0, done.stderr[-3000:]
    expected = ["in.h5", "-n", "4", "--method=algo1", "-p", "3", "--debug", "-o", out]
    (row,) = task_rows(work_dir / "lute.db", "RunTask2")
    argv_lines = tagged_lines(Path(row["log_stdout"]).read_text(), "ARGV")
    assert [json.loads(line) for line in argv_lines] == [expected]
    assert row["lute_command"] == shlex.join(["runtask2", *expected])
    assert row["result.payload"] == out  # Field(..., is_result=True) under set_result


def test_mpi_executor_objects_are_managed_tasks(lute_style_env):
    probe = (
        "from lute.managed_tasks import get_managed_task\n"
        "from lute.execution.mpi import MPIExecutor\n"
        "built = get_managed_task('MPITaskRunner').build()\n"
        "print(type(built).__name__, built.task_name, isinstance(built, MPIExecutor))\n"
    )
    done = run_python(["-c", probe], lute_style_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["MPIExecutor", "RunTask", "True"]


class _Channel:
    def __init__(self) -> None:
        self.sent: list = []

    def write(self, msg) -> None:
        self.sent.append(msg)

    def close(self) -> None:
        pass


def test_config_run_directory_is_where_the_task_runs(tmp_path, monkeypatch):
    from lute.io.models.base import TaskParameters
    from lute.tasks.base import build_task
    from lute.tasks.task import Task

    monkeypatch.chdir(tmp_path)
    run_here = tmp_path / "run_here"
    run_here.mkdir()

    class WhereParameters(TaskParameters):
        class Config(TaskParameters.Config):
            run_directory = str(run_here)

    class Where(Task):
        def __init__(self, *, params) -> None:
            super().__init__(params=params)

        def _run(self) -> None:
            self._result.payload = os.getcwd()

    task = build_task(Where, WhereParameters(lute_config={"work_dir": str(tmp_path)}), "Where")
    task._channel = channel = _Channel()
    task.run()
    assert channel.sent[-1].contents.payload == str(run_here)
    assert task.name == "Where"


def test_tasklet_arguments_keep_types_and_unknown_names_are_errors(tmp_path):
    from lute.config.models.tests import TestParameters as TParams
    from lute.core.exceptions import ConfigurationError
    from lute.execution.hooks import fill_arguments

    params = TParams(lute_config={"work_dir": str(tmp_path), "run": 7}, loops=4)
    assert fill_arguments(("{{ loops }}", "r{{ lute_config.run }}", 3), params) == (4, "r7", 3)
    with pytest.raises(ConfigurationError, match="no parameter 'nope'"):
        fill_arguments(("{{ nope }}",), params)
