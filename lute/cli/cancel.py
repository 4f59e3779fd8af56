"""``lute cancel``: end a running managed task by its run id."""

from __future__ import annotations

import argparse

from lute.cli.common import EXIT_OK
from lute.execution.control import cancel_run
from lute.io.models.base import default_work_dir


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``cancel`` sub-command."""
    cancel = commands.add_parser(
        "cancel", help="cancel a running managed task (it is recorded as CANCELLED)"
    )
    cancel.add_argument("run_id", metavar="RUN_ID", help="the id `lute run` logged at start")
    cancel.add_argument(
        "--work-dir", help="the run's work directory (default: $LUTE_WORK_DIR or ./lute_work)"
    )
    cancel.set_defaults(handler=_cancel)


def _cancel(args: argparse.Namespace) -> int:
    cancel_run(args.run_id, args.work_dir or default_work_dir())
    return EXIT_OK
