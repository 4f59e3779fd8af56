"""Process-group and signal plumbing for the Executor's wait loop.

The Task leads its own process group, so the group holds everything it
started (MPI ranks, a third-party program's children) unless a descendant
deliberately moved elsewhere. The group stays in the Executor's session: a
group in a session of its own is *orphaned*, and the kernel discards
SIGTSTP for orphaned groups, so the Task could not be stopped that way. As a
background group it still gets no terminal signals: Ctrl-C reaches only the
Executor, which decides what to pass on. Everything here acts on that group or
turns asynchronous events (a child stopping, a signal to the Executor) into
readable file descriptors, so the wait loop never has to sleep or poll.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from lute.core.procinfo import live_group_members, process_state

if TYPE_CHECKING:
    from lute.execution.start import TaskProcess

logger = logging.getLogger(__name__)

NEW_PROCESS_GROUP: dict[str, Any] = (
    {"process_group": 0} if sys.version_info >= (3, 11) else {"preexec_fn": os.setpgrp}
)
"""``Popen`` arguments that make the child lead a new process group."""

CANCEL_REQUEST = 0
"""Byte ``SignalWakeup.notify`` writes for ``Executor.cancel()``: no signal has number 0."""


def signal_name(signum: int) -> str:
    """``SIGSEGV`` for 11; a plain number for a signal Python has no name for."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def signal_group(pgid: int, signum: int) -> bool:
    """Send ``signum`` to a process group; False when the group is already gone."""
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        return False
    except PermissionError as err:
        logger.error("cannot signal process group %d: %s", pgid, err)
        return False
    return True


def wait_for_exit(pids: list[int], timeout: float) -> list[int]:
    """Wait until every process in ``pids`` has exited; return those still running.

    Each process gets a pidfd, which becomes readable when it exits, whoever
    its parent is; so this waits on events rather than polling. Where pidfds
    are unavailable (kernels before 5.3, other systems) it does not wait.
    """
    deadline = time.monotonic() + timeout
    fds: dict[int, int] = {}
    try:
        for pid in pids:
            try:
                fds[os.pidfd_open(pid)] = pid
            except (AttributeError, OSError):
                continue  # gone already, or no pidfds here
        while fds:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            ready, _, _ = select.select(list(fds), [], [], remaining)
            for fd in ready:
                os.close(fd)
                del fds[fd]
        return [pid for pid in fds.values() if process_state(pid) not in (None, "Z")]
    finally:
        for fd in fds:
            os.close(fd)


def end_group(pgid: int, timeout: float = 5.0) -> list[int]:
    """SIGKILL whatever still runs in group ``pgid`` and wait until it has exited.

    Returns:
        The processes that were still running (and were killed).
    """
    members = live_group_members(pgid)
    if not members:
        return []
    signal_group(pgid, signal.SIGKILL)
    survivors = wait_for_exit(members, timeout)
    if survivors:
        logger.error("processes %s of group %d survived SIGKILL", survivors, pgid)
    return members


def job_control_events(pid: int) -> list[int]:
    """Stops and continues of child ``pid`` since the last call (``os.CLD_*`` codes).

    A pidfd reports only exit, so stops are read with ``waitid``. Without
    ``WEXITED`` it consumes stop/continue notifications only, never the exit
    status that ``Popen.wait`` will collect.
    """
    events = []
    while True:
        try:
            info = os.waitid(os.P_PID, pid, os.WSTOPPED | os.WCONTINUED | os.WNOHANG)
        except ChildProcessError:
            break
        if info is None or info.si_pid == 0:
            break
        events.append(info.si_code)
    return events


@contextlib.contextmanager
def exit_notifier(proc: TaskProcess) -> Iterator[int]:
    """A file descriptor that becomes readable when ``proc`` exits."""
    if hasattr(os, "pidfd_open"):
        fd = os.pidfd_open(proc.pid)
        try:
            yield fd
        finally:
            os.close(fd)
        return
    read_fd, write_fd = os.pipe()

    def wait() -> None:
        proc.wait()
        os.close(write_fd)

    threading.Thread(target=wait, daemon=True).start()
    try:
        yield read_fd
    finally:
        os.close(read_fd)


class SignalWakeup:
    """Turns signals to the Executor, and cancel requests, into bytes on a socket.

    The wait loop selects on ``fd``; each byte read is a signal number, or
    ``CANCEL_REQUEST`` written by ``notify`` from any thread. Handlers are
    installed only in the main thread (Python's rule); elsewhere signals
    keep their previous handling and only ``notify`` wakes the loop. The
    handlers themselves do nothing: the byte Python writes for them is the
    whole job.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGTSTP, signal.SIGCONT)

    def __init__(self) -> None:
        self._pair: tuple[socket.socket, socket.socket] | None = None
        self._previous: dict[int, Any] = {}
        self._previous_fd = -1
        self.handles_signals = False

    @property
    def fd(self) -> int:
        """The descriptor to select on for reading."""
        if self._pair is None:
            raise RuntimeError("SignalWakeup used outside its with-block")
        return self._pair[0].fileno()

    def __enter__(self) -> SignalWakeup:
        reader, writer = socket.socketpair()
        reader.setblocking(False)
        writer.setblocking(False)
        self._pair = (reader, writer)
        if threading.current_thread() is threading.main_thread():
            self._previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
            for signum in self.SIGNALS:
                self._previous[signum] = signal.signal(signum, _note_signal)
            self.handles_signals = True
        return self

    def notify(self, code: int) -> None:
        """Wake the loop with ``code`` (thread-safe; a full buffer already wakes it)."""
        if self._pair is None:
            return
        with contextlib.suppress(BlockingIOError, OSError):
            self._pair[1].send(bytes([code]))

    def drain(self) -> list[int]:
        """The codes received since the last call, oldest first."""
        if self._pair is None:
            return []
        data = b""
        while True:
            try:
                chunk = self._pair[0].recv(4096)
            except BlockingIOError:
                break
            if not chunk:
                break
            data += chunk
        known = {CANCEL_REQUEST, *self.SIGNALS}
        return [code for code in data if code in known]

    def __exit__(self, *exc_info: object) -> None:
        if self._pair is None:
            return
        if self.handles_signals:
            signal.set_wakeup_fd(self._previous_fd)
            for signum, handler in self._previous.items():
                signal.signal(signum, handler)
        for sock in self._pair:
            sock.close()
        self._pair = None


def _note_signal(signum: int, frame: Any) -> None:
    """Signal handler: the byte written to the wake-up fd is the whole job."""
