"""Shared pieces of the daily-use tests: the DailyDemo plugin and log-line shapes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
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


def read_available(fd: int) -> str:
    """Everything that can be read from ``fd`` now (the writer has finished)."""
    os.set_blocking(fd, False)
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 1 << 16)
        except (BlockingIOError, OSError):
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")
