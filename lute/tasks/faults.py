"""Fault-injection Task: misbehaves on request so tests can check the Executor.

Each mode is a way a real analysis dies or misbehaves on a cluster: it hangs
past its time limit, leaves a child behind, is killed, segfaults, raises,
floods its output, fails a few times before succeeding, exits 0 without
reporting its result, sends a message the Executor cannot unpickle, or
reconnects to the Executor's socket (as a Task whose ``exec`` failed does).
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

from lute.ipc.frames import ENV_KEY
from lute.ipc.message import Message
from lute.ipc.task_side import PipeWriter
from lute.tasks.base import Task

logger = logging.getLogger(__name__)

_LINE = b"x" * 1023 + b"\n"
AFTER_UNDECODABLE = "sent after the undecodable message"


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

    def _fault_reconnect(self) -> None:
        """Wait without a connection: the result then goes over a new one."""
        self._close_channel()
        self._wait()
        self._result.summary = "reported over a new connection"

    def _fault_exit_without_result(self) -> None:
        sys.stdout.flush()
        os._exit(0)

    def _fault_undecodable(self) -> None:
        """One message the Executor cannot unpickle, then one it can; then complete."""
        self._report(Unpicklable())
        self._report(AFTER_UNDECODABLE)
        self._result.summary = "sent one undecodable message"

    def _fault_undecodable_stdout(self) -> None:
        """The same, framed on stdout (the channel of a Task started without a socket)."""
        writer = PipeWriter(bytes.fromhex(os.environ.get(ENV_KEY, "")))
        writer.write(Message(Unpicklable(), "TASK_LOG"))
        writer.write(Message(AFTER_UNDECODABLE, "TASK_LOG"))
        self._result.summary = "sent one undecodable message on stdout"

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


class Unpicklable:
    """Pickles, but raises when unpickled: as an object whose class changed in between."""

    def __reduce__(self) -> tuple[type[Unpicklable], tuple[()], dict[str, int]]:
        return (Unpicklable, (), {"version": 1})

    def __setstate__(self, state: dict[str, int]) -> None:
        raise ValueError(f"Unpicklable refuses to be unpickled (state {state})")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
