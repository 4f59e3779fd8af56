"""What a Task says to its Executor: the message type and its signals.

Kept apart from the wire format so that code which only builds or inspects
messages (hooks, Tasks, tests) does not depend on how they are framed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LUTE_SIGNALS: tuple[str, ...] = (
    "NO_PICKLE_MODE",
    "TASK_STARTED",
    "TASK_FAILED",
    "TASK_STOPPED",
    "TASK_DONE",
    "TASK_CANCELLED",
    "TASK_RESULT",
    "TASK_LOG",
)


@dataclass
class Message:
    """One unit of Task-to-Executor communication.

    Attributes:
        contents: Any picklable object: text, parameters, a ``TaskResult``,
            arrays.
        signal: One of ``LUTE_SIGNALS``, or ``None`` for plain contents.
    """

    contents: Any = None
    signal: str | None = None

    def __post_init__(self) -> None:
        if self.signal is not None and self.signal not in LUTE_SIGNALS:
            raise ValueError(f"unknown signal {self.signal!r}; valid: {', '.join(LUTE_SIGNALS)}")


@dataclass(frozen=True)
class TextLine:
    """A line of plain text a child wrote to one of its output streams."""

    stream: str
    text: str
