"""The Executor side of a benchmark: a real Executor, in a process of its own.

Run as ``python -m benchmarks.executor_driver TASK CONFIG RESULT [--touch]``.
It builds the default ``Executor`` for ``TASK`` (one of the Tasks of
``benchmarks/plugin``), replaces its ``task_log`` hook with one that takes the
time each message reaches it, runs the Task, and writes what it saw as JSON.

Memory: the Executor's own start-up (SQLAlchemy, the Task's model) is
imported before the baseline is read, and the peak resident size is reset
there (``/proc/self/clear_refs``), so the peak above the baseline is what
receiving cost. With ``--touch`` the hook reads every byte of each array
after taking the time (and checks its sum), so the pages it was handed are
resident, as they are when a hook uses the data; the time it has read them
all is kept too (``read``).
"""

from __future__ import annotations

import array
import json
import sys
import time
from pathlib import Path
from typing import Any


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class Seen:
    """What the hook saw: index, send time and arrival time of each message.

    Kept in ``array`` columns, which the garbage collector does not track:
    100,000 tuples would make it walk them all, a pause the Executor would
    not have without this benchmark.
    """

    def __init__(self, touch: bool) -> None:
        self.touch = touch
        self.indices = array.array("q")
        self.sent = array.array("q")
        self.arrived = array.array("q")
        self.read = array.array("q")
        self.bad: list[str] = []

    def on_message(self, _executor: Any, msg: Any) -> None:
        now = time.monotonic_ns()
        contents = msg.contents
        if isinstance(contents, tuple):
            index, sent = contents
            self._note(index, sent, now)
            return
        index, sent, array = contents["index"], contents["sent"], contents["array"]
        self._note(index, sent, now)
        last = index + array.size - 1
        if array[0] != index or array[-1] != last:
            self.bad.append(f"array {index}: ends {array[0]}, {array[-1]}")
        if self.touch:
            expected = array.size * index + array.size * (array.size - 1) / 2
            if float(array.sum()) != expected:
                self.bad.append(f"array {index}: wrong sum")
            self.read.append(time.monotonic_ns())

    def _note(self, index: int, sent: int, now: int) -> None:
        self.indices.append(index)
        self.sent.append(sent)
        self.arrived.append(now)

    def received(self) -> list[tuple[int, int, int]]:
        return list(zip(self.indices, self.sent, self.arrived, strict=True))


def main(argv: list[str]) -> None:
    task, config, result = argv[0], argv[1], argv[2]
    touch = "--touch" in argv[3:]
    import lute.db.store  # noqa: F401 (the Executor imports it anyway: not part of receiving)
    from lute.execution.executor import Executor
    from lute.tasks import registry

    registry.parameter_model(task)
    executor = Executor(task)
    seen = Seen(touch)
    executor.add_hook("task_log", seen.on_message)
    baseline = _status_kib("VmRSS")
    reset = _reset_peak()
    status = executor.execute_task(config)
    peak = _status_kib("VmHWM")
    Path(result).write_text(
        json.dumps(
            {
                "status": status.value,
                "received": seen.received(),
                "read": list(seen.read),
                "bad": seen.bad,
                "rss_baseline_kib": baseline,
                "rss_peak_kib": peak,
                "peak_reset": reset,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
