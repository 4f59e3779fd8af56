"""MPIExecutor: run a Task on several MPI ranks under ``mpirun`` (or ``srun``).

The Executor itself stays one process; only the Task side is replicated:
``mpirun -np N python -m mpi4py.run <entry> -c CONFIG -t TASK``. Running the
entry through ``mpi4py.run`` makes an exception on any rank abort the whole
job instead of leaving the other ranks waiting in a collective forever.

Every rank inherits the Executor's socket address and key, so any rank could
connect; an ``MPITask`` reports start and result from rank 0 only. The output
of all ranks arrives on the launcher's stdout and stderr, which the Executor
captures as for any Task.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import sys
import sysconfig
from collections.abc import Mapping
from pathlib import Path

from lute.core.exceptions import ConfigurationError, SubmissionError
from lute.core.settings import positive_int
from lute.execution.executor import Executor

logger = logging.getLogger(__name__)

LAUNCHERS = ("mpirun", "srun")
ENV_LAUNCHER = "LUTE_MPI_LAUNCHER"
ENV_NPROCS = "LUTE_MPI_NPROCS"
SLURM_TASK_VARIABLES = ("SLURM_NTASKS", "SLURM_NPROCS")


def choose_nprocs(
    explicit: int | None, env: Mapping[str, str], cpus_available: int
) -> tuple[int, str]:
    """How many ranks to start, and why.

    In order: an explicit count; ``$LUTE_MPI_NPROCS``; the SLURM allocation
    (``SLURM_NTASKS``, else ``SLURM_NPROCS``) minus one core kept for the
    Executor; the cores this process may run on, minus one. Never below 1,
    so a one-core machine still runs the Task.

    Args:
        explicit: The count the managed task was configured with, if any.
        env: The environment to read the variables from.
        cpus_available: Cores this process may use.

    Returns:
        The number of ranks and a sentence saying where it came from.

    Raises:
        ConfigurationError: A count that is not a positive integer.
    """
    if explicit is not None:
        return positive_int(explicit, "nprocs option"), "set by the nprocs option"
    if env.get(ENV_NPROCS):
        return positive_int(env[ENV_NPROCS], ENV_NPROCS), f"set by ${ENV_NPROCS}"
    for name in SLURM_TASK_VARIABLES:
        if env.get(name):
            total = positive_int(env[name], name)
            return max(1, total - 1), f"${name}={total} minus one core for the Executor"
    return (
        max(1, cpus_available - 1),
        f"{cpus_available} cores available minus one for the Executor",
    )


def find_launcher(name: str, path: str | None) -> str:
    """The absolute path of the MPI launcher ``name``.

    The ``mpich`` wheel (the ``mpi`` extra) installs ``mpirun`` next to the
    Python interpreter, which is not on PATH when that interpreter is called
    by its full path (a venv not activated, pyenv), so that directory is
    searched after PATH.

    Raises:
        SubmissionError: The launcher is not installed.
    """
    found = shutil.which(name, path=path)
    if found:
        return found
    for directory in (Path(sys.executable).parent, Path(sysconfig.get_path("scripts"))):
        candidate = directory / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise SubmissionError(
        f"MPI launcher '{name}' not found on PATH or next to {sys.executable};"
        " install MPI with: pip install 'lute[mpi]'"
    )


class MPIExecutor(Executor):
    """Runs a Task on N MPI ranks; see the module docstring.

    Args:
        task_name: Name of the Task to run.
        nprocs: Number of ranks; by default chosen by ``choose_nprocs``.
        launcher: ``"mpirun"`` (default) or ``"srun"`` (inside a SLURM
            allocation); ``$LUTE_MPI_LAUNCHER`` overrides it.
        **kwargs: Passed on to ``Executor``.
    """

    def __init__(
        self,
        task_name: str,
        nprocs: int | None = None,
        launcher: str = "mpirun",
        **kwargs: float | None,
    ) -> None:
        super().__init__(task_name, **kwargs)
        self._nprocs = nprocs
        self._launcher = launcher

    def _pre_task(self) -> None:
        """Fail before starting N processes if mpi4py cannot be imported."""
        if importlib.util.find_spec("mpi4py") is None:
            raise ConfigurationError(
                f"{self.task_name} needs mpi4py, which is not installed for"
                f" {sys.executable}; install it with: pip install 'lute[mpi]'"
            )

    def _submit_cmd(self, entry: list[str], config_path: str) -> list[str]:
        """``LAUNCHER -np N python -m mpi4py.run ENTRY -c CONFIG -t TASK``."""
        env = self._analysis_desc.task_env
        launcher = env.get(ENV_LAUNCHER) or self._launcher
        if launcher not in LAUNCHERS:
            raise ConfigurationError(
                f"MPI launcher {launcher!r} is not supported; choose one of: {', '.join(LAUNCHERS)}"
            )
        nprocs, why = choose_nprocs(self._nprocs, env, len(os.sched_getaffinity(0)))
        logger.info("running %s on %d MPI ranks (%s)", self.task_name, nprocs, why)
        program = find_launcher(launcher, env.get("PATH"))
        count_flag = "-np" if launcher == "mpirun" else "--ntasks"
        python = super()._submit_cmd(["-m", "mpi4py.run", *entry], config_path)
        return [program, count_flag, str(nprocs), *python]
