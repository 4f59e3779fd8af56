"""Managed tasks declared as LUTE's ``lute/managed_tasks.py`` does."""

from lute.execution.executor import *  # noqa: F403

from .tasklets import count_lines

TaskRunner: Executor = Executor("RunTask")  # noqa: F405
"""Runs RunTask."""
TaskRunner.add_tasklet(
    count_lines,
    ["{{ lute_config.work_dir }}/{{ out_name }}", "r{{ lute_config.run }}"],
    when="after",
    set_result=False,
    set_summary=True,
)

Task2Runner: Executor = Executor("RunTask2")  # noqa: F405
"""Runs the runtask2 binary."""

MPITaskRunner: MPIExecutor = MPIExecutor("RunTask")  # noqa: F405
"""Runs RunTask with MPI."""
