"""A Task's report of how far it has got: the contents of a ``TASK_LOG`` message.

No new signal is needed: the Task sends a ``TaskProgress`` as the contents
of an ordinary ``TASK_LOG`` message (``Task._report_progress``), and the
Executor recognises it by its type, shows it (a bar on a terminal, a line
every 10 % elsewhere) instead of logging it as text, and keeps the last one
with the run's state. An Executor that does not know the type logs it like
any other report, so older Executors are not confused.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TaskProgress"]


@dataclass(frozen=True)
class TaskProgress:
    """How much of a Task's work is done.

    Attributes:
        done: Units of work finished.
        total: Units of work in all (``0``: unknown).
        text: What is being done now, for the person watching.
    """

    done: float
    total: float
    text: str = ""

    @property
    def fraction(self) -> float | None:
        """``done / total`` between 0 and 1, ``None`` when the total is unknown."""
        if self.total <= 0:
            return None
        return min(max(self.done / self.total, 0.0), 1.0)

    def __str__(self) -> str:
        fraction = self.fraction
        amount = f"{self.done:g}/{self.total:g}" if fraction is not None else f"{self.done:g}"
        percent = f" ({fraction:.0%})" if fraction is not None else ""
        return f"{amount}{percent}" + (f" {self.text}" if self.text else "")
