"""The exceptions lute raises, grouped by what a caller can do about them.

A ``ConfigurationError`` will not go away by retrying; a ``SubmissionError``
may (``transient`` says which); a ``TaskFailedError`` reports a Task that ran
and failed.
"""


class LuteError(Exception):
    """Base class of every error lute raises on purpose."""


class ConfigurationError(LuteError):
    """Invalid input: YAML, parameters, names. Fix the input, then rerun."""


class UnknownNameError(ConfigurationError, LookupError):
    """A Task, managed task or other name that lute does not know."""


class SubmissionError(LuteError):
    """Starting a Task or a batch job failed.

    Args:
        message: What failed and where.
        transient: True when the same call may succeed later (a busy
            scheduler, a full socket buffer), so callers may retry.
    """

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class TaskFailedError(LuteError):
    """A Task ran and ended in a non-successful state."""


class ProtocolError(LuteError):
    """A peer broke the IPC wire protocol (bad frame, bad authentication)."""


class ControlError(LuteError):
    """A running managed task cannot be reached from here (cancelled, inspected)."""
