"""The IPC tests' plugin Tasks, and what a process holds: its memfds and mappings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import lute.core.plugins

PLUGIN = Path(__file__).resolve().parent / "plugin"


@pytest.fixture
def probe(monkeypatch: pytest.MonkeyPatch, in_process: Path) -> Path:
    """The plugin Tasks of ``plugin/``, found by this process and by the Task's.

    Returns the work dir (as ``in_process``). The plugin cache is emptied
    before and after, so the scan sees the plugin and later tests do not.
    """
    monkeypatch.syspath_prepend(str(PLUGIN))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(PLUGIN), os.environ["PYTHONPATH"]]))
    lute.core.plugins._entry_points.cache_clear()
    yield in_process
    lute.core.plugins._entry_points.cache_clear()


def memfds(name: str) -> list[str]:
    """This process's descriptors that are memfds called ``name``."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(f"/memfd:{name} "):
            found.append(target)
    return found


def mapping_of(address: int) -> str:
    """What the mapping holding ``address`` maps: a path, ``/memfd:NAME (deleted)``, or ''."""
    for line in Path("/proc/self/maps").read_text().splitlines():
        fields = line.split(maxsplit=5)
        start, end = (int(part, 16) for part in fields[0].split("-"))
        if start <= address < end:
            return fields[5] if len(fields) > 5 else ""
    raise AssertionError(f"address {address:#x} is not mapped")


def mapped_memfds(name: str) -> list[str]:
    """Mappings of memfds called ``name`` in this process."""
    return [
        line
        for line in Path("/proc/self/maps").read_text().splitlines()
        if f"/memfd:{name} " in line
    ]
