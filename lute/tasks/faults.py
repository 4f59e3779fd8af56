"""Fault-injection Task: misbehaves on request so tests can check the Executor.

Each mode is a way a real analysis dies or misbehaves on a cluster: it hangs
past its time limit, leaves a child behind, is killed, segfaults, raises,
floods its output, or fails a few times before succeeding.
"""

from __future__ import annotations

import ctypes
import logging
import os
import resource
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from lute.tasks.base import Task

logger = logging.getLogger(__name__)

_LINE = b"x" * 1023 + b"\n"


class Fault(Task):
    """Announces its processes, then fails in the way ``mode`` names."""

    def _run(self) -> None:
        params = self._task_parameters
        if params.release_fifo:
            # Opened before announcing, so a releaser never waits for a Task that died.
            self._release_fd = os.open(params.release_fifo, os.O_RDONLY | os.O_NONBLOCK)
        grandchild = None
        if params.mode == "grandchild":
            grandchild = subprocess.Popen(
                ["sh", "-c", "trap '' TERM; exec sleep 60"], stdin=subprocess.DEVNULL
            )
        self._announce(grandchild.pid if grandchild else None)
        getattr(self, f"_fault_{params.mode}")()

    def _announce(self, grandchild: int | None) -> None:
        params = self._task_parameters
        line = " ".join(str(pid) for pid in (os.getpid(), grandchild) if pid) + "\n"
        sys.stdout.write(f"Fault running ({params.mode}): {line}")
        sys.stdout.flush()
        if params.pid_file:
            path = Path(params.pid_file)
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(line)
            tmp.replace(path)
        if params.ready_fifo:
            with open(params.ready_fifo, "w") as fifo:
                fifo.write(line)

    def _wait(self) -> None:
        """Sleep ``seconds``, or less if a line arrives on the release FIFO."""
        params = self._task_parameters
        if params.release_fifo:
            select.select([self._release_fd], [], [], params.seconds)
        else:
            time.sleep(params.seconds)

    _fault_sleep = _wait
    _fault_grandchild = _wait

    def _fault_sigkill(self) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    def _fault_segfault(self) -> None:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        ctypes.string_at(0)

    def _fault_raise(self) -> None:
        raise RuntimeError("Fault raised as requested (mode: raise)")

    def _fault_flood(self) -> None:
        """Write to stdout and stderr at the same time, each write one huge block."""
        block = _LINE * (self._task_parameters.flood_mb * 1024)
        writers = [threading.Thread(target=_write_all, args=(fd, block)) for fd in (1, 2)]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
        self._result.summary = f"wrote {len(block)} bytes to stdout and to stderr"

    def _fault_fail_times(self) -> None:
        params = self._task_parameters
        counter = Path(params.counter_file)
        attempt = int(counter.read_text() or 0) + 1 if counter.exists() else 1
        counter.write_text(str(attempt))
        if attempt <= params.fail_times:
            raise RuntimeError(f"Fault attempt {attempt} fails (fail_times: {params.fail_times})")
        self._result.summary = f"succeeded on attempt {attempt}"


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
