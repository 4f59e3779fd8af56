"""``lute watch TRIGGERS.yaml``: launch analysis when files arrive, time passes or rows appear."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from lute.core.exit_codes import EXIT_OK
from lute.triggers.plan import plan
from lute.triggers.service import TriggerStats, WatchService
from lute.triggers.spec import load_spec

_COLUMNS = ("seen", "queued", "launched", "running", "failed")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``watch`` sub-command."""
    watch = commands.add_parser(
        "watch",
        help="run triggers until stopped: launch managed tasks or workflows on events",
        description="Runs until SIGINT or SIGTERM. Every trigger file problem is reported"
        " before anything starts (exit status 2).",
    )
    watch.add_argument("triggers", metavar="TRIGGERS.yaml", help="trigger file")
    mode = watch.add_mutually_exclusive_group()
    mode.add_argument(
        "--once", action="store_true", help="handle what is pending now, wait for it, and exit"
    )
    mode.add_argument(
        "--dry-run", action="store_true", help="print what would be launched now, and exit"
    )
    watch.set_defaults(handler=_watch)


def _watch(args: argparse.Namespace) -> int:
    spec = load_spec(args.triggers)
    if args.dry_run:
        for line in plan(spec):
            sys.stdout.write(f"{line}\n")
        return EXIT_OK
    display = StatusLines(sys.stdout) if sys.stdout.isatty() else None
    return WatchService(spec, once=args.once, on_change=display).run()


class StatusLines:
    """One live line per trigger on a terminal, redrawn in place."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._drawn = 0

    def __call__(self, stats: dict[str, TriggerStats]) -> None:
        """Draw ``stats``, over the previous lines."""
        width = max(len(name) for name in stats)
        lines = [
            f"{name.ljust(width)}  "
            + "  ".join(f"{column} {getattr(counts, column)}" for column in _COLUMNS)
            for name, counts in stats.items()
        ]
        if self._drawn:
            self._out.write(f"\x1b[{self._drawn}F\x1b[J")
        self._out.write("".join(f"{line}\n" for line in lines))
        self._out.flush()
        self._drawn = len(lines)
