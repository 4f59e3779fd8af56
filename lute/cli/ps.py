"""``lute ps``: what is running and queued now, local runs and SLURM jobs in one table.

Runs come from the run database (found as ``lute db`` finds it), with the
time since they started; queued and running batch jobs come from
``squeue``, limited to the ones lute submitted. A batch job whose run has
started is listed once, as its run.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from lute.batch.activity import Activity, running_now
from lute.cli.locate import database_options, open_located
from lute.cli.table import format_table, print_json
from lute.core.exceptions import UnknownNameError
from lute.core.exit_codes import EXIT_OK


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``ps`` sub-command."""
    ps = commands.add_parser(
        "ps",
        parents=[database_options()],
        help="what is running and queued now: local runs and lute's SLURM jobs",
    )
    ps.add_argument("--no-slurm", action="store_true", help="do not ask SLURM for queued jobs")
    ps.add_argument("--json", action="store_true", help="as JSON")
    ps.set_defaults(handler=_ps)


def elapsed_text(value: float | str | None) -> str:
    """Seconds as ``H:MM:SS`` (SLURM's own text is shown as it is)."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    seconds = int(value)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def format_activities(activities: list[Activity]) -> str:
    """One row per run or job."""
    headers = ["KIND", "ID", "NAME", "STATE", "ELAPSED", "PROGRESS", "WHERE", "JOB", "WORKFLOW"]
    rows = [
        [
            a.kind,
            a.ident,
            a.name,
            a.state,
            elapsed_text(a.elapsed),
            a.progress,
            a.where,
            a.job_id,
            a.workflow,
        ]
        for a in activities
    ]
    return format_table(headers, rows)


def activity_json(activity: Activity) -> dict[str, Any]:
    """One run or job as JSON values (``elapsed`` in seconds, or SLURM's text)."""
    progress = activity.progress
    return {
        **dataclasses.asdict(activity),
        "progress": progress.to_json() if progress is not None else None,
    }


def _ps(args: argparse.Namespace) -> int:
    try:
        database = open_located(args)
    except UnknownNameError:
        database = None  # nothing recorded here yet: only the queue can have something
    activities = running_now(database, ask_slurm=not args.no_slurm)
    if args.json:
        print_json([activity_json(activity) for activity in activities])
        return EXIT_OK
    print(format_activities(activities) if activities else "nothing running or queued")
    return EXIT_OK
