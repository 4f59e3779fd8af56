"""``lute report [-o DIR]``: a static HTML report of the run database.

The database is found as every other command finds it (``--url``,
``$LUTE_DB_URL``, ``-c CONFIG``, ``--work-dir``; ``lute.cli.locate``). The
report goes to ``-o DIR`` (default ``./lute_report``); its ``index.html``
is printed on stdout, alone, so a script can open or copy it.
"""

from __future__ import annotations

import argparse
import logging

from lute.cli.locate import database_options, open_located
from lute.core.exit_codes import EXIT_OK
from lute.db.engine import redacted
from lute.report import DEFAULT_DIR, build_report

logger = logging.getLogger(__name__)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``report`` sub-command."""
    report = commands.add_parser(
        "report",
        parents=[database_options()],
        help="write a static HTML report of the runs and workflow runs",
        description=(
            "Write a self-contained HTML report of the run database: a runs table"
            " (filter, sort), durations and status history per Task, a page per run"
            " and per workflow run. It opens from the file system, with no server"
            " and no network."
        ),
    )
    report.add_argument(
        "-o",
        "--output",
        default=DEFAULT_DIR,
        metavar="DIR",
        help=f"the report directory, created if missing (default: ./{DEFAULT_DIR})",
    )
    report.add_argument("-e", "--experiment", help="only this experiment's runs")
    report.add_argument(
        "-n",
        "--limit",
        type=_positive,
        metavar="N",
        help="only the newest N runs and N workflow runs (default: all)",
    )
    report.set_defaults(handler=_report)


def _positive(text: str) -> int:
    """A count of at least one, for ``--limit`` (argparse reports anything else)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def _report(args: argparse.Namespace) -> int:
    database = open_located(args)
    outcome = build_report(
        database,
        args.output,
        redacted(database.url),
        experiment=args.experiment,
        limit=args.limit,
    )
    logger.info(
        "report of %d run(s) and %d workflow run(s) written to %s",
        outcome.runs,
        outcome.workflows,
        outcome.index.parent,
    )
    print(outcome.index)
    return EXIT_OK
