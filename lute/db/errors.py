"""How the run database reports failures.

Messages name the database and the first line of the driver's own reason,
never a whole traceback or a password: they end up in warnings a user reads
next to a run's log, so they must be short and safe to paste.
"""

from __future__ import annotations

from lute.core.exceptions import LuteError


class DatabaseError(LuteError):
    """The database could not be opened, read or written."""


def failure_reason(err: BaseException) -> str:
    """The first line of what the driver (or SQLAlchemy) said about ``err``."""
    orig = getattr(err, "orig", None) or err
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
