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

**Arrays made in hand-over memory** (``handover_array``): the copy into the
memfd is the one copy left, and a Task that knows it will send an array
can avoid it by making the array in a memfd from the start. When the whole
of such an array is sent the first time, its own memfd is sealed and passed:
nothing is copied at all. Sealing against writes needs that no writable
shared mapping of the file is left, so the Task's mapping is first replaced,
at the same address, by a private one of the same file (``_make_private``):
the Task keeps its array, what it writes afterwards goes to its own pages,
and the Executor keeps what was sent. Anything else (a slice, a
non-contiguous view, a second send of the same array, a channel without
hand-over) is copied as any array is.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import mmap
import os
import stat
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from lute.core.exceptions import ProtocolError

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger(__name__)

ENV_HANDOVER = "LUTE_IPC_HANDOVER"
"""Set to ``0`` to send every buffer inside its frame (the socket copy)."""
HANDOVER_MIN = 1024 * 1024
"""Buffers at least this large are handed over; smaller ones are cheaper to copy."""
MAX_DESCRIPTORS = 16
"""Descriptors one frame may carry; the Executor reads room for no more."""
REQUIRED_SEALS = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE
ARRAY_NAME = "lute-array"
"""Name of the memfd behind each ``handover_array`` (``/proc/<pid>/maps`` shows it)."""
_WRITE_CHUNK = 1 << 30
_MAP_FIXED = 0x10
"""Linux's ``MAP_FIXED`` (the ``mmap`` module does not export it; memfds are Linux-only)."""


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
        """A sealed memfd holding ``buffer``; ``None`` to send it in the frame.

        ``buffer`` is the whole of a ``handover_array`` sent for the first
        time: its own memfd, sealed (no copy). Otherwise a new memfd holding a
        copy. The first failure to make one (no memfd support, out of memory)
        turns hand-over off for this channel, so the cost is paid once.
        """
        if not self.enabled:
            return None
        own = _hand_over_allocation(buffer)
        if own is not None:
            return own
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


class _Allocation(mmap.mmap):
    """The shared mapping of a memfd behind a ``handover_array``.

    Attributes:
        fd: The memfd (closed when the allocation is freed).
        address: Where it is mapped.
        handed: Sealed and passed once already (later sends copy).
    """

    fd: int = -1
    address: int = 0
    handed: bool = False


_ALLOCATIONS: dict[int, weakref.ref[_Allocation]] = {}
"""Live allocations by address: how a buffer being sent is recognised as one."""


def handover_array(shape: int | Sequence[int], dtype: Any = float) -> np.ndarray:
    """A new, zeroed numpy array in hand-over memory: sending it whole passes it, uncopied.

    For a Task that sends large arrays: fill this array instead of one from
    ``numpy.empty``, then send it (``Task._report``) on a Unix socket with
    hand-over on, and the Executor maps the very memory the Task wrote.
    It behaves as any array otherwise; after it was sent, the Task may
    still read and write it (the Executor does not see those writes). Where
    memfds cannot be made, it is an ordinary array and is sent as one.

    Args:
        shape: The array's shape.
        dtype: Anything ``numpy.dtype`` takes.
    """
    import numpy as np  # noqa: PLC0415 (a Task that sends no array never imports numpy)

    dtype = np.dtype(dtype)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if size == 0 or not hasattr(os, "memfd_create"):
        return np.zeros(shape, dtype)
    try:
        fd = os.memfd_create(ARRAY_NAME, os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    except OSError as err:
        logger.debug("handover_array: no memfd (%s), an ordinary array instead", err)
        return np.zeros(shape, dtype)
    try:
        os.ftruncate(fd, size)
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW)
        memory = _Allocation(fd, size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    except OSError:
        os.close(fd)
        raise
    array = np.frombuffer(memory, dtype=dtype).reshape(shape)
    memory.fd = fd
    memory.address = address = array.__array_interface__["data"][0]

    def forget(ref: weakref.ref[_Allocation]) -> None:
        os.close(fd)
        if _ALLOCATIONS.get(address) is ref:
            del _ALLOCATIONS[address]

    _ALLOCATIONS[address] = weakref.ref(memory, forget)
    return array


def _hand_over_allocation(buffer: memoryview) -> int | None:
    """A sealed descriptor of the allocation ``buffer`` is the whole of; else ``None``."""
    if not _ALLOCATIONS or buffer.readonly or not buffer.nbytes:
        return None
    import ctypes  # noqa: PLC0415 (only once a handover_array exists)

    anchor = ctypes.c_char.from_buffer(buffer)
    address = ctypes.addressof(anchor)
    del anchor
    ref = _ALLOCATIONS.get(address)
    memory = ref() if ref is not None else None
    if memory is None or memory.handed or buffer.nbytes != len(memory):
        return None
    _make_private(memory)
    fcntl.fcntl(memory.fd, fcntl.F_ADD_SEALS, REQUIRED_SEALS | fcntl.F_SEAL_SEAL)
    memory.handed = True
    return os.dup(memory.fd)


def _make_private(memory: _Allocation) -> None:
    """Replace the shared mapping of ``memory`` by a private one of the same file, in place.

    The contents stay (both map the same file) and the arrays using it stay
    valid; only writes from now on go to the Task's own pages.

    Raises:
        OSError: The kernel refused (the mapping may then be gone: the Task
            must not go on).
    """
    import ctypes  # noqa: PLC0415

    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = (
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_long,
    )
    flags = mmap.MAP_PRIVATE | _MAP_FIXED
    prot = mmap.PROT_READ | mmap.PROT_WRITE
    placed = libc.mmap(memory.address, len(memory), prot, flags, memory.fd, 0)
    if placed != memory.address:
        err = ctypes.get_errno()
        raise OSError(err, f"cannot make hand-over memory private: {os.strerror(err)}")


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
