"""Writing files whole or not at all.

Readers of lute's files (a spool replayed by ``lute db sync``, an export a
colleague opens, a rendered template a third-party program reads) must never
see half a file, so every file is written under a temporary name in the same
directory and renamed into place.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

PRIVATE = 0o600
"""Mode of files only their owner may read."""
SHARED = 0o644
"""Mode of files colleagues in the same experiment directory may read."""


def umask_mode() -> int:
    """The mode a new file gets from the process's umask (``0o666`` less the umask).

    Files made for colleagues (exports, reports) follow the umask, so a group
    that shares an experiment directory with ``umask 002`` may also replace
    them; ``write_atomically`` would otherwise impose a fixed mode.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    current = os.umask(0o022)  # no /proc: read it by setting it, and put it back at once
    os.umask(current)
    return 0o666 & ~current


def write_atomically(
    path: str | os.PathLike[str],
    content: str | Callable[[IO[str]], None],
    *,
    mode: int = SHARED,
    durable: bool = False,
) -> Path:
    """Write ``content`` to ``path`` so that readers see the old file or the new one.

    Args:
        path: The file to create or replace; its directory is created if needed.
        content: The text, or a function that writes it to an open text handle.
        mode: Permission bits of the new file.
        durable: Flush the file and its directory to disk before returning,
            for records that must survive a power cut.

    Returns:
        The path written.

    Raises:
        OSError: The directory or the file cannot be written; nothing is left
            behind.
    """
    target = Path(path)
    directory = target.parent
    directory.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            if callable(content):
                content(handle)
            else:
                handle.write(content)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    if durable:
        sync_directory(directory)
    return target


def sync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable (a no-op where unsupported)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
