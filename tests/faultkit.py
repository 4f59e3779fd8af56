"""Helpers for the fault-injection tests: FIFOs to synchronise on, hook logs, process checks.

Module-level hooks and tasklets live here so ``to_dict`` can name them by
import path (tests/ is on ``sys.path``).
"""

from __future__ import annotations

import os
import select
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import write_config

from lute.core.procinfo import process_state
from lute.execution.executor import BaseExecutor
from lute.execution.hooks import HOOK_NAMES
from lute.ipc import Message

SYNC_TIMEOUT_S = 60.0
"""Upper bound on any wait for an event; reached only when a test is failing."""

CALLS: list[tuple[str, str]] = []
"""Calls of ``record_hook``, for executors rebuilt by ``from_dict``."""


def record_hook(executor: BaseExecutor, msg: Message) -> None:
    """A module-level hook: notes which signal came and the status at that moment."""
    CALLS.append((msg.signal or "", executor.analysis.task_result.task_status.value))


def summary_tasklet(text: str) -> str:
    """A module-level tasklet returning its argument."""
    return text


class HookLog:
    """Replaces every hook of ``executor`` with one that notes (hook, status).

    Args:
        executor: The executor to watch.
        actions: Extra callables per hook name, called with the message.
    """

    def __init__(self, executor: BaseExecutor, actions: dict[str, Any] | None = None) -> None:
        self.calls: list[tuple[str, str]] = []
        self._actions = actions or {}
        for name in HOOK_NAMES:
            executor.add_hook(name, self._make(name))

    def _make(self, name: str) -> Any:
        def hook(executor: BaseExecutor, msg: Message) -> None:
            self.calls.append((name, executor.analysis.task_result.task_status.value))
            if name in self._actions:
                self._actions[name](msg)

        return hook

    def lifecycle(self) -> list[tuple[str, str]]:
        """The calls without the progress hooks (task_log)."""
        return [call for call in self.calls if call[0] != "task_log"]


class Fifo:
    """The read end of a named pipe a Task writes a line to once it runs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        os.mkfifo(path)
        self._fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)

    def read_line(self) -> str:
        """Wait for the writer's line (no writer yet is not end-of-file on Linux)."""
        data = b""
        deadline = time.monotonic() + SYNC_TIMEOUT_S
        while not data.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self._fd], [], [], max(remaining, 0))
            if not ready:
                pytest.fail(f"nothing arrived on {self.path}")
            chunk = os.read(self._fd, 4096)
            if not chunk:
                pytest.fail(f"{self.path} closed after {data!r}")
            data += chunk
        return data.decode()

    def pids(self) -> list[int]:
        return [int(pid) for pid in self.read_line().split()]

    def close(self) -> None:
        os.close(self._fd)


def release(path: Path) -> None:
    """Let a Task waiting on ``path`` finish (it opened its end before announcing)."""
    fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    try:
        os.write(fd, b"go\n")
    finally:
        os.close(fd)


def alive(pid: int) -> bool:
    """Whether ``pid`` still runs.

    A zombie has exited; only its parent has not collected it (orphans here
    go to an init that never reaps), so it does not count as alive.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return process_state(pid) not in (None, "Z")


def assert_gone(pids: list[int]) -> None:
    assert pids, "the Task did not report its processes"
    assert [pid for pid in pids if alive(pid)] == []


def read_pids(path: Path) -> list[int]:
    return [int(pid) for pid in path.read_text().split()]


def fault_config(tmp_path: Path, work_dir: Path, fault: dict[str, Any], **header: Any) -> Path:
    """A config whose ``Fault`` and ``FaultBinary`` sections write pids under tmp_path."""
    sections = {
        "Fault": {"pid_file": str(tmp_path / "pids"), **fault},
        "FaultBinary": {"p_arg4": str(tmp_path / "pids")},
    }
    return write_config(tmp_path / "faults.yaml", sections, {"work_dir": str(work_dir), **header})


def in_thread(target: Any, *args: Any) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread
