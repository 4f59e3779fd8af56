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
    floors, testers, trues = [], [], []
    for index in range(repeat):
        _progress(f"start-up {index + 1}/{repeat}")
        floors.append(startup.floor(work))
        testers.append(startup.lute_run("Tester", tester, work))
        trues.append(startup.lute_run("ThirdPartyTester", config_true, work))
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
            "startup_true_cpu",
            "`lute run` of a third-party `true`, CPU (all processes)",
            "the floor's CPU",
            "s",
            floor_cpu,
            Spread.of(t.cpu for t in trues),
        ),
    ]


def measure_messages(repeat: int, count: int, work: Path) -> list[Row]:
    raws, lutes = [], []
    for index in range(repeat):
        _progress(f"messages {index + 1}/{repeat}")
        raws.append(ipc.raw_messages(count))
        lutes.append(ipc.lute_messages(count, work))
    what = f"{count:,} small messages Task -> hook"
    return [
        Row(
            "msg_rate",
            f"{what}: rate",
            "bare Unix socket, 2 processes",
            "msg/s",
            Spread.of(r.rate for r in raws),
            Spread.of(r.rate for r in lutes),
            target=("value_min", 100_000),
            higher_is_better=True,
        ),
        Row(
            "msg_p50",
            f"{what}: latency p50",
            "bare Unix socket, 2 processes",
            "ms",
            Spread.of(r.p50_ms for r in raws),
            Spread.of(r.p50_ms for r in lutes),
        ),
        Row(
            "msg_p99",
            f"{what}: latency p99",
            "bare Unix socket, 2 processes",
            "ms",
            Spread.of(r.p99_ms for r in raws),
            Spread.of(r.p99_ms for r in lutes),
            target=("value_max", 1.0),
        ),
        Row(
            "msg_lost",
            f"{what}: lost",
            "",
            "",
            Spread.of(r.lost for r in raws),
            Spread.of(r.lost for r in lutes),
            target=("value_max", 0),
        ),
    ]


def measure_bulk(repeat: int, work: Path) -> list[Row]:
    raw_small, lute_small, raw_big, lute_big = [], [], [], []
    for index in range(repeat):
        _progress(f"bulk {index + 1}/{repeat}")
        raw_small.append(ipc.raw_bulk(5, 100))
        lute_small.append(ipc.lute_bulk(5, 100, work))
        raw_big.append(ipc.raw_bulk(1, 1024))
        lute_big.append(ipc.lute_bulk(1, 1024, work, touch=True))
    floor = "raw Unix-socket copy, 2 processes"
    peaks = [run.peak_gib for run in lute_big if run.peak_gib is not None]
    rows = [
        Row(
            "bulk_5x100",
            "5 x 100 MiB numpy arrays Task -> hook",
            floor,
            "MiB/s",
            Spread.of(r.mib_s for r in raw_small),
            Spread.of(r.mib_s for r in lute_small),
            target=("ratio_min", 0.5),
            higher_is_better=True,
        ),
        Row(
            "bulk_1g",
            "1 x 1 GiB numpy array Task -> hook",
            floor,
            "MiB/s",
            Spread.of(r.mib_s for r in raw_big),
            Spread.of(r.mib_s for r in lute_big),
            target=("ratio_min_strict", 1.0),
            higher_is_better=True,
        ),
    ]
    if peaks:
        rows.append(
            Row(
                "bulk_peak",
                "Executor peak memory above baseline, receiving 1 GiB (hook reads it all)",
                "",
                "GiB",
                None,
                Spread.of(peaks),
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
    parser.add_argument("--messages", type=int, default=MESSAGES, help="messages per flood")
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
    before = machine()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="lute-bench-") as tmp:
        work = Path(tmp)
        if "startup" in chosen:
            rows += measure_startup(args.repeat, work)
        if "messages" in chosen:
            rows += measure_messages(args.repeat, args.messages, work)
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
