"""The benchmark's table, on the terminal and as docs/performance.md."""

from __future__ import annotations

import time
from dataclasses import dataclass

from benchmarks.common import Spread
from benchmarks.startup import HEAVY, ImportProfile


@dataclass(frozen=True)
class Row:
    """One measure: lute and its floor, and the target it must meet, if any.

    ``target`` is ``(kind, bound)``: ``ratio_max`` (lute / floor at most),
    ``ratio_min`` (at least), ``ratio_min_strict`` (more than), ``value_max``
    or ``value_min`` (lute's own value). Judged on the medians.
    """

    key: str
    measure: str
    floor_name: str
    unit: str
    floor: Spread | None
    lute: Spread
    target: tuple[str, float] | None = None
    higher_is_better: bool = False

    @property
    def ratio(self) -> float | None:
        if self.floor is None or not self.floor.median:
            return None
        return self.lute.median / self.floor.median

    def verdict(self) -> str:
        """``yes``, ``no: by how much``, or empty when there is no target."""
        if self.target is None:
            return ""
        kind, bound = self.target
        ratio = self.ratio
        value = self.lute.median
        if kind.startswith("ratio"):
            if ratio is None:
                return "?"
            met = {
                "ratio_max": ratio <= bound,
                "ratio_min": ratio >= bound,
                "ratio_min_strict": ratio > bound,
            }[kind]
            if met:
                return "yes"
            return f"no: {ratio:.2f}x, target {_bound_text(kind, bound)}x ({_miss(ratio, bound)})"
        met = value <= bound if kind == "value_max" else value >= bound
        if met:
            return "yes"
        shown = _value(value, self.unit)
        limit = _value(bound, self.unit)
        return f"no: {shown}, target {_bound_text(kind, bound, limit)} ({_miss(value, bound)})"


def _bound_text(kind: str, bound: float, shown: str | None = None) -> str:
    text = shown if shown is not None else f"{bound:g}"
    return {"ratio_max": "<= ", "value_max": "<= ", "ratio_min_strict": "> "}.get(
        kind, ">= "
    ) + text


def _miss(value: float, bound: float) -> str:
    if bound == 0:
        return f"off by {value:g}"
    return f"off by {abs(value / bound - 1) * 100:.0f}%"


def _value(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:.3f} s"
    if unit == "ms":
        return f"{value:.3f} ms"
    if unit in ("msg/s", "MiB/s"):
        return f"{value:,.0f} {unit}"
    if unit == "GiB":
        return f"{value:.2f} GiB"
    return f"{value:g}"


def _spread(spread: Spread | None, unit: str) -> str:
    if spread is None:
        return "-"
    if spread.low == spread.high:
        return _value(spread.median, unit)
    low, high = _value(spread.low, unit).split()[0], _value(spread.high, unit).split()[0]
    return f"{_value(spread.median, unit)} ({low}-{high})"


def _ratio(row: Row) -> str:
    ratio = row.ratio
    if ratio is None:
        return "-"
    return f"{ratio:.2f}x"


def render_text(rows: list[Row], profiles: dict[str, ImportProfile]) -> str:
    """The table for the terminal."""
    header = ("measure", "floor", "lute", "lute/floor", "target met")
    lines = [
        (
            row.measure,
            _spread(row.floor, row.unit),
            _spread(row.lute, row.unit),
            _ratio(row),
            row.verdict(),
        )
        for row in rows
    ]
    widths = [max(len(str(cells[i])) for cells in [header, *lines]) for i in range(len(header))]
    text = [
        " | ".join(str(cell).ljust(width) for cell, width in zip(cells, widths, strict=True))
        for cells in [header, *lines]
    ]
    text.insert(1, "-+-".join("-" * width for width in widths))
    for name, profile in profiles.items():
        parts = ", ".join(f"{pkg} {ms:.0f}" for pkg, ms in profile.packages.items() if ms)
        text.append(f"imports of {name}: {profile.total:.0f} ms ({parts})")
    return "\n".join(text)


def render_markdown(
    rows: list[Row],
    profiles: dict[str, ImportProfile],
    before: dict[str, str],
    after: dict[str, str],
    command: str,
    elapsed: float,
) -> str:
    """docs/performance.md: how, where, the table, the import profile, the notes."""
    table = [
        "| Measure | Floor | Floor: median (min-max) | lute: median (min-max) | lute / floor "
        "| Target met |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        table.append(
            f"| {row.measure} | {row.floor_name or '-'} | {_spread(row.floor, row.unit)} "
            f"| {_spread(row.lute, row.unit)} | {_ratio(row)} | {row.verdict() or '-'} |"
        )
    imports = []
    if profiles:
        imports = [
            "| Process | all imports | " + " | ".join(HEAVY) + " |",
            "|---|---|" + "---|" * len(HEAVY),
        ]
        for name, profile in profiles.items():
            cells = " | ".join(
                f"{profile.packages[pkg]:.0f}" if profile.packages[pkg] else "-" for pkg in HEAVY
            )
            imports.append(f"| {name} | {profile.total:.0f} | {cells} |")
    missed = [row for row in rows if row.verdict().startswith("no")]
    notes = [f"- **{row.measure}**: {NOTES[row.key]}" for row in missed if row.key in NOTES]
    return "\n".join(
        [
            HEADER,
            "## The numbers",
            "",
            f"Command: `{command}` ({elapsed / 60:.1f} minutes), {time.strftime('%Y-%m-%d')}.",
            "",
            f"Machine: {before['cpu']}, {before['cores']} cores, {before['memory']}, "
            f"Linux {before['kernel']}, Python {before['python']}; load average "
            f"{before['load']} before, {after['load']} after (the machine is shared).",
            "",
            *table,
            "",
            "Import profile of `lute run -t Tester` (`python -X importtime`, ms; the"
            " profiler's own overhead inflates these, so compare them with each other):",
            "",
            *imports,
            "",
            *(["### Targets missed", "", *notes, ""] if notes else []),
            BODY,
        ]
    )


HEADER = """# Performance

Every claim is a ratio against a floor measured in the same run, through
real processes, because the machines are shared and noisy: absolute numbers
are for orientation only. The table below is written by the benchmark
command itself; run it to reproduce it:

```
python -m benchmarks            # or: bash benchmarks/run.sh (fresh venv)
python -m benchmarks --only startup --repeat 9 --out -   # one part, print only
```
"""

NOTES: dict[str, str] = {}
"""Why a target is missed, keyed by row; shown only for the rows that miss."""

BODY = """## How each measure is taken

- **Start-up**: wall time of `python -m lute run ...` from start to exit,
  and the CPU time of its whole process tree. The floor is one interpreter
  importing pydantic and yaml that starts a second one doing the same and
  waits for it: what any Executor process plus Task process that validate
  YAML with pydantic must pay.
- **Messages**: a Task (`benchmarks/plugin`, found as a plugin) sends
  `(index, CLOCK_MONOTONIC ns)` as fast as it can through `Task._report`;
  the real Executor (`benchmarks/executor_driver.py`, one process) replaces
  its `task_log` hook with one that takes the time. Rate = messages / (last
  arrival - first send); latency = arrival - send; lost = sent - arrived (the
  order is checked too). The Task waits a second before sending, so the
  Executor is past its own start-up. The floor pickles the same tuples and
  sends each with a 4-byte length over a bare Unix socket between two fresh
  processes.
- **Bulk**: the Task makes its float64 arrays (resident) before the clock
  starts and sends each in one message; time = last arrival at the hook -
  first send. The floor sends the same arrays over a bare Unix socket into a
  fresh uninitialised buffer (`numpy.empty`) per array in another process.
- **Peak memory**: the Executor process's peak resident size (`VmHWM`, reset
  through `/proc/self/clear_refs` once its own imports are done) minus its
  resident size then, while it receives the 1 GiB array and the hook reads
  every byte of it.

## Database - `python benchmarks/bench_db.py`

See [database.md](database.md#speed): recording a run is 2-4x a raw
`sqlite3` insert of the same row; `read_latest_db_entry` on a 100k-row
table costs about 150 us, flat in table size.

## eLog - `python benchmarks/bench_elog.py`

See [elog.md](elog.md): a healthy logbook adds about 2 % to a run; a
hanging one adds at most the configured flush bound.
"""
