"""``lute watch TRIGGERS.yaml``: launch analysis when files arrive, time passes or rows appear."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import threading
from typing import TextIO

from lute.cli.table import print_json
from lute.core.exceptions import ConfigurationError
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
    watch.add_argument("--json", action="store_true", help="with --dry-run: as JSON")
    watch.set_defaults(handler=_watch)


def _watch(args: argparse.Namespace) -> int:
    spec = load_spec(args.triggers)
    if args.json and not args.dry_run:
        raise ConfigurationError("--json goes with --dry-run (a watcher's output is its log)")
    if args.dry_run:
        planned = plan(spec)
        if args.json:
            print_json([dataclasses.asdict(item) for item in planned])
            return EXIT_OK
        for item in planned:
            sys.stdout.write(f"{item.text}\n")
        return EXIT_OK
    if not sys.stdout.isatty():
        return WatchService(spec, once=args.once).run()
    display = StatusLines(sys.stdout)
    handlers = logging.getLogger().handlers if sys.stderr.isatty() else []
    for handler in handlers:
        handler.addFilter(display)
    try:
        return WatchService(spec, once=args.once, on_change=display).run()
    finally:
        for handler in handlers:
            handler.removeFilter(display)


class StatusLines(logging.Filter):
    """One live line per trigger on a terminal, redrawn in place.

    Log lines share the terminal: before one is written, the status lines
    are erased (this object filters the log handlers), and the next change
    draws them again below it, so they stay at the bottom.
    """

    def __init__(self, out: TextIO) -> None:
        super().__init__()
        self._out = out
        self._drawn = 0
        self._lock = threading.Lock()

    def __call__(self, stats: dict[str, TriggerStats]) -> None:
        """Draw ``stats``, over the previous lines."""
        width = max(len(name) for name in stats)
        lines = [
            f"{name.ljust(width)}  "
            + "  ".join(f"{column} {getattr(counts, column)}" for column in _COLUMNS)
            for name, counts in stats.items()
        ]
        with self._lock:
            self._erase()
            self._out.write("".join(f"{line}\n" for line in lines))
            self._out.flush()
            self._drawn = len(lines)

    def filter(self, record: logging.LogRecord) -> bool:
        """Erase the status lines before a log line is written; never drops the record."""
        with self._lock:
            self._erase()
            self._out.flush()
        return True

    def _erase(self) -> None:
        if self._drawn:
            self._out.write(f"\x1b[{self._drawn}F\x1b[J")
            self._drawn = 0
