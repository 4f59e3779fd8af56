"""Fixtures of the daily-use tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


class Gate:
    """A FIFO a DailyDemo Task waits at until the test opens the gate.

    The test holds the FIFO open for reading and writing from the start, so
    the Task's open never blocks and the byte ``open`` writes waits in the
    pipe even if the Task has not reached its read yet: no race, no polling.
    A gate never opened simply leaves the Task waiting (to be cancelled).
    """

    def __init__(self, path: Path) -> None:
        os.mkfifo(path)
        self.path = path
        self._fd = os.open(path, os.O_RDWR)

    def open(self) -> None:
        """Let the waiting Task go on."""
        os.write(self._fd, b"x")

    def close(self) -> None:
        os.close(self._fd)


@pytest.fixture
def gate(tmp_path: Path) -> Iterator[Gate]:
    """A gate for one DailyDemo run (``wait_for=str(gate.path)``)."""
    made = Gate(tmp_path / "gate")
    yield made
    made.close()
