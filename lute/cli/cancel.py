"""``lute cancel``: end a running managed task by its run id or SLURM job id.

A SLURM job id is all digits (``12345``, or ``12345_7`` for an array task); a
run id is the hexadecimal id ``lute run`` prints, or a unique prefix of it (at
least four characters). Digits that start the id of a run advertised in the
work dir name that run, not a SLURM job.
"""

from __future__ import annotations

import argparse
import re
import sys

from lute.batch import slurm
from lute.core.exit_codes import EXIT_OK
from lute.core.workdir import default_work_dir
from lute.execution.control import cancel_run, running_ids

_JOB_ID = re.compile(r"\d+(_\d+)?")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``cancel`` sub-command."""
    cancel = commands.add_parser(
        "cancel", help="cancel a running managed task (it is recorded as CANCELLED)"
    )
    cancel.add_argument(
        "target",
        metavar="RUN_ID|JOB_ID",
        help="the run id `lute run` printed (or a unique prefix), or a SLURM job id",
    )
    cancel.add_argument(
        "--work-dir", help="the run's work directory (default: $LUTE_WORK_DIR or ./lute_work)"
    )
    cancel.set_defaults(handler=_cancel)


def _cancel(args: argparse.Namespace) -> int:
    work_dir = args.work_dir or default_work_dir()
    is_run = any(run_id.startswith(args.target) for run_id in running_ids(work_dir))
    if _JOB_ID.fullmatch(args.target) and not is_run:
        before = slurm.cancel_job(args.target)
        action = "already ended" if before.state.final else "cancelled"
        sys.stdout.write(f"job {args.target} {action} (was {before.state.value})\n")
        return EXIT_OK
    cancel_run(args.target, work_dir)
    return EXIT_OK
