"""``python -m benchmarks``: lute against its floors, through real processes, in one run.

Measures, each ``--repeat`` times with lute and its floor interleaved:

* start-up: ``lute run -t Tester`` and ``lute run`` of a third-party ``true``
  against two interpreters importing pydantic and yaml (``benchmarks.startup``);
* small messages Task -> hook through the real Executor: rate, latency p50
  and p99, losses, against a bare Unix socket between two processes;
* bulk data Task -> hook: 5 x 100 MiB and 1 x 1 GiB numpy arrays against a
  raw Unix-socket copy between two processes, and the Executor's peak memory
  while receiving the 1 GiB (``benchmarks.ipc``);
* once, the import profile of the CLI/Executor and Task processes.

Prints the table (medians, min-max) and writes docs/performance.md.
``bash benchmarks/run.sh`` does the same from a fresh virtual environment.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import ipc, startup
from benchmarks.common import REPO, Spread, machine
from benchmarks.report import Row, render_markdown, render_text

MESSAGES = 100_000


def _progress(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def measure_startup(repeat: int, work: Path) -> list[Row]:
    config_true = startup.true_config(work)
    tester = REPO / "config" / "test.yaml"
    floors, testers, trues, sqlalchemy = [], [], [], []
    for index in range(repeat):
        _progress(f"start-up {index + 1}/{repeat}")
        floors.append(startup.floor(work))
        testers.append(startup.lute_run("Tester", tester, work))
        trues.append(startup.lute_run("ThirdPartyTester", config_true, work))
        sqlalchemy.append(startup.sqlalchemy_import(work))
    floor_wall = Spread.of(t.wall for t in floors)
    floor_cpu = Spread.of(t.cpu for t in floors)
    return [
        Row(
            "startup_tester",
            "`lute run -t Tester`, wall",
            "2 interpreters importing pydantic+yaml",
            "s",
            floor_wall,
            Spread.of(t.wall for t in testers),
        ),
        Row(
            "startup_true",
            "`lute run` of a third-party `true`, wall",
            "2 interpreters importing pydantic+yaml",
            "s",
            floor_wall,
            Spread.of(t.wall for t in trues),
            target=("ratio_max", 2.0),
        ),
        Row(
            "startup_sqlalchemy",
            "importing SQLAlchemy (which recording a run needs), alone, wall",
            "2 interpreters importing pydantic+yaml",
            "s",
            floor_wall,
            Spread.of(sqlalchemy),
        ),
        Row(
            "startup_true_cpu",
            "`lute run` of a third-party `true`, CPU (all processes)",
            "the floor's CPU",
            "s",
            floor_cpu,
            Spread.of(t.cpu for t in trues),
        ),
    ]


def measure_messages(repeat: int, count: int, rate: float, work: Path) -> list[Row]:
    raw_flood, lute_flood, raw_paced, lute_paced = [], [], [], []
    for index in range(repeat):
        _progress(f"messages {index + 1}/{repeat}")
        raw_flood.append(ipc.raw_messages(count))
        lute_flood.append(ipc.lute_messages(count, work))
        raw_paced.append(ipc.raw_messages(count, rate))
        lute_paced.append(ipc.lute_messages(count, work, rate))
    floor = "bare Unix socket, 2 processes"
    flood = f"{count:,} small messages Task -> hook, as fast as the Task can send"
    paced = f"{count:,} small messages Task -> hook at {rate:,.0f}/s"
    return [
        Row(
            "msg_rate",
            f"{flood}: rate",
            floor,
            "msg/s",
            Spread.of(r.rate for r in raw_flood),
            Spread.of(r.rate for r in lute_flood),
            target=("value_min", 100_000),
            higher_is_better=True,
        ),
        Row(
            "msg_flood_p99",
            f"{flood}: latency p99 (queueing)",
            floor,
            "ms",
            Spread.of(r.p99_ms for r in raw_flood),
            Spread.of(r.p99_ms for r in lute_flood),
        ),
        Row(
            "msg_p50",
            f"{paced}: latency p50",
            floor,
            "ms",
            Spread.of(r.p50_ms for r in raw_paced),
            Spread.of(r.p50_ms for r in lute_paced),
        ),
        Row(
            "msg_p99",
            f"{paced}: latency p99",
            floor,
            "ms",
            Spread.of(r.p99_ms for r in raw_paced),
            Spread.of(r.p99_ms for r in lute_paced),
            target=("value_max", 1.0),
        ),
        Row(
            "msg_lost",
            "small messages lost (both runs)",
            "",
            "",
            Spread.of(a.lost + b.lost for a, b in zip(raw_flood, raw_paced, strict=True)),
            Spread.of(a.lost + b.lost for a, b in zip(lute_flood, lute_paced, strict=True)),
            target=("value_max", 0),
        ),
    ]


def measure_bulk(repeat: int, work: Path) -> list[Row]:
    runs: dict[str, list[ipc.BulkRun]] = {
        name: []
        for name in ("raw_5", "reuse_5", "lute_5", "raw_1g", "reuse_1g", "lute_1g", "copy_1g")
    }
    for index in range(repeat):
        _progress(f"bulk {index + 1}/{repeat}")
        runs["raw_5"].append(ipc.raw_bulk(5, 100))
        runs["reuse_5"].append(ipc.raw_bulk(5, 100, reuse=True))
        runs["lute_5"].append(ipc.lute_bulk(5, 100, work))
        runs["raw_1g"].append(ipc.raw_bulk(1, 1024))
        runs["reuse_1g"].append(ipc.raw_bulk(1, 1024, reuse=True))
        runs["lute_1g"].append(ipc.lute_bulk(1, 1024, work, touch=True, allocate=True))
        runs["copy_1g"].append(ipc.lute_bulk(1, 1024, work, touch=True))

    def rate(name: str) -> Spread:
        return Spread.of(run.mib_s for run in runs[name])

    def read_rate(name: str) -> Spread:
        return Spread.of(run.read_mib_s or 0.0 for run in runs[name])

    fresh = "raw Unix-socket copy, 2 processes, into a new buffer per array"
    reused = "raw Unix-socket copy, 2 processes, into one resident buffer (moves bytes only)"

    def peaks(name: str) -> list[float]:
        return [run.peak_gib for run in runs[name] if run.peak_gib is not None]

    rows = [
        Row(
            "bulk_5x100",
            "5 x 100 MiB numpy arrays Task -> hook",
            fresh,
            "MiB/s",
            rate("raw_5"),
            rate("lute_5"),
            target=("ratio_min", 0.5),
            higher_is_better=True,
        ),
        Row(
            "bulk_5x100_reused",
            "5 x 100 MiB numpy arrays Task -> hook",
            reused,
            "MiB/s",
            rate("reuse_5"),
            rate("lute_5"),
            target=("ratio_min", 0.5),
            higher_is_better=True,
        ),
        Row(
            "bulk_1g",
            "1 x 1 GiB numpy array Task -> hook (made with `handover_array`)",
            fresh,
            "MiB/s",
            rate("raw_1g"),
            rate("lute_1g"),
            target=("ratio_min_strict", 1.0),
            higher_is_better=True,
        ),
        Row(
            "bulk_1g_reused",
            "1 x 1 GiB numpy array Task -> hook (made with `handover_array`)",
            reused,
            "MiB/s",
            rate("reuse_1g"),
            rate("lute_1g"),
            target=("ratio_min_strict", 1.0),
            higher_is_better=True,
        ),
        Row(
            "bulk_1g_read",
            "1 x 1 GiB (`handover_array`) Task -> hook, until the hook has read every byte",
            fresh,
            "MiB/s",
            rate("raw_1g"),
            read_rate("lute_1g"),
            higher_is_better=True,
        ),
        Row(
            "bulk_1g_copied",
            "1 x 1 GiB numpy array (any array: copied into a memfd) Task -> hook",
            fresh,
            "MiB/s",
            rate("raw_1g"),
            rate("copy_1g"),
            higher_is_better=True,
        ),
    ]
    for key, name, what in (
        ("bulk_peak", "lute_1g", "`handover_array`"),
        ("bulk_peak_copied", "copy_1g", "any array, copied"),
    ):
        if peaks(name):
            rows.append(
                Row(
                    key,
                    f"Executor peak memory above baseline, receiving 1 GiB ({what};"
                    " hook reads it all)",
                    "",
                    "GiB",
                    None,
                    Spread.of(peaks(name)),
                    target=("value_max", 1.2),
                )
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs of each measure (default 5)")
    parser.add_argument(
        "--bulk-repeat", type=int, default=3, help="runs of the bulk measures (default 3)"
    )
    parser.add_argument("--messages", type=int, default=MESSAGES, help="messages per run")
    parser.add_argument(
        "--rate", type=float, default=100_000, help="messages/s of the paced run (default 100000)"
    )
    parser.add_argument("--only", choices=("startup", "messages", "bulk"), action="append")
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO / "docs" / "performance.md",
        help="Markdown file to write; '-' writes none",
    )
    args = parser.parse_args()
    chosen = set(args.only or ("startup", "messages", "bulk"))
    started = time.monotonic()
    startup.compile_lute()
    before = machine()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="lute-bench-") as tmp:
        work = Path(tmp)
        if "startup" in chosen:
            rows += measure_startup(args.repeat, work)
        if "messages" in chosen:
            rows += measure_messages(args.repeat, args.messages, args.rate, work)
        if "bulk" in chosen:
            rows += measure_bulk(args.bulk_repeat, work)
        profiles = startup.import_profiles(work) if "startup" in chosen else {}
    elapsed = time.monotonic() - started
    command = " ".join(["python -m benchmarks", *sys.argv[1:]])
    print(render_text(rows, profiles))
    if str(args.out) != "-":
        args.out.write_text(render_markdown(rows, profiles, before, machine(), command, elapsed))
        _progress(f"wrote {args.out}")


if __name__ == "__main__":
    main()
