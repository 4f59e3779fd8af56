"""MPITask: a Task whose ranks run together but speak to the Executor as one.

Every rank runs the same ``_pre_run``/``_run``/``_post_run``. The ranks meet
at a barrier before starting and again before the result is sent, and only
rank 0 sends ``TASK_STARTED``, ``TASK_LOG`` and ``TASK_RESULT``, so the
Executor sees one start and one result however many ranks run. A rank that
fails reports ``TASK_FAILED`` itself (its traceback is the one that matters);
``mpi4py.run`` then aborts the others. Other ranks' printed output still
reaches the Executor through the launcher's stdout and stderr.

mpi4py is imported when the Task runs, not when this module is imported, so
listing or validating MPI Tasks works where MPI is not installed.
"""

from __future__ import annotations

import logging
from typing import Any

from lute.ipc.message import Message
from lute.tasks.base import Task

logger = logging.getLogger(__name__)

ROOT = 0


class MPITask(Task):
    """Base class of Tasks that run on several MPI ranks."""

    _comm: Any = None

    @property
    def comm(self) -> Any:
        """``MPI.COMM_WORLD`` (imported on first use)."""
        if self._comm is None:
            from mpi4py import MPI  # noqa: PLC0415 (MPI starts only when the Task runs)

            self._comm = MPI.COMM_WORLD
        return self._comm

    @property
    def rank(self) -> int:
        """This process's rank in ``comm``."""
        return int(self.comm.Get_rank())

    @property
    def size(self) -> int:
        """Number of ranks in ``comm``."""
        return int(self.comm.Get_size())

    def run(self) -> None:
        """Run on every rank once all ranks are up."""
        self.comm.Barrier()
        super().run()

    def _report_to_executor(self, msg: Message) -> None:
        """Send from rank 0 only (failures from any rank), after all ranks finished."""
        if msg.signal == "TASK_RESULT":
            self.comm.Barrier()
        if self.rank == ROOT or msg.signal == "TASK_FAILED":
            super()._report_to_executor(msg)
