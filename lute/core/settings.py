"""Numeric settings read from environment variables, checked in one place.

Every ``LUTE_*`` number (timeouts, retries, rank counts) is validated the
same way, so a typo gets the same one-line error naming the variable
whichever part of lute reads it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from lute.core.exceptions import ConfigurationError


def env_number(
    env: Mapping[str, str], name: str, default: float, *, minimum: float = 0, strict: bool = True
) -> float:
    """The number in ``env[name]``, or ``default`` when unset or empty.

    Args:
        env: Where to look (usually ``os.environ``).
        name: The variable.
        default: Returned when the variable is unset or empty.
        minimum: The smallest value accepted.
        strict: Refuse ``minimum`` itself (a positive number when 0).

    Raises:
        ConfigurationError: The value is not a number in range.
    """
    text = env.get(name)
    if not text:
        return default
    return checked_number(text, name, minimum=minimum, strict=strict)


def checked_number(
    value: float | str, what: str, *, minimum: float = 0, strict: bool = True
) -> float:
    """``value`` as a float if it is a number above (or at) ``minimum``.

    Raises:
        ConfigurationError: Naming ``what`` and the range expected.
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    in_range = number > minimum if strict else number >= minimum
    if not in_range:
        bound = f"> {minimum:g}" if strict else f">= {minimum:g}"
        raise ConfigurationError(f"{what}={value!r} is not valid; give a number {bound}")
    return number


def positive_int(value: int | str, what: str) -> int:
    """``value`` as an integer of at least 1.

    Raises:
        ConfigurationError: It is not a whole number >= 1.
    """
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1:
        raise ConfigurationError(f"{what}={value!r} is not valid: must be >= 1 (a whole number)")
    return number
