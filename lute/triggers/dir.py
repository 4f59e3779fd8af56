r"""``DirTrigger``: files arriving in a directory, seen through kernel notifications.

The kernel tells watchdog's inotify observer what happens in the directory;
nothing polls it. The event that matters at a beamline is ``closed``: a file
opened for writing was closed, so the detector or the DAQ has finished it.
``created`` and ``modified`` fire while a file is still being written.

Only regular files whose name matches ``pattern`` (searched in the file name,
not the whole path) count; the pattern's named groups become substitution
values (``(?P<run>\d+)`` gives ``{{ trigger.match.run }}`` and the run number).

A catch-up ``scan`` reports the matching files already there. It skips files
a process on this host still has open for writing when ``closed`` is watched:
their ``closed`` event is still to come, and launching on half a file is
worse than waiting. (Writers on other hosts are invisible to this check, and
to inotify itself: see ``docs/triggers.md`` for network filesystems.)
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from lute.triggers.base import BaseTrigger, Emit, TriggerEvent, utc_now

logger = logging.getLogger(__name__)

EVENT_NAMES = ("created", "modified", "deleted", "moved", "closed")
"""Events a DirTrigger can fire on (as in Covalent)."""
_PRESENCE = frozenset({"created", "modified", "moved", "closed"})
"""Events a file already there stands for in a catch-up scan."""


class DirTrigger(BaseTrigger):
    """Fires when files in ``dir_path`` are created, modified, deleted, moved or closed.

    Args:
        dir_path: The directory to watch (it must exist).
        event_names: Which of ``created``, ``modified``, ``deleted``,
            ``moved``, ``closed`` fire.
        batch_size: Events per ``observe`` callback.
        recursive: Watch subdirectories too.
        pattern: Regular expression searched in the file name; files that do
            not match are ignored. Named groups become ``match`` values.
        rescan: Seconds between catch-up scans while watching, a safety net
            for events the kernel dropped (queue overflow); ``None`` scans
            only when asked.

    Raises:
        ValueError: An unknown event name, a bad pattern, or a directory that
            does not exist.
    """

    type_name = "dir"

    def __init__(
        self,
        dir_path: str | os.PathLike[str],
        event_names: Sequence[str],
        batch_size: int = 1,
        recursive: bool = False,
        pattern: str | None = None,
        *,
        rescan: float | None = None,
    ) -> None:
        super().__init__(batch_size)
        if isinstance(event_names, str):
            event_names = [event_names]
        unknown = sorted(set(event_names) - set(EVENT_NAMES))
        if unknown or not event_names:
            raise ValueError(
                f"event names must be some of {', '.join(EVENT_NAMES)}; got {list(event_names)}"
            )
        self.dir_path = str(Path(dir_path).expanduser().resolve())
        if not Path(self.dir_path).is_dir():
            raise ValueError(f"{self.dir_path} is not a directory")
        self.event_names = tuple(dict.fromkeys(event_names))
        self.recursive = recursive
        self.pattern = pattern
        self._regex = re.compile(pattern) if pattern is not None else None
        if rescan is not None and rescan <= 0:
            raise ValueError(f"rescan must be a positive number of seconds, got {rescan}")
        self.rescan = rescan
        self._observer: Any = None
        self._stopping = threading.Event()
        self._rescanner: threading.Thread | None = None

    def _parameters(self) -> dict[str, Any]:
        return {
            "dir_path": self.dir_path,
            "event_names": list(self.event_names),
            "batch_size": self.batch_size,
            "recursive": self.recursive,
            "pattern": self.pattern,
            "rescan": self.rescan,
        }

    # -- what counts

    def match(self, path: str) -> dict[str, str] | None:
        """The named groups if ``path``'s file name matches the pattern, else ``None``."""
        if self._regex is None:
            return {}
        found = self._regex.search(os.path.basename(path))
        if found is None:
            return None
        return {name: value for name, value in found.groupdict().items() if value is not None}

    def event_for(self, kind: str, path: str) -> TriggerEvent | None:
        """The event for ``kind`` on ``path``, or ``None`` if it does not count.

        A file event's key is the path with the size and modification time
        the file has now: the same file rewritten later is a new event, the
        same file seen again (a restart, a catch-up scan) is not.
        """
        groups = self.match(path)
        if groups is None:
            return None
        now = utc_now()
        if kind == "deleted":
            return TriggerEvent(kind, f"{path}|deleted|{now.isoformat()}", now, path, groups)
        try:
            stat = os.stat(path)
        except OSError:
            return None  # gone again before we looked: nothing to launch on
        if not os.path.isfile(path):
            return None
        return TriggerEvent(kind, f"{path}|{stat.st_size}|{stat.st_mtime_ns}", now, path, groups)

    # -- catch-up

    def scan(self) -> list[TriggerEvent]:
        """Matching files already in the directory, as ``existing`` events, by name.

        Empty when only ``deleted`` is watched: a deletion cannot be caught up on.
        """
        if not _PRESENCE & set(self.event_names):
            return []
        paths = sorted(self._files())
        if "closed" in self.event_names:
            busy = open_for_writing(paths)
            for path in sorted(busy):
                logger.info("%s is still open for writing; waiting for it to be closed", path)
            paths = [path for path in paths if path not in busy]
        events = (self.event_for("existing", path) for path in paths)
        return [event for event in events if event is not None]

    def _files(self) -> Iterable[str]:
        if not self.recursive:
            with os.scandir(self.dir_path) as entries:
                yield from (e.path for e in entries if e.is_file(follow_symlinks=False))
            return
        for root, _dirs, files in os.walk(self.dir_path):
            yield from (os.path.join(root, name) for name in files)

    # -- watching

    def _start(self, emit: Emit) -> None:
        from watchdog.events import (  # noqa: PLC0415 (optional dependency, lute[watch])
            FileClosedEvent,
            FileCreatedEvent,
            FileDeletedEvent,
            FileModifiedEvent,
            FileMovedEvent,
            FileSystemEventHandler,
        )
        from watchdog.observers.inotify import InotifyObserver  # noqa: PLC0415

        classes = {
            "created": FileCreatedEvent,
            "modified": FileModifiedEvent,
            "deleted": FileDeletedEvent,
            "moved": FileMovedEvent,
            "closed": FileClosedEvent,
        }
        trigger = self

        class _Handler(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                if event.is_directory or event.event_type not in trigger.event_names:
                    return
                path = event.dest_path if event.event_type == "moved" else event.src_path
                found = trigger.event_for(event.event_type, os.fsdecode(path))
                if found is not None:
                    emit(found)

        self._stopping.clear()
        observer = InotifyObserver()
        observer.schedule(
            _Handler(),
            self.dir_path,
            recursive=self.recursive,
            event_filter=[classes[name] for name in self.event_names],
        )
        observer.start()
        self._observer = observer
        if self.rescan is not None:
            self._rescanner = threading.Thread(
                target=self._rescan_loop, args=(emit,), name=f"rescan {self.dir_path}", daemon=True
            )
            self._rescanner.start()

    def _rescan_loop(self, emit: Emit) -> None:
        while not self._stopping.wait(self.rescan):
            for event in self.scan():
                emit(event)

    def _halt(self) -> None:
        self._stopping.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join()
            self._observer = None
        if self._rescanner is not None:
            self._rescanner.join()
            self._rescanner = None


def open_for_writing(paths: Sequence[str]) -> set[str]:
    """Those of ``paths`` some process of this host has open for writing.

    Reads ``/proc/<pid>/fd`` and ``fdinfo`` of every process this user may
    inspect; others' processes are invisible (and so are other hosts').
    """
    wanted = set(paths)
    busy: set[str] = set()
    if not wanted:
        return busy
    try:
        pids = [entry for entry in os.listdir("/proc") if entry.isdigit()]
    except OSError:
        return busy
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target not in wanted:
                    continue
                with open(f"/proc/{pid}/fdinfo/{fd}", encoding="ascii") as info:
                    flags = next(
                        int(line.split()[1], 8) for line in info if line.startswith("flags:")
                    )
            except (OSError, StopIteration, ValueError):
                continue
            if flags & (os.O_WRONLY | os.O_RDWR):
                busy.add(target)
    return busy
