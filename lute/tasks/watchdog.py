"""The Task side's guard against a dead Executor: nothing runs on unrecorded.

An Executor killed outright (SIGKILL, the out-of-memory killer) cannot stop
its Task, which would run on under init with nobody to record it. So each
Task process started by an Executor starts a watchdog: a small separate
process holding its own authenticated connection to the Executor's socket.
The Executor never writes on a connection after the handshake, so that
connection becomes readable only when the Executor is gone and the kernel
has closed its end. The watchdog then ends the Task's whole process group:
SIGTERM (and SIGCONT, so a stopped Task can act on it), then SIGKILL after
a grace period. When the Task ends normally the watchdog learns it from a
pidfd, exits and so closes its connection.

The watchdog is detached (a double fork into a session of its own): it is
not a child of the Task, since a program that waits for all its children
would wait for it forever, nor a member of the Task's group, where the
Executor would count it as a process left behind.
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import signal
import socket

from lute.ipc.frames import ENV_KEY, ENV_SOCKET
from lute.ipc.task_side import connect_authenticated

logger = logging.getLogger(__name__)

KILL_GRACE_S = 5.0
"""Between SIGTERM and SIGKILL to the Task's group once the Executor is gone."""


def guard_process_group() -> int | None:
    """Start the watchdog of this Task process, when an Executor started it.

    Returns:
        The watchdog's pid, or ``None`` when there is nothing to guard (no
        Executor socket, a system without pidfds) or the Executor cannot
        be reached (then the Task's own reports will fail just the same).
    """
    path = os.environ.get(ENV_SOCKET)
    if not path or not hasattr(os, "pidfd_open"):
        return None
    task_pid, group = os.getpid(), os.getpgid(0)
    try:
        sock, _ = connect_authenticated(path, bytes.fromhex(os.environ.get(ENV_KEY, "")))
    except (OSError, ValueError) as err:
        logger.warning("cannot start the watchdog (Executor socket %s): %s", path, err)
        return None
    if sock.family != socket.AF_UNIX:
        _keep_alive(sock)
    read_end, write_end = os.pipe()
    middle = os.fork()
    if middle == 0:
        _detach_and_watch(sock, task_pid, group, write_end)
    sock.close()
    os.close(write_end)
    os.waitpid(middle, 0)
    with os.fdopen(read_end, "rb") as pipe:
        reported = pipe.read()
    return int(reported) if reported else None


def _keep_alive(sock: socket.socket) -> None:
    """Notice within about a minute a TCP peer whose host vanished without closing."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for option, value in (("TCP_KEEPIDLE", 30), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3)):
        if hasattr(socket, option):
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)


def _detach_and_watch(sock: socket.socket, task_pid: int, group: int, report_fd: int) -> None:
    """In the first child: fork the watchdog into its own session, report its pid, exit."""
    try:
        os.setsid()
        watchdog = os.fork()
        if watchdog != 0:
            os.write(report_fd, str(watchdog).encode())
            os._exit(0)
        os.close(report_fd)
        _isolate(sock.fileno())
        _watch(sock, task_pid, group)
    finally:
        os._exit(0)


def _isolate(keep: int) -> None:
    """Hold no descriptor of the Task's but the connection: its pipes must close with it."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.closerange(3, keep)
    os.closerange(keep + 1, os.sysconf("SC_OPEN_MAX"))


def _watch(sock: socket.socket, task_pid: int, group: int) -> None:
    """Wait for the Task to end (then exit) or the Executor to vanish (then end the group)."""
    try:
        task = os.pidfd_open(task_pid)
    except OSError:
        return  # the Task has already ended
    with selectors.DefaultSelector() as selector:
        selector.register(task, selectors.EVENT_READ)
        selector.register(sock, selectors.EVENT_READ)
        while True:
            ready = {key.fileobj for key, _ in selector.select()}
            if task in ready:
                return
            try:
                data = sock.recv(4096)
            except OSError:
                data = b""
            if not data:
                break
        selector.unregister(sock)
        _end_group(group, selector)


def _end_group(group: int, task_exit: selectors.BaseSelector) -> None:
    """SIGTERM the group, wait for the Task's exit at most ``KILL_GRACE_S``, SIGKILL it."""
    for signum in (signal.SIGTERM, signal.SIGCONT):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signum)
    task_exit.select(KILL_GRACE_S)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)
