"""Helpers for trigger tests: a real ``lute watch`` process, files written in pieces, FIFOs."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, ClassVar

import yaml

TOKEN_VARIABLE = "LUTE_TEST_WATCH_TOKEN"
"""Set in every watcher's environment: its launches inherit it, so leftovers can be found."""


def write_triggers(path: Path, triggers: list[dict[str, Any]], **top: Any) -> Path:
    """Write a trigger file."""
    path.write_text(yaml.safe_dump({**top, "triggers": triggers}, sort_keys=False))
    return path


def write_in_pieces(path: Path, pieces: int = 4) -> None:
    """Open ``path``, write it in several flushed pieces, then close it (one ``closed`` event)."""
    with open(path, "wb") as handle:
        for index in range(pieces):
            handle.write(f"piece {index}\n".encode())
            handle.flush()
            os.fsync(handle.fileno())


class Watch:
    """A ``lute watch`` process whose log lines are read as they come.

    Args:
        trigger_file: The trigger file.
        env: Its environment (a token is added to find its processes later).
        args: More arguments (``--once``).
    """

    started: ClassVar[list[Watch]] = []
    """Every watcher started, so a failed test's leftovers can be ended (``end_all``)."""

    def __init__(self, trigger_file: Path, env: dict[str, str], *args: str) -> None:
        self.token = uuid.uuid4().hex
        self.env = {**env, TOKEN_VARIABLE: self.token}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lute", "watch", str(trigger_file), *args],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        Watch.started.append(self)

    @classmethod
    def end_all(cls) -> None:
        """SIGKILL watchers still running and what they launched (after a failed test)."""
        for watch in cls.started:
            if watch.proc.poll() is None:
                watch.proc.kill()
                watch.proc.wait()
            for pid in processes_with(watch.token):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        cls.started.clear()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, pattern: str, count: int = 1, timeout: float = 60) -> list[str]:
        """Wait until ``count`` lines of the whole log so far match ``pattern``; return them."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        found = [line for line in self.lines if regex.search(line)]
        while len(found) < count:
            try:
                line = self._queue.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:
                log = "\n".join(self.lines[-40:])
                raise AssertionError(f"not {count} lines matching {pattern!r}:\n{log}")
            self.lines.append(line)
            if regex.search(line):
                found.append(line)
        return found[:count]

    def signal(self, signum: signal.Signals) -> None:
        """Send ``signum`` to the watcher."""
        self.proc.send_signal(signum)

    def finish(self, timeout: float = 60) -> int:
        """Wait for the watcher to exit and collect the rest of its log; its exit status."""
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=timeout)
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.lines.append(line)
        return code

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, then wait for the exit."""
        self.signal(signal.SIGTERM)
        return self.finish(timeout)

    def log(self) -> str:
        """Everything logged so far."""
        return "\n".join(self.lines)


def processes_with(token: str) -> list[int]:
    """Live processes (not zombies) whose environment carries ``token``."""
    found = []
    needle = f"{TOKEN_VARIABLE}={token}".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes()
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in environ.split(b"\0") and state != "Z":
            found.append(int(entry))
    return found


def fifo_message(path: Path, timeout: float = 60) -> str:
    """Read what the next writer of FIFO ``path`` writes (waits for it, within ``timeout``)."""
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(path.read_text()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not result:
        raise AssertionError(f"nobody wrote to {path} within {timeout} s")
    return result[0]


def release(path: Path) -> None:
    """Write to FIFO ``path`` whose reader must already be waiting (else ENXIO)."""
    fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    try:
        os.write(fd, b"go\n")
    finally:
        os.close(fd)


def blocking_task_config(path: Path, started: Path, released: Path) -> Path:
    """A BinaryTester config whose program says it started, then waits to be released."""
    for fifo in (started, released):
        os.mkfifo(fifo)
    script = f"echo started > {started}; read answer < {released}"
    path.write_text(
        yaml.safe_dump_all(
            [{"title": "t", "experiment": "xpptest", "run": 7}, {"TestBinary": {"p_arg2": script}}]
        )
    )
    return path


def ledger_launches(db: Path, trigger: str) -> list[dict[str, Any]]:
    """The ledger's launches of ``trigger``, with the keys of their events."""
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        launches = [
            dict(row)
            for row in conn.execute(
                "SELECT * FROM trigger_launches WHERE trigger = ? ORDER BY id", (trigger,)
            )
        ]
        for launch in launches:
            launch["keys"] = [
                row[0]
                for row in conn.execute(
                    "SELECT key FROM trigger_events WHERE launch_id = ? ORDER BY id",
                    (launch["id"],),
                )
            ]
    return launches


def header_runs(db: Path, table: str) -> dict[str, str]:
    """``str_var`` -> the header's run number, for each row of a Test-like table."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            f'SELECT t.str_var, g.run FROM "{table}" t JOIN gen_cfg g ON g.id = t.gen_cfg_id'
        ).fetchall()
    return dict(rows)
