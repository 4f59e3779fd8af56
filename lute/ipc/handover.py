"""Large buffers handed over as memory instead of copied through the socket.

A Task sending a large array over its Unix-socket connection copies it once
into a *memfd* (an anonymous in-memory file), seals it so that it can never
change again, and passes the descriptor with the frame (``SCM_RIGHTS``). The
Executor checks the descriptor and maps it: the bytes are never copied
through the kernel's socket buffers, never copied by the Executor, and the
array the hook sees lives in the mapping, which is unmapped (and the memory
freed) when the last array using it is dropped.

What the Executor accepts (``map_descriptor``), and why:

* Only descriptors that arrive with a frame on an authenticated Unix-socket
  connection: before the handshake the Executor reads without room for
  descriptors, so the kernel discards any that are sent (see
  ``lute.ipc.admission``).
* A regular file whose size is the size the frame declares for it: the
  mapping then holds exactly the buffer, nothing more or less.
* Sealed against shrinking, growing and writing (``F_SEAL_SHRINK``,
  ``F_SEAL_GROW``, ``F_SEAL_WRITE``): only a memfd can carry these seals, and
  with them the Task can neither change the data after handing it over nor
  truncate the file under the Executor's mapping (which would kill the
  Executor with SIGBUS on the next read).
* At most ``MAX_DESCRIPTORS`` per frame; more buffers travel in the frame.

The Executor maps the file private and writable: the hook gets ordinary
writable arrays, and what it writes stays in its own copy-on-write pages.

Where ``memfd_create`` is missing (not Linux, a seccomp filter) or
``LUTE_IPC_HANDOVER=0`` is set, buffers travel inside the frame, received
straight into one uninitialised block: the socket copy.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import mmap
import os
import stat

from lute.core.exceptions import ProtocolError

logger = logging.getLogger(__name__)

ENV_HANDOVER = "LUTE_IPC_HANDOVER"
"""Set to ``0`` to send every buffer inside its frame (the socket copy)."""
HANDOVER_MIN = 1024 * 1024
"""Buffers at least this large are handed over; smaller ones are cheaper to copy."""
MAX_DESCRIPTORS = 16
"""Descriptors one frame may carry; the Executor reads room for no more."""
REQUIRED_SEALS = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE
_WRITE_CHUNK = 1 << 30


class HandoverRefused(ProtocolError):
    """A descriptor that came with a frame was not accepted (and was closed)."""


class Handover:
    """The Task side: puts large buffers into sealed memfds.

    Args:
        enabled: Whether to try at all; ``None`` reads ``$LUTE_IPC_HANDOVER``.
    """

    def __init__(self, enabled: bool | None = None) -> None:
        if enabled is None:
            enabled = os.environ.get(ENV_HANDOVER, "1") != "0"
        self.enabled = enabled and hasattr(os, "memfd_create")

    def seal(self, buffer: memoryview) -> int | None:
        """A sealed memfd holding a copy of ``buffer``; ``None`` to send it in the frame.

        The first failure to make one (no memfd support, out of memory)
        turns hand-over off for this channel, so the cost is paid once.
        """
        if not self.enabled:
            return None
        try:
            fd = os.memfd_create("lute-buffer", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        except OSError as err:
            self._give_up(err)
            return None
        try:
            _fill(fd, buffer)
            fcntl.fcntl(fd, fcntl.F_ADD_SEALS, REQUIRED_SEALS | fcntl.F_SEAL_SEAL)
        except OSError as err:
            os.close(fd)
            self._give_up(err)
            return None
        return fd

    def _give_up(self, err: OSError) -> None:
        self.enabled = False
        logger.warning("large buffers will be copied through the socket: memfd failed (%s)", err)


def _fill(fd: int, buffer: memoryview) -> None:
    """Write ``buffer`` into the empty file ``fd``.

    Plain writes: the kernel fills each new page as it allocates it, where
    ``fallocate`` would first zero them all (measured a third slower).
    """
    size = buffer.nbytes
    view = buffer.cast("B")
    done = 0
    while done < size:
        done += os.pwrite(fd, view[done : done + _WRITE_CHUNK], done)


def map_descriptor(fd: int, size: int) -> mmap.mmap:
    """Check a received descriptor and map it (private, writable); it is not closed here.

    Raises:
        HandoverRefused: It is not a regular file of ``size`` bytes sealed
            against shrinking, growing and writing.
    """
    try:
        info = os.fstat(fd)
    except OSError as err:
        raise HandoverRefused(f"cannot inspect it: {err}") from err
    if not stat.S_ISREG(info.st_mode):
        raise HandoverRefused("it is not a regular file")
    if info.st_size != size:
        raise HandoverRefused(f"it holds {info.st_size} bytes, the frame says {size}")
    if size == 0:
        raise HandoverRefused("it is empty")
    try:
        seals = fcntl.fcntl(fd, fcntl.F_GET_SEALS)
    except OSError:
        seals = 0
    if seals & REQUIRED_SEALS != REQUIRED_SEALS:
        raise HandoverRefused(
            "it is not sealed against shrinking, growing and writing (only a sealed memfd is)"
        )
    try:
        return mmap.mmap(fd, size, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    except OSError as err:
        raise HandoverRefused(f"cannot map it: {err}") from err


def close_all(fds: list[int]) -> None:
    """Close received descriptors, ignoring those already closed."""
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)
