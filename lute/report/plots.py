"""The report's plots, drawn as inline SVG in Python: durations and status history.

No plotting library and no JavaScript: the report must open from a shared
file system with no network, and SVG text scales and prints well. Every
value written into the SVG is escaped here, since Task names and run ids
come from the database. Each mark links to its run's page and carries a
``<title>`` the browser shows on hover.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from html import escape

from lute.db.results import Result
from lute.report.colours import status_colour
from lute.report.gather import run_page

WIDTH = 860
"""Width of a plot in SVG units (pages scale it to the column)."""
PANEL_HEIGHT = 170
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 64, 16, 26, 34
HISTORY_CELLS = 60
"""Most recent runs per Task in the status history."""
CELL, GAP, LABEL_WIDTH = 12, 3, 170


def nice_ticks(high: float, count: int = 4) -> list[float]:
    """Round tick values from 0 to at least ``high`` (1, 2 or 5 times a power of ten)."""
    if high <= 0 or not math.isfinite(high):
        high = 1.0
    raw = high / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return [step * i for i in range(math.ceil(high / step - 1e-9) + 1)]


def time_ticks(start: dt.datetime, end: dt.datetime, count: int = 5) -> list[dt.datetime]:
    """``count`` evenly spaced times from ``start`` to ``end``."""
    span = (end - start) / max(count - 1, 1)
    return [start + span * i for i in range(count)]


def time_label(value: dt.datetime, span: dt.timedelta) -> str:
    """A tick label as short as the span allows (UTC)."""
    if span <= dt.timedelta(hours=1):
        return f"{value:%H:%M:%S}"
    if span <= dt.timedelta(days=1):
        return f"{value:%H:%M}"
    return f"{value:%Y-%m-%d}"


def seconds_label(value: float) -> str:
    """Seconds as a tick label: ``0.5 s``, ``12 s``, ``3 min``, ``2 h``."""
    if value >= 7200:
        return f"{value / 3600:g} h"
    if value >= 120:
        return f"{value / 60:g} min"
    return f"{value:g} s"


def duration_plots(results: Sequence[Result], page_prefix: str = "runs/") -> str:
    """One panel per Task: each run's duration against when it started.

    Args:
        results: The runs (any order); runs without both times are left out.
        page_prefix: Where run pages are, relative to the page showing the plot.

    Returns:
        An ``<svg>`` element, or an empty string when no run has a duration.
    """
    by_task: dict[str, list[Result]] = {}
    for result in results:
        if result.start_time is not None and _duration(result) is not None:
            by_task.setdefault(result.task_name, []).append(result)
    if not by_task:
        return ""
    times = [r.start_time for runs in by_task.values() for r in runs if r.start_time]
    first, last = min(times), max(times)
    if last - first < dt.timedelta(seconds=10):
        first, last = first - dt.timedelta(seconds=5), last + dt.timedelta(seconds=5)
    height = PANEL_HEIGHT * len(by_task)
    parts = [
        f'<svg class="plot" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}"'
        ' role="img"'
        f' aria-label="Run durations per Task" xmlns="http://www.w3.org/2000/svg">'
    ]
    for index, task in enumerate(sorted(by_task)):
        runs = sorted(by_task[task], key=lambda r: r.start_time or first)
        parts.append(
            _duration_panel(
                task, runs, first, last, top=PANEL_HEIGHT * index, page_prefix=page_prefix
            )
        )
    parts.append("</svg>")
    return "".join(parts)


def _duration_panel(
    task: str,
    runs: list[Result],
    first: dt.datetime,
    last: dt.datetime,
    *,
    top: int,
    page_prefix: str,
) -> str:
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = PANEL_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    y0 = top + MARGIN_TOP + plot_h
    ticks = nice_ticks(max(_duration(r) or 0.0 for r in runs))
    span = (last - first).total_seconds()

    def x_of(when: dt.datetime) -> float:
        return MARGIN_LEFT + plot_w * (when - first).total_seconds() / span

    def y_of(seconds: float) -> float:
        return y0 - plot_h * seconds / ticks[-1]

    out = [
        f'<g class="panel"><text class="panel-title" x="{MARGIN_LEFT}" y="{top + 16}">'
        f'{escape(task)} <tspan class="muted">({len(runs)} run{"s" if len(runs) != 1 else ""},'
        f" duration)</tspan></text>"
    ]
    for tick in ticks:
        y = y_of(tick)
        out.append(
            f'<line class="grid" x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}"'
            f' y1="{y:.1f}" y2="{y:.1f}"/><text class="tick" x="{MARGIN_LEFT - 6}"'
            f' y="{y + 4:.1f}" text-anchor="end">{escape(seconds_label(tick))}</text>'
        )
    marks = time_ticks(first, last)
    for number, when in enumerate(marks):
        x = x_of(when)
        anchor = "start" if number == 0 else "end" if number == len(marks) - 1 else "middle"
        out.append(
            f'<line class="axis" x1="{x:.1f}" x2="{x:.1f}" y1="{y0}" y2="{y0 + 4}"/>'
            f'<text class="tick" x="{x:.1f}" y="{y0 + 17}" text-anchor="{anchor}">'
            f"{escape(time_label(when, last - first))}</text>"
        )
    out.append(
        f'<line class="axis" x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{y0}" y2="{y0}"/>'
    )
    trend = [
        f"{x_of(r.start_time):.1f},{y_of(_duration(r) or 0.0):.1f}"
        for r in runs
        if r.start_time is not None and r.status.value == "COMPLETED"
    ]
    if len(trend) > 1:
        out.append(f'<polyline class="trend" points="{" ".join(trend)}"/>')
    for result in runs:
        seconds = _duration(result) or 0.0
        if result.start_time is None:
            continue
        label = (
            f"{result.task_name} {result.run_id} attempt {result.attempt}: "
            f"{result.status.value}, {seconds:.2f} s, started {result.start_time:%Y-%m-%d %H:%M:%S}"
        )
        href = escape(page_prefix + run_page(result.run_id, result.attempt))
        out.append(
            f'<a href="{href}"><circle class="mark"'
            f' cx="{x_of(result.start_time):.1f}" cy="{y_of(seconds):.1f}" r="4.5"'
            f' fill="{status_colour(result.status.value)}"><title>{escape(label)}</title>'
            "</circle></a>"
        )
    out.append("</g>")
    return "".join(out)


def status_history(results: Sequence[Result], page_prefix: str = "runs/") -> str:
    """One row per Task: the status of its latest runs, oldest on the left.

    Returns:
        An ``<svg>`` element, or an empty string when there are no runs.
    """
    by_task: dict[str, list[Result]] = {}
    for result in results:
        by_task.setdefault(result.task_name, []).append(result)
    if not by_task:
        return ""
    row_h = CELL + 10
    columns = max(20, min(HISTORY_CELLS, max(len(runs) for runs in by_task.values())))
    width = LABEL_WIDTH + columns * (CELL + GAP) + 10
    height = row_h * len(by_task) + 24
    out = [
        f'<svg class="plot history" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" role="img"'
        f' aria-label="Status history per Task" xmlns="http://www.w3.org/2000/svg">'
        f'<text class="tick" x="{LABEL_WIDTH}" y="{height - 4}">older</text>'
        f'<text class="tick" x="{width - 10}" y="{height - 4}" text-anchor="end">newer</text>'
    ]
    for row, task in enumerate(sorted(by_task)):
        runs = sorted(by_task[task], key=_started)[-HISTORY_CELLS:]
        y = row * row_h + 6
        out.append(
            f'<text class="row-label" x="{LABEL_WIDTH - 10}" y="{y + CELL - 2}"'
            f' text-anchor="end">{escape(_shorten(task, 22))}<title>{escape(task)}</title></text>'
        )
        for column, result in enumerate(runs):
            x = LABEL_WIDTH + column * (CELL + GAP)
            when = f"{result.start_time:%Y-%m-%d %H:%M:%S}" if result.start_time else "not started"
            label = (
                f"{task} {result.run_id} attempt {result.attempt}: {result.status.value}, {when}"
            )
            href = escape(page_prefix + run_page(result.run_id, result.attempt))
            out.append(
                f'<a href="{href}"><rect class="mark"'
                f' x="{x}" y="{y}" width="{CELL}" height="{CELL}" rx="2"'
                f' fill="{status_colour(result.status.value)}"><title>{escape(label)}</title>'
                "</rect></a>"
            )
    out.append("</svg>")
    return "".join(out)


def _duration(result: Result) -> float | None:
    if result.duration is not None:
        return float(result.duration)
    if result.start_time is not None and result.end_time is not None:
        return (result.end_time - result.start_time).total_seconds()
    return None


def _started(result: Result) -> tuple[int, dt.datetime]:
    """Sort key: runs that never started first, then by start time."""
    if result.start_time is None:
        return (0, dt.datetime.min.replace(tzinfo=dt.timezone.utc))
    return (1, result.start_time)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
