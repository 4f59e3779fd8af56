"""``lute status``: the state of SLURM jobs by id (``lute cancel`` ends them)."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys

from lute.batch import slurm
from lute.batch.parse import JobInfo, JobState
from lute.cli.table import print_json
from lute.core.exit_codes import EXIT_OK, EXIT_TASK_FAILED

logger = logging.getLogger(__name__)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``status`` sub-command."""
    status = commands.add_parser("status", help="show the state of SLURM jobs")
    status.add_argument("job_ids", nargs="+", metavar="JOB_ID")
    status.add_argument("--json", action="store_true", help="as JSON")
    status.add_argument(
        "--wait",
        action="store_true",
        help="wait until every job has ended, logging each change of state; exit 0 only"
        " when all COMPLETED",
    )
    status.set_defaults(handler=_status)


def format_jobs(jobs: list[JobInfo]) -> str:
    """A table of jobs, one per line, columns aligned."""
    rows = [("JOBID", "STATE", "REASON", "START", "END")]
    rows += [(j.job_id, j.state.value, j.reason or "-", j.start or "-", j.end or "-") for j in jobs]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        + "\n"
        for row in rows
    )


def _status(args: argparse.Namespace) -> int:
    if args.wait:
        jobs = slurm.wait_for_jobs(args.job_ids, on_change=_log_state)
    else:
        jobs = slurm.job_status(args.job_ids)
    if args.json:
        print_json([{**dataclasses.asdict(job), "state": job.state.value} for job in jobs])
    else:
        sys.stdout.write(format_jobs(jobs))
    if args.wait and any(job.state is not JobState.COMPLETED for job in jobs):
        return EXIT_TASK_FAILED
    return EXIT_OK


def _log_state(job: JobInfo) -> None:
    """One line per change of a waited-for job's state, on stderr with the time."""
    reason = f" ({job.reason})" if job.reason else ""
    logger.info("job %s %s%s", job.job_id, job.state.value, reason)
