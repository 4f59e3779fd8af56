"""Running managed tasks as SLURM batch jobs, alone or as a workflow graph.

* ``lute.batch.script``: the batch script and ``sbatch`` command of one
  managed task (pure builders; ``batch_job`` checks the configuration).
* ``lute.batch.parse``: the ``squeue``/``sacct`` command lines and parsers
  of what ``sbatch``, ``squeue`` and ``sacct`` print (pure).
* ``lute.batch.slurm``: the calls that run SLURM: ``submit``,
  ``job_status``, ``cancel_job``.
* ``lute.batch.workflows``: a graph of managed tasks, validated, then run
  here (``LocalRunner``) or submitted as dependent jobs.

Builders and parsers are kept apart from the calls so that they can be
tested against recorded scheduler output without SLURM installed. Code
inside lute imports from the submodules; the names below are for users of
the package.
"""

from lute.batch.parse import JobInfo, JobState
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
    "batch_job",
    "cancel_job",
    "job_status",
    "load_workflow",
    "parse_workflow",
    "submit",
    "submit_workflow",
    "validate_config",
]
