"""Forking this Python process: only with one thread, streams flushed, no pipe left open.

lute forks twice on its own (the Task process from its Executor, and the
Executor's recorder process) and both need the same care: a fork beside
another thread copies locks that thread may hold, buffered output would be
written twice, and pipes made for a child that was never born would leak.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable


def threads_here() -> int:
    """Threads of this process, those not started by Python included."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        import threading  # noqa: PLC0415 (only where /proc is missing)

        return threading.active_count()


def flush_standard_streams() -> None:
    """Write out what ``sys.stdout`` and ``sys.stderr`` hold (before a fork or ``_exit``)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


def fork_with(fds: Iterable[int]) -> int:
    """``os.fork()`` with the streams flushed; ``fds`` (the child's pipes) closed if it fails.

    Raises:
        OSError: No process could be made; ``fds`` are closed.
    """
    flush_standard_streams()
    try:
        return os.fork()
    except OSError:
        for fd in fds:
            os.close(fd)
        raise
