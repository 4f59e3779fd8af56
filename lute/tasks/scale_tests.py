"""Built-in test Tasks for scaling out: MPI ranks, batch jobs, workflows."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import uuid
from pathlib import Path

from lute.tasks.base import Task
from lute.tasks.mpi import ROOT, MPITask

logger = logging.getLogger(__name__)

RENDEZVOUS_POLL_S = 0.02


class TestMPI(MPITask):
    """Each rank sums its share of 0..n-1; rank 0 reduces and checks the total."""

    def _run(self) -> None:
        n = self._task_parameters.n_values
        partial = sum(range(self.rank, n, self.size))
        # Plain stdout on purpose: every rank's output must reach the Executor.
        sys.stdout.write(f"rank {self.rank} of {self.size}: partial sum {partial}\n")
        sys.stdout.flush()
        total = self.comm.reduce(partial, root=ROOT)
        if self.rank != ROOT:
            return
        expected = n * (n - 1) // 2
        if total != expected:
            raise RuntimeError(f"reduced sum {total} != expected {expected}")
        self._result.summary = f"sum of 0..{n - 1} over {self.size} ranks = {total}"
        self._result.payload = {"total": total, "ranks": self.size}


class TestSleep(Task):
    """Reports that it started, then waits: something to cancel or time out."""

    def _run(self) -> None:
        seconds = self._task_parameters.seconds
        self._report(f"TestSleep waiting {seconds}s")
        sys.stdout.write(f"TestSleep pid {os.getpid()} waiting {seconds}s\n")
        sys.stdout.flush()
        threading.Event().wait(seconds)
        self._result.summary = f"waited {seconds}s"


class TestRendezvous(Task):
    """Waits until ``parties`` runs have arrived in ``directory``.

    It completes only if that many runs are alive at the same time, so a
    workflow test can prove that branches ran in parallel: run one after the
    other, each would time out.
    """

    def _run(self) -> None:
        params = self._task_parameters
        directory = Path(params.directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{uuid.uuid4().hex}.arrived").touch()
        deadline = time.monotonic() + params.timeout
        while (arrived := len(list(directory.glob("*.arrived")))) < params.parties:
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"only {arrived} of {params.parties} parties reached {directory}"
                    f" within {params.timeout}s"
                )
            time.sleep(RENDEZVOUS_POLL_S)
        self._result.summary = f"{arrived} parties met in {directory}"
