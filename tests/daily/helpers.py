"""Shared pieces of the daily-use tests: the DailyDemo plugin and log-line shapes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from conftest import write_config

PLUGIN = Path(__file__).parent / "plugin"
STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (DEBUG|INFO|WARNING|ERROR|CRITICAL):\S+: ")


def demo_env(lute_env: dict[str, str]) -> dict[str, str]:
    """``lute_env`` with the DailyDemo plugin importable."""
    return {**lute_env, "PYTHONPATH": os.pathsep.join([str(PLUGIN), lute_env["PYTHONPATH"]])}


def demo_config(tmp_path: Path, **params: Any) -> Path:
    """A config with one DailyDemo section."""
    return write_config(tmp_path / "demo.yaml", {"DailyDemo": params})


def start_lute(args: list[str], env: dict[str, str], **kwargs: Any) -> subprocess.Popen[str]:
    """Start ``python -m lute ARGS`` with stdout and stderr piped as text."""
    return subprocess.Popen(
        [sys.executable, "-m", "lute", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def read_until(stream: Any, needle: str) -> list[str]:
    """Read lines from ``stream`` up to the first holding ``needle`` (fails at EOF)."""
    lines: list[str] = []
    for line in stream:
        lines.append(line)
        if needle in line:
            return lines
    raise AssertionError(f"{needle!r} never came; got:\n{''.join(lines)}")


class PtyReader:
    """A pseudo-terminal whose output a thread keeps reading, so the writer never blocks.

    A terminal's buffer holds only a few kilobytes: a child writing more to
    one nobody reads would hang. ``child`` is the fd to give as a stream;
    ``text()`` returns everything written once the child has exited.
    """

    def __init__(self) -> None:
        self.parent, self.child = os.openpty()
        self._chunks: list[bytes] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.parent, 1 << 16)
            except OSError:  # EIO: every writer has closed the terminal
                return
            if not chunk:
                return
            self._chunks.append(chunk)

    def text(self) -> str:
        """All output so far, after closing our copy of the child end."""
        os.close(self.child)
        self._thread.join(timeout=30)
        os.close(self.parent)
        return b"".join(self._chunks).decode(errors="replace")
