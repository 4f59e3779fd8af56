"""``lute workflow run|submit``: a graph of managed tasks, here or on SLURM."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Mapping, Set
from pathlib import Path
from typing import TextIO

from lute.batch.workflows import (
    LocalRunner,
    Workflow,
    load_workflow,
    submit_workflow,
    validate_config,
)
from lute.cli.common import EXIT_OK, EXIT_TASK_FAILED
from lute.cli.submit import add_job_options, apply_job_options
from lute.core.analysis import TaskStatus

NOT_RUN = "CANCELLED (not run)"


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``workflow`` sub-command and its ``run`` and ``submit`` actions."""
    workflow = commands.add_parser("workflow", help="run a workflow (a graph of managed tasks)")
    actions = workflow.add_subparsers(dest="action", required=True, metavar="ACTION")
    run = actions.add_parser("run", help="run the workflow here, branches in parallel")
    run.add_argument("dag", metavar="DAG.yaml", help="workflow definition")
    run.add_argument("-c", "--config", required=True, help="YAML configuration file")
    run.add_argument(
        "-j",
        "--max-parallel",
        type=int,
        default=max(1, len(os.sched_getaffinity(0))),
        help="most nodes running at once (default: cores available)",
    )
    run.set_defaults(handler=_run)
    submit = actions.add_parser(
        "submit",
        help="submit one SLURM job per node, chained with --dependency=afterok",
        description="Options lute does not know are passed to sbatch for every node"
        " without its own slurm_params.",
    )
    submit.add_argument("dag", metavar="DAG.yaml", help="workflow definition")
    submit.add_argument("-c", "--config", required=True, help="YAML configuration file")
    add_job_options(submit)
    submit.set_defaults(handler=_submit, pass_through=[])


def status_label(status: TaskStatus, started: bool) -> str:
    """How a node's status is shown; a node cancelled before it started is 'not run'."""
    if status is TaskStatus.CANCELLED and not started:
        return NOT_RUN
    return status.value


def format_status_table(
    workflow: Workflow, statuses: Mapping[str, TaskStatus], started: Set[str]
) -> str:
    """One line per node: name, managed task, status, parents."""
    rows = [("NODE", "MANAGED TASK", "STATUS", "AFTER")]
    for name, node in workflow.nodes.items():
        shown = status_label(statuses[name], name in started)
        rows.append((name, node.task_name, shown, ", ".join(node.parents) or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() + "\n"
        for row in rows
    )


class _StatusDisplay:
    """Redraws the table in place on a terminal; prints one line per change otherwise."""

    def __init__(self, workflow: Workflow, out: TextIO) -> None:
        self._workflow = workflow
        self._statuses = dict.fromkeys(workflow.nodes, TaskStatus.PENDING)
        self._started: set[str] = set()
        self._out = out
        self._tty = out.isatty()
        self._drawn = 0

    def __call__(self, name: str, status: TaskStatus) -> None:
        self._statuses[name] = status
        if status is TaskStatus.RUNNING:
            self._started.add(name)
        if not self._tty:
            shown = status_label(status, name in self._started)
            self._out.write(f"{dt.datetime.now():%H:%M:%S} {name}: {shown}\n")
            self._out.flush()
            return
        self.draw()

    def table(self) -> str:
        """The current status table."""
        return format_status_table(self._workflow, self._statuses, self._started)

    def draw(self) -> None:
        """Show the table, over the previous one on a terminal."""
        table = self.table()
        if self._tty and self._drawn:
            self._out.write(f"\x1b[{self._drawn}F\x1b[J")
        self._out.write(table)
        self._out.flush()
        self._drawn = table.count("\n")


def _run(args: argparse.Namespace) -> int:
    workflow = load_workflow(args.dag)
    work_dir = validate_config(workflow, args.config)
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    log_dir = Path(work_dir) / "workflows" / f"{Path(args.dag).stem}_{stamp}"
    display = _StatusDisplay(workflow, sys.stdout)
    runner = LocalRunner(
        workflow, args.config, args.max_parallel, log_dir, debug=args.debug, on_change=display
    )
    display.draw()
    try:
        statuses = runner.run()
    except KeyboardInterrupt:
        statuses = runner.statuses
        sys.stdout.write("interrupted: running nodes were cancelled\n")
    if not sys.stdout.isatty():
        sys.stdout.write(display.table())
    sys.stdout.write(f"node logs: {log_dir}\n")
    ok = all(status is TaskStatus.COMPLETED for status in statuses.values())
    return EXIT_OK if ok else EXIT_TASK_FAILED


def _submit(args: argparse.Namespace) -> int:
    apply_job_options(args)
    workflow = load_workflow(args.dag)
    submitted = submit_workflow(
        workflow, args.config, args.pass_through, debug=args.job_debug or args.debug
    )
    for name, job in submitted.items():
        sys.stdout.write(f"{name} {job.job_id} {job.log}\n")
    return EXIT_OK
