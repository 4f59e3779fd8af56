"""The exceptions lute raises, grouped by what a caller can do about them.

A ``ConfigurationError`` will not go away by retrying: the input must be
fixed. A ``SubmissionError`` says that starting something failed (a missing
launcher, a refused batch job); a ``ProtocolError`` that a peer broke the
IPC protocol; a ``ControlError`` that a running task cannot be reached.
"""


class LuteError(Exception):
    """Base class of every error lute raises on purpose."""


class ConfigurationError(LuteError):
    """Invalid input: YAML, parameters, names. Fix the input, then rerun."""


class UnknownNameError(ConfigurationError, LookupError):
    """A Task, managed task or other name that lute does not know."""


class SubmissionError(LuteError):
    """Starting a Task or a batch job failed; the message says what and where."""


class ProtocolError(LuteError):
    """A peer broke the IPC wire protocol (bad frame, bad authentication)."""


class ControlError(LuteError):
    """A running managed task cannot be reached from here (cancelled, inspected)."""
