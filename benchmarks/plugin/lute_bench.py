"""Tasks the benchmarks run through the real Executor, installed as a plugin.

The directory holding this module and its dist-info is put on ``PYTHONPATH``
by ``python -m benchmarks``; that stands in for ``pip install`` (see
docs/plugins.md), so the Tasks are found exactly as a user's would be.

Both Tasks wait ``settle_s`` before they start sending, so the Executor has
finished its own start-up (its first database record) and the measurement is
of the message path alone; start-up is measured on its own.
"""

from __future__ import annotations

import time

from pydantic import Field

from lute.config.models.base import TaskParameters
from lute.tasks.base import Task

BURST = 10
"""Messages sent back to back when pacing to a rate."""


class BenchMessagesParameters(TaskParameters):
    """How many small messages to send, and how fast (0: as fast as it can)."""

    count: int = Field(100_000, ge=1)
    rate: float = Field(0, ge=0)
    settle_s: float = Field(1.0, ge=0)


class BenchMessages(Task):
    """Sends ``count`` small messages, each ``(index, CLOCK_MONOTONIC in ns)``.

    With a ``rate``, messages leave in bursts of ``BURST``, one burst every
    ``BURST / rate`` seconds (the Task sleeps in between: a busy wait would
    take a whole core from a two-core machine), each burst at once if late.
    """

    def _run(self) -> None:
        params = self._task_parameters
        time.sleep(params.settle_s)
        clock = time.monotonic_ns
        report = self._report
        if not params.rate:
            for index in range(params.count):
                report((index, clock()))
            return
        period = BURST * 1e9 / params.rate
        start = clock()
        for first in range(0, params.count, BURST):
            early = start + first // BURST * period - clock()
            if early > 0:
                time.sleep(early / 1e9)
            for index in range(first, min(first + BURST, params.count)):
                report((index, clock()))


class BenchBulkParameters(TaskParameters):
    """How many arrays of how many MiB to send; ``allocate``: made with ``handover_array``."""

    count: int = Field(5, ge=1)
    mib: int = Field(100, ge=1)
    allocate: bool = False
    settle_s: float = Field(1.0, ge=0)


class BenchBulk(Task):
    """Sends ``count`` float64 arrays of ``mib`` MiB, made (and resident) before the clock starts.

    Array ``k`` holds ``k, k + 1, ...``, so the receiver can check its ends.
    With ``allocate`` they are made in hand-over memory (the documented fast
    path for arrays a Task means to send: passed without a copy).
    """

    def _run(self) -> None:
        import numpy as np

        from lute.ipc.handover import handover_array

        params = self._task_parameters
        length = params.mib * 1024 * 1024 // 8
        arrays = []
        for k in range(params.count):
            array = handover_array(length) if params.allocate else np.empty(length)
            np.add(np.arange(length, dtype=np.float64), k, out=array)
            arrays.append(array)
        time.sleep(params.settle_s)
        for index, array in enumerate(arrays):
            self._report({"index": index, "sent": time.monotonic_ns(), "array": array})
