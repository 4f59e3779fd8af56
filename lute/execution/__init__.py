"""Executors: run a Task process, supervise it, decide and record its outcome.

``executor`` holds ``Executor`` and ``BaseExecutor``; ``hooks`` what a
managed task adds to one (hooks, tasklets, environment changes);
``supervisor`` the wait loop of one attempt; ``outcome`` the rules that turn
messages and exit statuses into a record; ``process`` process groups and
signals; ``run_logs`` the log files; ``control`` the run files ``lute
cancel`` reads; ``mpi`` the MPI Executor; ``plugins`` executors from other
packages; ``description`` an Executor as JSON, for batch nodes.

LUTE kept ``MPIExecutor`` next to ``Executor`` in ``lute.execution.executor``,
and its managed tasks do ``from lute.execution.executor import *``; the
name is put there too once both modules are loaded (``mpi`` imports
``executor``, so ``executor`` cannot import ``mpi`` itself).
"""

from lute.execution import executor as _executor
from lute.execution.executor import BaseExecutor, Executor
from lute.execution.hooks import HOOK_NAMES, Tasklet
from lute.execution.mpi import MPIExecutor

_executor.MPIExecutor = MPIExecutor  # type: ignore[attr-defined]

__all__ = ["HOOK_NAMES", "BaseExecutor", "Executor", "MPIExecutor", "Tasklet"]
