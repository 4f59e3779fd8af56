"""Names that lute turns into file names, directories and job names, checked in one place.

Task names, managed-task names, workflow node names, run ids and batch job
names all end up as parts of paths (``logs/<Task>/<run_id>/``,
``<node>.log``) or in batch scripts. A name like ``../../x`` would write
outside the work dir, and one with a newline would add a line to a script,
so every such name passes ``check_name`` before lute uses it, every
path built from a template passes ``check_inside``, and every other value
written into a line of a script passes ``check_line``.

``close_names`` finds what a mistyped name was probably meant to be, the
same way for every kind of name.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable
from pathlib import Path

from lute.core.exceptions import ConfigurationError

MAX_NAME_LENGTH = 128
"""Longest name accepted: far more than any real one, short enough for any file system."""

_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ALLOWED = f"letters, digits, '_', '-' and '.' (not first), at most {MAX_NAME_LENGTH} characters"


def check_name(kind: str, value: object) -> str:
    """``value`` if it can safely name a file, a directory or a batch job.

    Args:
        kind: What the name names, for the message (``"workflow node"``).
        value: The name to check.

    Raises:
        ConfigurationError: One line naming ``kind`` and the value (escaped,
            so a newline in it cannot break the line) and saying what is
            allowed.
    """
    if isinstance(value, str) and len(value) <= MAX_NAME_LENGTH and _NAME.fullmatch(value):
        return value
    shown = repr(value) if len(repr(value)) <= 2 * MAX_NAME_LENGTH else f"{repr(value)[:80]}..."
    raise ConfigurationError(f"{kind} {shown} is not a valid name: use {_ALLOWED}")


def check_line(kind: str, value: str, why: str) -> str:
    """``value`` if it holds no control character (newline, tab, escape...).

    Args:
        kind: What the value is, for the message (``"sbatch option"``).
        value: The value to check.
        why: Where it is written, for the message.

    Raises:
        ConfigurationError: One line naming ``kind`` and the value, escaped.
    """
    if _CONTROL.search(value):
        raise ConfigurationError(
            f"{kind} {value!r} contains a control character (a newline?); {why}"
        )
    return value


def check_inside(
    kind: str, directory: str | os.PathLike[str], path: str | os.PathLike[str]
) -> Path:
    """``path``, resolved against ``directory``, if it stays inside ``directory``.

    The check is on the words of the path (``..`` is resolved without
    following symbolic links), so a directory that is a link to another file
    system, as sites often set up for logs, still counts as inside.

    Args:
        kind: What the path is for, for the message (``"stdout log"``).
        directory: Where the path must stay.
        path: Relative to ``directory``, or absolute.

    Raises:
        ConfigurationError: The path leads out of ``directory``.
    """
    base = os.path.normpath(os.path.abspath(directory))
    full = os.path.normpath(os.path.join(base, path))
    if full != base and not full.startswith(base.rstrip(os.sep) + os.sep):
        raise ConfigurationError(f"{kind} {str(path)!r} leads outside {base}")
    return Path(full)


def close_names(name: str, known: Iterable[str], *, cutoff: float = 0.5) -> list[str]:
    """Up to three names of ``known`` that ``name`` is most likely a typo of, best first.

    Args:
        name: The name given.
        known: The names it may have been meant to be.
        cutoff: How alike (0 to 1, ``difflib``'s ratio) a name must be to
            count; raise it where a false suggestion would refuse good input.
    """
    return difflib.get_close_matches(name, list(known), n=3, cutoff=cutoff)
