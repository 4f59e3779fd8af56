"""Compatibility path kept for code written against LUTE or earlier lute.

Everything here now lives in ``lute.core.exceptions``; import it from there in new code.
"""

from lute.core.exceptions import (
    ConfigurationError,
    ControlError,
    LuteError,
    ProtocolError,
    SubmissionError,
    UnknownNameError,
)

__all__ = [
    "ConfigurationError",
    "ControlError",
    "LuteError",
    "ProtocolError",
    "SubmissionError",
    "UnknownNameError",
]
