"""How much work a configuration file may make lute do, and the meter that enforces it.

A configuration is input, and input can be hostile or just wrong: a file of
50 MB, a list nested thousands deep, an anchor aliased nine times on nine
levels (a billion values from 500 bytes), a substitution that refers to a
key ten times, which refers to another ten times. Each limit below turns
one of these into a one-line error, found in a bounded time and memory
rather than after the machine runs out of either.

Real configurations are a few kilobytes and stay far inside every limit.
"""

from __future__ import annotations

import os

from lute.core.exceptions import ConfigurationError
from lute.core.settings import env_number

ENV_MAX_BYTES = "LUTE_CONFIG_MAX_BYTES"
DEFAULT_MAX_BYTES = 4 * 1024 * 1024
"""Largest configuration file read, unless ``$LUTE_CONFIG_MAX_BYTES`` says otherwise."""

MAX_NESTING = 100
"""Deepest nesting of mappings and lists, in the file and after substitution."""

MAX_YAML_NODES = 100_000
"""Most YAML nodes a file may hold, counting each alias and each merged key once."""

MAX_PRODUCED = 1_000_000
"""Most values plus characters that resolving substitutions may produce in one load."""


def max_bytes() -> int:
    """The size limit of a configuration file, from the environment or the default.

    Raises:
        ConfigurationError: ``$LUTE_CONFIG_MAX_BYTES`` is not a positive number.
    """
    return int(env_number(os.environ, ENV_MAX_BYTES, DEFAULT_MAX_BYTES))


class Budget:
    """Counts the work done for one configuration and stops it at a limit.

    Args:
        where: The configuration file, for the message.
        limit: Units of work allowed.
        what: What one unit is, for the message.
        hint: What probably went wrong, for the message.
    """

    def __init__(self, where: str, limit: int, what: str, hint: str) -> None:
        self._where = where
        self._left = limit
        self._limit = limit
        self._what = what
        self._hint = hint

    @property
    def left(self) -> int:
        """Units still allowed."""
        return self._left

    def spend(self, amount: int, location: str) -> None:
        """Count ``amount`` units of work done at ``location``.

        Raises:
            ConfigurationError: The limit is passed; the message names the
                file and ``location``.
        """
        self._left -= amount
        if self._left < 0:
            raise ConfigurationError(
                f"{self._where}: {location}: more than {self._limit:,} {self._what}"
                f" ({self._hint}); lute refuses it"
            )
