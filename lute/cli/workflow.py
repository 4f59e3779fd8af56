"""``lute workflow run|submit|rerun|list|status|cancel``: a graph of managed tasks.

Every execution of a workflow is a workflow run, recorded in the run
database with its nodes. ``run``, ``submit`` and ``rerun`` print its id on
stdout and nothing else, so a script can keep it (``WF=$(lute workflow
submit ...)``); the node table, job ids and logs go to stderr. ``list``,
``status``, ``rerun`` and ``cancel`` find the database as ``lute db`` does
(``-c CONFIG``, ``--work-dir``, ``--url``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from lute.batch.arrays import check_run_from_environment, parse_runs
from lute.batch.checks import validate_config
from lute.batch.dag import Workflow, load_workflow
from lute.batch.follow import follow_workflow
from lute.batch.local import LocalRunner
from lute.batch.rerun import plan_rerun
from lute.batch.submitted import submit_recorded
from lute.batch.tracking import (
    LOCAL,
    Reused,
    WorkflowStart,
    WorkflowTracker,
    new_workflow_id,
    overall_status,
    stamp,
    start_workflow,
    workflow_store,
)
from lute.cli.locate import database_options, open_located
from lute.cli.submit import add_job_options, apply_job_options
from lute.cli.workflow_show import StatusDisplay, register_views
from lute.config.loader import load_header
from lute.core.analysis import TaskStatus
from lute.core.exceptions import ConfigurationError
from lute.core.exit_codes import EXIT_OK, EXIT_TASK_FAILED
from lute.db.workflow_runs import WorkflowStore

_JOB_ENVIRONMENT = ("EXPERIMENT", "RUN_NUM")
"""What ``-e``/``-r`` export, kept with a submitted workflow run so a rerun sees it too."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``workflow`` sub-command and its actions."""
    workflow = commands.add_parser(
        "workflow", help="run, follow, rerun and cancel workflows (graphs of managed tasks)"
    )
    actions = workflow.add_subparsers(dest="action", required=True, metavar="ACTION")
    run = actions.add_parser(
        "run", help="run the workflow here, branches in parallel; prints its id"
    )
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
        help="submit one SLURM job per node, chained with --dependency=afterok; prints its id",
        description="Options lute does not know are passed to sbatch for every node"
        " without its own slurm_params. With --runs, the workflow is submitted once per"
        " run and one id is printed per run.",
    )
    submit.add_argument("dag", metavar="DAG.yaml", help="workflow definition")
    submit.add_argument("-c", "--config", required=True, help="YAML configuration file")
    add_job_options(submit)
    submit.set_defaults(handler=_submit, pass_through=[])
    where = database_options()
    rerun = actions.add_parser(
        "rerun",
        parents=[where],
        help="run again what did not complete (or from a node on), as the first run ran",
    )
    rerun.add_argument("wf_id", metavar="WF_ID", help="workflow run id (or a unique prefix)")
    which = rerun.add_mutually_exclusive_group()
    which.add_argument(
        "--failed",
        action="store_true",
        help="the nodes without a valid completed run, and their descendants (default)",
    )
    which.add_argument("--from", dest="start_from", metavar="NODE", help="NODE and descendants")
    rerun.set_defaults(handler=_rerun)
    register_views(actions, where)


def run_local(
    workflow: Workflow,
    config: str,
    *,
    max_parallel: int,
    debug: bool,
    rerun_of: str | None = None,
    rerun_mode: str | None = None,
    reused: Mapping[str, Reused] | None = None,
) -> int:
    """Record and run a workflow here; print its id, then follow it on stderr.

    SIGTERM, like Ctrl-C, stops it: running nodes are cancelled, the rest
    not run, and the workflow run is recorded CANCELLED.
    """
    reused = dict(reused or {})
    work_dir = load_header(config).work_dir
    wf_id = new_workflow_id()
    log_dir = Path(work_dir) / "workflows" / f"{Path(workflow.source).stem}_{stamp()}_{wf_id[:8]}"
    options = {
        "max_parallel": max_parallel,
        "debug": debug,
        "work_dir": str(Path(work_dir).resolve()),
        "log_dir": str(log_dir),
    }
    store = workflow_store(config)
    start = WorkflowStart(workflow, config, LOCAL, options, rerun_of, rerun_mode, reused)
    start_workflow(store, start, wf_id)
    sys.stdout.write(f"{wf_id}\n")
    sys.stdout.flush()
    display = StatusDisplay(workflow, sys.stderr, frozenset(reused))
    listeners: list[Any] = [display]
    runner = LocalRunner(
        workflow,
        config,
        max_parallel,
        log_dir,
        debug=debug,
        on_change=lambda name, status: [listener(name, status) for listener in listeners],
        done=reused,
    )
    tracker = WorkflowTracker(store, wf_id, runner.run_ids, runner.log_path, reused)
    listeners.append(tracker)
    display.draw()
    interrupted = False
    try:
        with _sigterm_interrupts():
            statuses = runner.run()
    except KeyboardInterrupt:
        interrupted = True
        statuses = runner.statuses
        sys.stderr.write("interrupted: running nodes were cancelled\n")
    status = TaskStatus.CANCELLED if interrupted else overall_status(statuses)
    tracker.finish(status)
    if not display.tty:
        sys.stderr.write(display.table())
    sys.stderr.write(f"node logs: {log_dir}\nworkflow {wf_id} ended {status.value}\n")
    return EXIT_OK if status is TaskStatus.COMPLETED else EXIT_TASK_FAILED


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Make SIGTERM stop the runner as Ctrl-C does (``lute workflow cancel`` sends it)."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(args: argparse.Namespace) -> int:
    workflow = load_workflow(args.dag)
    validate_config(workflow, args.config)
    if args.max_parallel < 1:
        raise ConfigurationError(f"-j/--max-parallel must be >= 1, got {args.max_parallel}")
    return run_local(workflow, args.config, max_parallel=args.max_parallel, debug=args.debug)


def _submit(args: argparse.Namespace) -> int:
    apply_job_options(args)
    workflow = load_workflow(args.dag)
    runs: list[int | None] = [None]
    if args.runs:
        numbers = parse_runs(args.runs)
        check_run_from_environment(args.config, numbers)
        runs = list(numbers)
    debug = args.job_debug or args.debug
    for run in runs:
        if run is not None:
            os.environ["RUN_NUM"] = str(run)
        _submit_one(workflow, args.config, args.pass_through, debug)
    return EXIT_OK


def _submit_one(
    workflow: Workflow,
    config: str,
    sbatch_args: list[str],
    debug: bool,
    **recorded: Any,
) -> str:
    """Submit and record one workflow run; its id on stdout, its jobs on stderr."""
    environment = {name: os.environ[name] for name in _JOB_ENVIRONMENT if name in os.environ}
    wf_id, submitted = submit_recorded(
        workflow,
        config,
        sbatch_args,
        debug,
        options={"environment": environment, "work_dir": load_header(config).work_dir},
        **recorded,
    )
    sys.stdout.write(f"{wf_id}\n")
    sys.stdout.flush()
    for name, job in submitted.items():
        sys.stderr.write(f"{name} {job.job_id} {job.log}\n")
    return wf_id


def _rerun(args: argparse.Namespace) -> int:
    view = follow_workflow(WorkflowStore(open_located(args)), args.wf_id)
    record = view.record
    if not view.final:
        raise ConfigurationError(
            f"workflow run {record.wf_id} has not ended ({view.status.value}); wait for it,"
            f" or `lute workflow cancel {record.wf_id}` first"
        )
    plan = plan_rerun(view, args.start_from)
    if not plan.run:
        sys.stderr.write(
            f"nothing to rerun: every node of workflow run {record.wf_id} has a valid"
            " completed run (use --from NODE to run one again)\n"
        )
        return EXIT_OK
    config = record.config_path
    validate_config(plan.workflow, config)
    recorded = {"rerun_of": record.wf_id, "rerun_mode": plan.mode, "reused": plan.reused}
    if record.mode == LOCAL:
        return run_local(
            plan.workflow,
            config,
            max_parallel=int(record.options.get("max_parallel", 1)),
            debug=bool(record.options.get("debug", False)),
            **recorded,
        )
    os.environ.update(record.options.get("environment", {}))
    sbatch_args = [str(arg) for arg in record.options.get("sbatch_args", [])]
    _submit_one(plan.workflow, config, sbatch_args, bool(record.options.get("debug")), **recorded)
    return EXIT_OK
