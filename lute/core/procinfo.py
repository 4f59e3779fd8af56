"""What ``/proc`` says about a process: whether it still runs, and which one it is.

Pids are reused, so a record that names a process (a run file, a RUNNING
row in the database) also keeps its start time: the pair identifies one
process for the life of the machine. Reading this is all any layer needs
to tell a live Executor from a dead one, so it lives at the bottom.
"""

from __future__ import annotations

import os


def live_group_members(pgid: int) -> list[int]:
    """Processes of group ``pgid`` that are still running (zombies excluded).

    A zombie has finished: it only waits for its parent (possibly an init
    that never reaps) to collect its status, so it does not count as left
    behind. Reads ``/proc``; elsewhere returns an empty list.
    """
    members = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        fields = _stat_fields(int(entry))
        if fields is not None and fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry))
    return members


def process_state(pid: int) -> str | None:
    """The one-letter state of ``pid`` (``R``, ``S``, ``T``, ``Z``...), or None if gone."""
    fields = _stat_fields(pid)
    return None if fields is None else fields[0]


def process_start_ticks(pid: int) -> str | None:
    """When ``pid`` started, in clock ticks since boot: with the pid, a unique identity.

    Pids are reused; a pid together with its start time is not, so a stale
    record can be told apart from a new process that happens to share its pid.
    """
    fields = _stat_fields(pid)
    return None if fields is None else fields[19]


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of ``/proc/<pid>/stat`` after the command name (state first)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()
