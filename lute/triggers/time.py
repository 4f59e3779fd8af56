"""``TimeTrigger``: fires every ``time_gap`` seconds.

Ticks are scheduled from the moment watching starts (start + gap, start +
2 gaps, ...), not from the end of the previous tick, so the cadence does
not drift however long a launch takes. A tick missed because the machine
was suspended or busy is skipped, not fired late in a burst. The first
tick comes one gap after the start.
"""

from __future__ import annotations

import datetime as dt
import threading
import time as clock
from typing import Any

from lute.triggers.base import BaseTrigger, Emit, TriggerEvent, utc_now


class TimeTrigger(BaseTrigger):
    """Fires every ``time_gap`` seconds.

    Args:
        time_gap: Seconds between firings (positive).

    Raises:
        ValueError: ``time_gap`` is not positive.
    """

    type_name = "time"

    def __init__(self, time_gap: float) -> None:
        super().__init__(1)
        if not time_gap > 0:
            raise ValueError(f"time_gap must be a positive number of seconds, got {time_gap}")
        self.time_gap = float(time_gap)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def _parameters(self) -> dict[str, Any]:
        return {"time_gap": self.time_gap}

    def _start(self, emit: Emit) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._run, args=(emit,), name=f"every {self.time_gap:g}s", daemon=True
        )
        self._thread.start()

    def _run(self, emit: Emit) -> None:
        started = clock.monotonic()
        origin = utc_now()
        tick = 1
        while not self._stopping.wait(max(0.0, started + tick * self.time_gap - clock.monotonic())):
            when = origin + dt.timedelta(seconds=tick * self.time_gap)
            emit(TriggerEvent("time", when.isoformat(), utc_now()))
            behind = (clock.monotonic() - started) // self.time_gap
            tick = max(tick + 1, int(behind) + 1)

    def _halt(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
