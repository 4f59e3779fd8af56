"""``lute submit``: run one managed task as a SLURM batch job."""

from __future__ import annotations

import argparse
import os
import sys

from lute.batch import slurm
from lute.batch.arrays import array_spec, check_run_from_environment, parse_runs
from lute.batch.script import batch_job
from lute.core.exit_codes import EXIT_OK


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``submit`` sub-command."""
    submit = commands.add_parser(
        "submit",
        help="submit one managed task as a SLURM batch job",
        description=(
            "Write a batch script under <work_dir>/slurm/ and submit it with sbatch;"
            " prints the job id (with --runs, of one job array: one job per run)."
            " Options lute does not know are passed to sbatch"
            " (use their long forms: --time, --cpus-per-task, --error)."
        ),
    )
    submit.add_argument("-t", "--taskname", required=True, help="managed task, e.g. Tester")
    submit.add_argument("-c", "--config", required=True, help="YAML configuration file")
    add_job_options(submit)
    submit.set_defaults(handler=_submit, pass_through=[])


def add_job_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by every command that submits batch jobs."""
    parser.add_argument("-e", "--experiment", help="experiment (exported as EXPERIMENT)")
    runs = parser.add_mutually_exclusive_group()
    runs.add_argument("-r", "--run", help="run number (exported as RUN_NUM)")
    runs.add_argument(
        "--runs",
        metavar="LIST",
        help="many runs: numbers and ranges, e.g. 10-50,60 (the header's run must come"
        " from $RUN_NUM)",
    )
    parser.add_argument(
        "--debug",
        dest="job_debug",
        action="store_true",
        help="the job logs at debug level and runs Tasks without -O",
    )


def apply_job_options(args: argparse.Namespace) -> None:
    """Export -e/-r so the configuration and the job both see them."""
    if args.experiment:
        os.environ["EXPERIMENT"] = args.experiment
    if args.run:
        os.environ["RUN_NUM"] = args.run


def _submit(args: argparse.Namespace) -> int:
    apply_job_options(args)
    array = ""
    if args.runs:
        runs = parse_runs(args.runs)
        check_run_from_environment(args.config, runs)
        array = array_spec(runs)
    job = batch_job(
        args.taskname,
        args.config,
        debug=args.job_debug or args.debug,
        sbatch_args=args.pass_through,
        array=array,
    )
    submitted = slurm.submit(job)
    sys.stdout.write(f"{submitted.job_id}\n")
    return EXIT_OK
