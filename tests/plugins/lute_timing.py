"""An executor plugin for the tests and the how-to: ``TimingExecutor``.

It records how much CPU time the Task processes of each run used, one line
per run, in a file of the user's choosing. Installed through the entry point
``TimingExecutor`` of the group ``lute.executors`` (see the dist-info
directory next to this module, which stands in for ``pip install``).
"""

from __future__ import annotations

import resource
from pathlib import Path
from typing import Any

from lute.execution.executor import Executor


class TimingExecutor(Executor):
    """The default Executor, plus a line of CPU accounting per run.

    Args:
        task_name: The Task to run.
        timing_filepath: File the accounting lines are appended to.
        **options: The options of ``Executor`` (time_limit, retries, ...).
    """

    def __init__(self, task_name: str, *, timing_filepath: str = "timing.txt", **options: Any):
        super().__init__(task_name, **options)
        self._timing_filepath = str(Path(timing_filepath).resolve())
        self._cpu_before = 0.0

    def setup(self) -> None:
        """Note the CPU time finished children have used so far."""
        self._cpu_before = _children_cpu_seconds()

    def teardown(self) -> None:
        """Append this run's Task CPU time (all attempts) to the timing file."""
        used = _children_cpu_seconds() - self._cpu_before
        run = self.analysis
        with open(self._timing_filepath, "a", encoding="utf-8") as timing:
            timing.write(
                f"{run.task_result.task_name} run {run.run_id}: {run.attempt} attempt(s), "
                f"{used:.3f} s of CPU\n"
            )

    def _options(self) -> dict[str, Any]:
        return {**super()._options(), "timing_filepath": self._timing_filepath}


def _children_cpu_seconds() -> float:
    """User and system time of every child this process has waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
