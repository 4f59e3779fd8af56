"""How lute's log lines look: a timestamp on every line, colour only for people.

The same format is used by the ``lute`` command (console, SLURM job logs,
trigger launch logs) and by the Task process (whose stderr is the run's log
file), so every line anyone reads says when it happened. Colour is added
only when the stream is a terminal and ``NO_COLOR`` is unset
(https://no-color.org), so files and pipes hold plain text.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Mapping
from typing import IO

__all__ = [
    "DATE_FORMAT",
    "LOG_FORMAT",
    "SUMMARY_LOGGER",
    "LineFormatter",
    "colour_wanted",
    "current_stderr_handler",
    "relayed_level",
]

LOG_FORMAT = "%(asctime)s %(levelname)s:%(name)s: %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
SUMMARY_LOGGER = "lute.summary"
"""The logger of a run's final line (status, duration, run id), shown even with ``-q``."""
RELAYED_PREFIX = "lute.task."
"""Loggers that carry the Task's own output lines, which bring their own time."""

_STAMPED = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ")
_STAMPED_LEVEL = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (WARNING|ERROR|CRITICAL):")
_COLOURS = {
    logging.DEBUG: "\x1b[2m",
    logging.INFO: "\x1b[36m",
    logging.WARNING: "\x1b[33m",
    logging.ERROR: "\x1b[31m",
    logging.CRITICAL: "\x1b[1;31m",
}
_RESET = "\x1b[0m"


def colour_wanted(stream: IO[str], env: Mapping[str, str] = os.environ) -> bool:
    """Whether to colour what goes to ``stream``: a terminal, and no ``NO_COLOR``."""
    if env.get("NO_COLOR") or env.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class LineFormatter(logging.Formatter):
    """``LOG_FORMAT`` lines, the level coloured on request.

    A line the Task wrote that already starts with a timestamp (it logged
    through lute's format) is shown as it is: stamping it again would only
    make it longer.

    Args:
        colour: Colour the level name.
    """

    def __init__(self, colour: bool = False) -> None:
        super().__init__(LOG_FORMAT, DATE_FORMAT)
        self._colour = colour

    def format(self, record: logging.LogRecord) -> str:
        """The line for ``record``."""
        message = record.getMessage()
        if record.name.startswith(RELAYED_PREFIX) and _STAMPED.match(message):
            return message
        if not self._colour:
            return super().format(record)
        plain = record.levelname
        record.levelname = f"{_COLOURS.get(record.levelno, '')}{plain}{_RESET}"
        try:
            return super().format(record)
        finally:
            record.levelname = plain


def relayed_level(line: str) -> int:
    """The level to relay a Task's output line at: the one it was logged at, else INFO.

    A Task logging through lute's format says its level in the line; relaying
    its warnings and errors as such keeps them visible under ``-q``, while
    its other output (and a program's plain lines) stays at INFO.
    """
    found = _STAMPED_LEVEL.match(line)
    return logging.INFO if found is None else logging.getLevelName(found.group(1))


class _CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is now, so a live progress display can wrap it."""

    @property  # type: ignore[override]
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, _value: IO[str]) -> None:
        """The stream is always the current ``sys.stderr``."""


def current_stderr_handler(colour: bool) -> logging.Handler:
    """A handler for ``sys.stderr`` (looked up at each line) with ``LineFormatter``."""
    handler = _CurrentStderrHandler()
    handler.setFormatter(LineFormatter(colour))
    return handler
