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


@dataclass(frozen=True)
class DecodeFailure:
    """An authenticated frame whose contents could not be made a ``Message`` again.

    Its MAC matched, so it came from the run's own Task: the cause is a bug
    (an object that fails to unpickle, a module the Executor cannot import),
    not an attack. The frame's bounds were sound, so the channel carries on;
    the failure is reported rather than raised, and the run goes on.

    Attributes:
        stream: The channel it arrived on.
        seq: The frame's number on that channel.
        error: What went wrong, on one line (``ValueError: ...``).
        detail: The traceback of the failed unpickling, for the run's record.
    """

    stream: str
    seq: int
    error: str
    detail: str = ""

    def __str__(self) -> str:
        return f"message {self.seq} on {self.stream} could not be decoded: {self.error}"


Received = Message | TextLine | DecodeFailure
"""What the Executor side decodes from a channel."""
