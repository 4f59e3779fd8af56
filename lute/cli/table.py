"""Tables of the ``lute`` command: fitted to a terminal, plain in a pipe.

On a terminal a table is drawn by ``rich`` to the terminal's width (long
cells wrap instead of pushing columns off the screen). Anywhere else it is
plain aligned text, one line per row however wide, so ``grep``, ``awk`` and
old scripts keep working; ``--json`` is the format meant for programs.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterable, Sequence
from typing import IO, Any

MAX_CELL = 60
"""Longer cells are cut, so one long summary does not wreck the layout."""


def cell(value: Any, limit: int = MAX_CELL) -> str:
    """One value as a single short line of text."""
    if value is None:
        text = "-"
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, float):
        text = f"{value:.6g}"
    elif isinstance(value, dt.datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S")
    else:
        text = str(value)
    text = " ".join(text.split("\n")).replace("\t", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_table(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], limit: int = MAX_CELL
) -> str:
    """Left-aligned columns under a header line and a rule, two spaces apart.

    Cells longer than ``limit`` are cut; pass a larger one for values that
    are there to be copied (paths).
    """
    cells = [[cell(value, limit) for value in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in cells:
        widths = [max(width, len(text)) for width, text in zip(widths, row, strict=True)]
    lines = [
        "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)),
        "  ".join("-" * w for w in widths),
    ]
    lines += ["  ".join(t.ljust(w) for t, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def print_table(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], stream: IO[str] | None = None
) -> None:
    """Write a table to ``stream`` (stdout): fitted by ``rich`` on a terminal, else plain."""
    out = sys.stdout if stream is None else stream
    if not out.isatty():
        out.write(format_table(headers, rows) + "\n")
        return
    from rich import box  # noqa: PLC0415 (only a terminal needs it)
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415
    from rich.text import Text  # noqa: PLC0415 (cells are text, never markup)

    table = Table(*headers, box=box.SIMPLE_HEAD, header_style="bold", highlight=False)
    for row in rows:
        table.add_row(*(Text(cell(value, limit=10_000)) for value in row))
    Console(file=out, highlight=False).print(table)


def print_json(value: Any, stream: IO[str] | None = None) -> None:
    """Write ``value`` as indented JSON (times and other objects as text)."""
    out = sys.stdout if stream is None else stream
    out.write(json.dumps(value, indent=2, default=str) + "\n")
