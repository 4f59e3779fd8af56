"""Running managed tasks as SLURM batch jobs, alone or as a workflow graph.

* ``lute.batch.script``: the batch script and ``sbatch`` command of one
  managed task (pure builders; ``batch_job`` checks the configuration).
* ``lute.batch.parse``: the ``squeue``/``sacct`` command lines and parsers
  of what ``sbatch``, ``squeue`` and ``sacct`` print (pure).
* ``lute.batch.slurm``: the calls that run SLURM: ``submit``,
  ``job_status``, ``cancel_job``.
* ``lute.batch.workflows``: a graph of managed tasks, validated, then run
  here (``LocalRunner``) or submitted as dependent jobs; every workflow run
  recorded, followed, cancelled and rerun (the modules it lists).
* ``lute.batch.arrays``: many runs as one job array (``--runs 10-50,60``).
* ``lute.batch.results``: ``get_result`` and ``get_workflow_result``, which
  can wait for the end.

Builders and parsers are kept apart from the calls so that they can be
tested against recorded scheduler output without SLURM installed. Code
inside lute imports from the submodules; the names below are for users of
the package.
"""

from lute.batch.parse import JobInfo, JobState
from lute.batch.results import WorkflowResult, get_result, get_workflow_result
from lute.batch.script import BatchJob, batch_job
from lute.batch.slurm import SubmittedJob, cancel_job, job_status, submit
from lute.batch.workflows import (
    LocalRunner,
    Workflow,
    WorkflowNode,
    load_workflow,
    parse_workflow,
    submit_workflow,
    validate_config,
)

__all__ = [
    "BatchJob",
    "JobInfo",
    "JobState",
    "LocalRunner",
    "SubmittedJob",
    "Workflow",
    "WorkflowNode",
    "WorkflowResult",
    "batch_job",
    "cancel_job",
    "get_result",
    "get_workflow_result",
    "job_status",
    "load_workflow",
    "parse_workflow",
    "submit",
    "submit_workflow",
    "validate_config",
]
