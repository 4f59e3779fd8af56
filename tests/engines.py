"""Whether the real engines the scale-out tests need are installed here."""

from __future__ import annotations

import importlib.util

from lute.core.exceptions import SubmissionError
from lute.execution.mpi import find_launcher


def mpi_available() -> bool:
    """mpi4py importable and an ``mpirun`` found the way MPIExecutor finds it."""
    if importlib.util.find_spec("mpi4py") is None:
        return False
    try:
        find_launcher("mpirun", None)
    except SubmissionError:
        return False
    return True
