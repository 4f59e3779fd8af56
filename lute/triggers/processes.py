"""The processes of launches: starting them, finding them again, ending them.

Each launch runs in a session of its own, so a Ctrl-C at the watcher's
terminal reaches only the watcher, which then decides (``on_stop``) whether
the launch finishes or is cancelled. The watcher follows each process with a
pidfd in its selector: it learns of an exit at once, without polling.

Every process of a launch carries ``LUTE_TRIGGER_LAUNCH=<marker>`` in its
environment (children inherit it). A watcher killed outright leaves its
launches running; the next watcher finds them by that marker in
``/proc/<pid>/environ`` and follows them to their end instead of launching
again. A pidfd works for processes that are not one's children too.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import subprocess
from collections.abc import Iterable
from pathlib import Path

from lute.core.procinfo import process_start_ticks, process_state
from lute.triggers.actions import ENV_MARKER, PreparedLaunch

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class Tracked:
    """One process of a launch, followed through its pidfd.

    Attributes:
        pid: The process.
        pidfd: Readable once it has exited.
        popen: Set for the watcher's own child (its exit status is known).
    """

    pid: int
    pidfd: int
    popen: subprocess.Popen[bytes] | None = None

    def close(self) -> None:
        """Close the pidfd (once the process is gone)."""
        with contextlib.suppress(OSError):
            os.close(self.pidfd)


def spawn(prepared: PreparedLaunch) -> Tracked:
    """Start a launch's process, its output appended to its log.

    Raises:
        OSError: The program cannot be started or the log cannot be opened.
    """
    prepared.log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(prepared.log_path, "ab") as log:
        proc = subprocess.Popen(
            prepared.argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=prepared.env,
            start_new_session=True,
        )
    return Tracked(proc.pid, os.pidfd_open(proc.pid), proc)


def follow(pid: int, marker: str) -> Tracked | None:
    """Follow a process this watcher did not start, if it still carries ``marker``.

    The marker is checked after the pidfd is open, so a pid reused by an
    unrelated process in between is not mistaken for the launch's.
    """
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        return None
    if marker not in markers_of(pid):
        os.close(pidfd)
        return None
    return Tracked(pid, pidfd)


def markers_of(pid: int) -> set[str]:
    """The launch markers in a process's environment (empty if unreadable)."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return set()
    prefix = f"{ENV_MARKER}=".encode()
    return {
        entry[len(prefix) :].decode(errors="replace")
        for entry in environ.split(b"\0")
        if entry.startswith(prefix)
    }


def find_marked(markers: Iterable[str]) -> dict[str, list[int]]:
    """Live processes (zombies excluded) carrying each of ``markers``."""
    wanted = set(markers)
    found: dict[str, list[int]] = {marker: [] for marker in wanted}
    if not wanted:
        return found
    own = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == own:
            continue
        pid = int(entry)
        for marker in markers_of(pid) & wanted:
            if process_state(pid) not in (None, "Z"):
                found[marker].append(pid)
    return found


def send(process: Tracked, signum: signal.Signals, group: bool) -> None:
    """Signal a launch's process, or its whole process group; a process gone is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if group:
            os.killpg(process.pid, signum)
        else:
            os.kill(process.pid, signum)


def reap(process: Tracked) -> int | None:
    """The exit status of a process whose pidfd became readable (``None`` if not a child)."""
    process.close()
    if process.popen is None:
        return None
    return process.popen.wait()


def kill_group(process: Tracked) -> None:
    """SIGKILL the process and its session's group: the last resort after a grace period."""
    send(process, signal.SIGKILL, group=True)
    send(process, signal.SIGKILL, group=False)


def identity(process: Tracked) -> str | None:
    """The start time of the process, which with its pid names it uniquely."""
    return process_start_ticks(process.pid)
