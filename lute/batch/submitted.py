"""Submitting a workflow to SLURM: one batch job per node, SLURM sequences them.

Each node's job depends on its parents' jobs (``--dependency=afterok``), in
an order where parents come first. When a node fails, its dependants'
dependency can never be satisfied and SLURM cancels them
(``--kill-on-invalid-dep=yes``). If a submission fails half-way, the jobs
already submitted are cancelled so that no partial graph runs.

A node's sbatch options are the command line's (or its own
``slurm_params``), then its operator settings (``lute.batch.node_options``);
the site's and its Task's defaults are ``#SBATCH`` lines of its script,
which those override. Its ``retries`` and ``time_limit`` reach its
Executor in ``$LUTE_EXECUTOR_SETTINGS``.

``submit_recorded`` also records the workflow run: its record exists before
the first job is submitted, and every node's job id is recorded before the
command returns; a job whose id could not be recorded is cancelled, so no
part of the graph runs where no one can follow it. A node's run is linked
to the workflow by its job id once the job has started.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Collection, Iterable, Mapping

from lute.batch import slurm
from lute.batch.checks import validate_config
from lute.batch.dag import Workflow
from lute.batch.node_options import node_sbatch_args
from lute.batch.script import BatchJob, batch_job
from lute.batch.tracking import SLURM, Reused, WorkflowStart, start_workflow, workflow_store
from lute.core.analysis import TaskStatus
from lute.core.exceptions import SubmissionError
from lute.db.workflow_records import NodeState

logger = logging.getLogger(__name__)


def node_jobs(
    workflow: Workflow,
    config: str,
    sbatch_args: Iterable[str] = (),
    debug: bool = False,
    only: Collection[str] | None = None,
) -> dict[str, BatchJob]:
    """The batch job of each node to submit (all, or those in ``only``), parents first.

    Raises:
        ConfigurationError: A node's managed task, settings or options are invalid.
    """
    defaults = tuple(sbatch_args)
    return {
        name: batch_job(
            node.task_name,
            config,
            job_name=name,
            debug=debug,
            sbatch_args=node_sbatch_args(defaults, node),
            check_parameters=False,
            node_settings=node.executor_settings(),
        )
        for name, node in workflow.nodes.items()
        if only is None or name in only
    }


def submit_workflow(
    workflow: Workflow,
    config: str,
    sbatch_args: Iterable[str] = (),
    debug: bool = False,
    only: Collection[str] | None = None,
) -> dict[str, slurm.SubmittedJob]:
    """Submit one batch job per node, each depending on its parents' jobs.

    The configuration is checked (``validate_config``) before the first job
    is submitted. If a submission fails, the jobs already submitted are
    cancelled so that no partial graph runs.

    Args:
        workflow: The graph.
        config: The YAML configuration every node uses.
        sbatch_args: Default sbatch options; a node's ``slurm_params``
            replace them.
        debug: Jobs log at debug level.
        only: Submit only these nodes (a rerun); a parent not among them
            is taken as completed.

    Returns:
        The submitted job of each node, parents first.

    Raises:
        ConfigurationError: A node's parameters are invalid.
        SubmissionError: SLURM is missing or refused a job.
    """
    slurm.require_program("sbatch")
    validate_config(workflow, config)
    jobs = node_jobs(workflow, config, sbatch_args, debug, only)
    submitted: dict[str, slurm.SubmittedJob] = {}
    try:
        for name, job in jobs.items():
            parents = workflow.nodes[name].parents
            after = tuple(submitted[parent].job_id for parent in parents if parent in submitted)
            submitted[name] = slurm.submit(dataclasses.replace(job, after_ok=after))
    except SubmissionError:
        cancel_jobs(job.job_id for job in submitted.values())
        raise
    return submitted


def submit_recorded(
    workflow: Workflow,
    config: str,
    sbatch_args: Iterable[str] = (),
    debug: bool = False,
    *,
    options: Mapping[str, object] | None = None,
    rerun_of: str | None = None,
    rerun_mode: str | None = None,
    reused: Mapping[str, Reused] | None = None,
) -> tuple[str, dict[str, slurm.SubmittedJob]]:
    """Record a workflow run, then submit its nodes (``submit_workflow``); return both.

    Args:
        workflow: The graph.
        config: The YAML configuration every node uses.
        sbatch_args: Default sbatch options.
        debug: Jobs log at debug level.
        options: More to keep in the record (what a rerun needs).
        rerun_of: The workflow run this one repeats.
        rerun_mode: How it repeats it (``failed``, ``from NODE``).
        reused: Nodes not to run, with the earlier runs they reuse.

    Raises:
        ConfigurationError: Invalid input; nothing was submitted or recorded.
        SubmissionError: SLURM refused a job; the record says FAILED.
        DatabaseError: The workflow run cannot be recorded; no job is left.
    """
    slurm.require_program("sbatch")
    validate_config(workflow, config)
    reused = dict(reused or {})
    store = workflow_store(config)
    start = WorkflowStart(
        workflow,
        config,
        SLURM,
        {"sbatch_args": list(sbatch_args), "debug": debug, **(options or {})},
        rerun_of,
        rerun_mode,
        reused,
    )
    wf_id = start_workflow(store, start)
    to_run = [name for name in workflow.nodes if name not in reused]
    try:
        submitted = submit_workflow(workflow, config, sbatch_args, debug, to_run)
    except Exception as err:
        store.finish(wf_id, TaskStatus.FAILED, f"submission failed: {err}")
        store.mark_unstarted(wf_id, NodeState.NOT_RUN)
        raise
    changes = {
        name: {"slurm_job_id": job.job_id, "log_path": str(job.log)}
        for name, job in submitted.items()
    }
    try:
        store.update_nodes(wf_id, changes)
    except Exception:
        cancel_jobs(job.job_id for job in submitted.values())
        raise
    return wf_id, submitted


def cancel_jobs(job_ids: Iterable[str]) -> None:
    """Cancel jobs, newest first (dependants before the jobs they wait for); log failures."""
    for job_id in reversed(list(job_ids)):
        try:
            slurm.cancel_job(job_id)
        except SubmissionError as err:
            logger.error("could not cancel job %s: %s", job_id, err)
