"""Plain-text tables for the terminal: aligned columns, one line per row."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

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
