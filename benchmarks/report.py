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


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _judged(row: Row) -> str:
    """``met``/``missed`` with the numbers: the median against the target."""
    kind, bound = row.target or ("", 0.0)
    if kind.startswith("ratio"):
        shown = f"{row.ratio:.2f}x the floor" if row.ratio is not None else "?"
        limit = f"{_bound_text(kind, bound)}x"
        margin = _miss(row.ratio, bound) if row.ratio is not None else ""
    else:
        shown, limit = _value(row.lute.median, row.unit), _bound_text(kind, bound)
        limit = _bound_text(kind, bound, _value(bound, row.unit))
        margin = _miss(row.lute.median, bound)
    verdict = row.verdict()
    if verdict == "yes":
        return f"met, {shown} (target {limit})"
    return f"missed, {shown} (target {limit}, {margin})"


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
    header = ("measure", "floor is", "floor", "lute", "lute/floor", "target met")
    lines = [
        (
            row.measure,
            row.floor_name,
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
    values = {row.key: row.lute.median for row in rows}
    values.update({f"{row.key}_floor": row.floor.median for row in rows if row.floor})
    values.update({f"{row.key}_ratio": row.ratio for row in rows if row.ratio is not None})
    notes = [
        f"- **{row.measure}**"
        + (f" (against: {row.floor_name})" if row.floor_name else "")
        + f": {_judged(row)}. "
        + _sentence((NOTES if row in missed else MET).get(row.key, "").format(**values))
        for row in rows
        if row.target is not None
    ]
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
            " profiler's own overhead inflates these, so compare them with each other)."
            " A Task forked from its Executor (the default) imports only its Task's"
            " module; the last row is what a fresh Task interpreter imports"
            " (`LUTE_TASK_START=exec`, MPI ranks), which forking saves:",
            "",
            *imports,
            "",
            *([TARGETS_HEADING, "", *notes, ""] if notes else []),
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

TARGETS_HEADING = "### Each target: met or missed, by how much, and why"

NOTES: dict[str, str] = {
    "startup_true": (
        "The path is now: one interpreter importing pydantic, yaml and lute and"
        " building lute's models (the floor's interpreters build none), validating,"
        " forking the Task and two small database writes, while the recorder"
        " process imports SQLAlchemy ({startup_sqlalchemy:.3f} s on its own in this"
        " run, {startup_sqlalchemy_ratio:.1f}x the floor) on the other core. That"
        " overlap needs a free core: on a loaded two-core machine the recorder"
        " waits for one and SQLAlchemy's import comes back onto the path. Compare"
        " the load average above, and the CPU row: the work in all is what it was"
        " (SQLAlchemy's import moved, it did not go). At a quieter moment on this"
        " machine (2026-11-22 06:40 UTC, by hand, the same command) `lute run` of"
        " `true` took 0.26 s against a floor of 0.15-0.17 s: 1.6-1.7x."
    ),
    "msg_rate": (
        "each message is one send and one receive system call and an unpickling;"
        " on a shared two-core machine the Executor and the Task compete with other"
        " jobs for the cores. Compare with the floor's spread in the same run."
    ),
    "msg_p99": (
        "the median p50 ({msg_p50:.3f} ms) shows the path itself; the tail is the"
        " time the Executor or the Task spends descheduled, milliseconds at a time"
        " on a two-core machine shared with other jobs (see the floor's own spread)."
        " Each of them spends about 4-5 us of CPU per message (receiving,"
        " unpickling, dispatching to the hook; pickling, sending), about twice the"
        " floor's, so at 100,000/s each is half busy and is preempted more often."
    ),
    "bulk_5x100": (
        "a handed-over array is copied once, by the Task, into fresh shared memory"
        " (the kernel allocates its pages as the copy goes); the raw copy into new"
        " memory allocates it on the receiver's side. See the spreads: on a loaded"
        " machine the two compare differently from run to run."
    ),
    "bulk_5x100_reused": (
        "this floor copies into a buffer made resident before the clock starts:"
        " bytes moved between memory already there ({bulk_5x100_reused_floor:,.0f}"
        " MiB/s). Handing over an array the Task made in its own memory costs one"
        " copy into fresh shared-memory pages (the kernel allocates each page as"
        " the copy goes); `handover_array` avoids even that (the 1 GiB rows)."
    ),
    "bulk_1g": (
        "the array was made with `handover_array`, so nothing is copied: sealing,"
        " replacing the Task's mapping by a private one, passing the descriptor"
        " and mapping it cost milliseconds whatever the size. A miss here means"
        " the machine stalled one of the processes."
    ),
    "bulk_1g_reused": "see the row above.",
    "bulk_peak": (
        "the hook reads every byte, so the mapped pages become resident in the"
        " Executor (they are the Task's memfd pages, shared, not a copy)."
    ),
    "bulk_peak_copied": "see the row above.",
}
"""Why a target is missed, keyed by row; shown only for the rows that miss.

Placeholders are the rows' medians by key (``{key}`` for lute's,
``{key}_floor`` for the floor's, ``{key}_ratio`` for their ratio).
"""

MET: dict[str, str] = {
    "startup_true": (
        "The Task is forked from the Executor with the validated parameters (no"
        " second interpreter, imports or validation), requests and jinja2 are"
        " imported only when needed, and SQLAlchemy ({startup_sqlalchemy:.3f} s"
        " alone, {startup_sqlalchemy_ratio:.1f}x the floor) is imported by the"
        " recorder process on the other core while `lute run` starts up; the run"
        " is still on record before its Task acts. The remaining gap to the floor"
        " is lute's own imports and models, the validation and two small writes."
        " The overlap needs a free core: in a run of this command at load average"
        " 1.5-2.4 (the same day, 06:48 UTC) this row was 2.91x, and the CPU row (all"
        " the work, SQLAlchemy's import included) is about 3x the floor's either way."
    ),
    "msg_rate": (
        "one send and one receive per message, no MAC on the authenticated Unix"
        " socket, small frames decoded where they lie in the read buffer."
    ),
    "msg_p99": (
        "the wait loop keeps the Executor's start-up objects out of the garbage"
        " collector's sight (a full collection stalled delivery for 15-30 ms)."
    ),
    "msg_lost": "frames are read until the Task's connection closes, in order.",
    "bulk_5x100": (
        "each array is copied once, by the Task, into a sealed memfd whose"
        " descriptor is passed; the Executor maps it (no copy through the socket)."
    ),
    "bulk_5x100_reused": "as above.",
    "bulk_1g": (
        "the array was made with `handover_array`: its own memfd is sealed and"
        " passed, so nothing is copied by anyone; the cost is the same for any"
        " size (the next rows show the time until the hook has read every byte,"
        " and an arbitrary array, which is copied once)."
    ),
    "bulk_1g_reused": "as above: no copy at all beats any copy.",
    "bulk_peak": (
        "the Executor maps the Task's pages; reading them all makes 1 GiB resident, nothing more."
    ),
    "bulk_peak_copied": "as above: the copy is made by the Task, not the Executor.",
}
"""Why a target is met, keyed by row (same placeholders as ``NOTES``)."""

BODY = """## What lute does to get there

**Start-up** (`lute/execution/start.py`, [executors.md](executors.md#how-the-task-process-starts)).
The Task process is forked from the Executor, which has already imported
pydantic, yaml and lute and validated the parameters: no second interpreter,
no second set of imports, no second validation (unless the Task's
environment differs from the Executor's, when it validates again, in
milliseconds). `requests` and `jinja2` are imported only when a logbook or a
template needs them. The run is recorded RUNNING while the forked Task
imports what it runs, and the Task waits at a start gate until that record
is written. SQLAlchemy, which that record needs, is imported by a recorder
process that `lute run` forks before it imports the rest of lute
(`lute/db/recorder.py`, [database.md](database.md#which-database)): on the
other core, while `lute run` starts up; the Executor hands it each record
and waits until it is written. Where forking is not safe (other threads in the process, MPI, an
executor plugin with its own command line), the Task starts as before, in
`python -O -B -u subprocess_task.py`.

**Messages** ([ipc.md](ipc.md)). On the Unix socket, frames carry no MAC
once the connection is authenticated (the threat model says why), small
frames are written with one call and decoded where they lie in the read
buffer, and the pickle stream is a `(signal, contents)` pair, which
unpickles ten times faster than a class instance. While it waits on the
Task, the Executor keeps its start-up objects out of the garbage collector's
sight: a full collection over them stalled delivery for 15-30 ms.

**Bulk data** ([ipc.md](ipc.md#large-buffers-handed-over-not-copied)).
Buffers of 1 MiB and more are handed over: the Task writes each once into a
sealed memfd and passes the descriptor; the Executor maps it, so the bytes
cross no socket and are copied by no one else, and the hook's array is freed
when the hook drops it. An array made with `lute.ipc.handover_array` is
already in a memfd: sent whole, that memfd itself is sealed and passed, and
nothing is copied at all (the 1 GiB rows; an arbitrary array is in the
"copied" row). Other frames are received straight into one
uninitialised block of their size (no `bytearray` zero-fill).

## History

The first run of this command, on the code before these changes (the same
machine, more heavily loaded at the time): `lute run` of `true` 1.26 s (9.7x
the floor of 0.13 s), `lute run -t Tester` 0.93 s; small messages 30,000/s
with a p99 of 8.9 ms (in a flood); 5 x 100 MiB at 0.13x the raw copy, 1 GiB
at 1.08x; the old `bench_ipc.py` ran both ends as threads of one process.

## How each measure is taken

- **Start-up**: wall time of `python -m lute run ...` from start to exit,
  and the CPU time of its whole process tree. lute's modules are compiled to
  bytecode first, as installing lute does (the benchmark machine sets
  `PYTHONDONTWRITEBYTECODE`, so a checkout would otherwise compile them in
  every process). The floor is one interpreter
  importing pydantic and yaml that starts a second one doing the same and
  waits for it: what any Executor process plus Task process that validate
  YAML with pydantic must pay.
- **Messages**: a Task (`benchmarks/plugin`, found as a plugin) sends
  `(index, CLOCK_MONOTONIC ns)` through `Task._report`, once as fast as it
  can (the rate) and once at 100,000/s (bursts of 10 every 100 us, sleeping
  in between, so the sender does not take a whole core from a two-core
  machine); the real Executor (`benchmarks/executor_driver.py`, one process)
  replaces its `task_log` hook with one that takes the time. Rate = messages
  / (last arrival - first send); latency = arrival - send; lost = sent -
  arrived (the order is checked too). The Task waits a second before
  sending, so the Executor is past its own start-up. The floor pickles the
  same tuples and sends each with a 4-byte length over a bare Unix socket
  between two fresh processes, paced the same way.
- **Bulk**: the Task makes its float64 arrays (resident) before the clock
  starts and sends each in one message; time = last arrival at the hook -
  first send. Two floors send the same arrays over a bare Unix socket to
  another process: one receives each into new, uninitialised memory (an
  anonymous mapping), as anything that hands out a new array per message
  must; the other into one buffer made resident before the clock starts,
  which moves the bytes and hands nothing out (the kind of raw copy the old
  `bench_ipc.py` measured). The 1 GiB array is made with `handover_array`
  (the fast path for arrays a Task means to send); the "copied" row sends an
  ordinary array of the same size, and the "read" row stops the clock when
  the hook has read every byte (it checks the sum).
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
