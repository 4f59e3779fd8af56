"""A Task for the daily-use tests: it logs, reports progress, and can wait.

Installed through the entry points in the dist-info directory next to it
(which stands in for ``pip install`` when this directory is on PYTHONPATH).
"""

from __future__ import annotations

import logging

from lute.config.models.base import TaskParameters
from lute.managed_tasks import ManagedTask
from lute.tasks.base import Task

logger = logging.getLogger(__name__)


class DailyDemoParameters(TaskParameters):
    """Parameters of DailyDemo."""

    steps: int = 0
    total: int = 0
    wait_for: str = ""
    warn: bool = False


class DailyDemo(Task):
    """Logs a line, reports ``steps`` steps of progress, then waits at a gate if asked.

    The progress is out of ``total`` when given (so a run can wait part way), else ``steps``.
    ``wait_for`` names a FIFO (``daily.conftest.Gate``): the Task reads one byte from it,
    so it sleeps in the kernel until the test writes that byte, with no polling.
    """

    def _run(self) -> None:
        params = self._task_parameters
        logger.info("hello from the task")
        if params.warn:
            logger.warning("a warning from the task")
        for done in range(1, params.steps + 1):
            self._report_progress(done, params.total or params.steps, text=f"step {done}")
        if params.wait_for:
            logger.info("waiting for %s", params.wait_for)
            with open(params.wait_for, "rb", buffering=0) as gate:
                gate.read(1)
        self._result.summary = f"{params.steps} steps"


DAILY_DEMOER = ManagedTask("DailyDemo", description="Logs, reports progress, waits.")
