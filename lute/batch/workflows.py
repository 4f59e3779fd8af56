"""Workflows: a graph of managed tasks, validated, then run here or by SLURM.

The public names of the workflow modules, for users and for LUTE-era code
(``lute.execution.workflows`` re-exports them); lute's own code imports from
the modules, one concern each:

* ``lute.batch.dag``: the YAML format and the graph (``load_workflow``);
* ``lute.batch.checks``: the configuration checked before anything runs;
* ``lute.batch.local``: ``LocalRunner``, each node a ``lute run`` process;
* ``lute.batch.submitted``: one SLURM job per node (``submit_workflow``);
* ``lute.batch.node_options``: a node's sbatch options from LUTE's
  operator settings (``max_cores``, ``max_nodes``, ``require_partition``);
* ``lute.batch.tracking``: the workflow run's record, written as it runs;
* ``lute.batch.follow``, ``lute.batch.cancel``, ``lute.batch.rerun``,
  ``lute.batch.results``: following, cancelling, rerunning a workflow run
  and reading its results.
"""

from lute.batch.checks import validate_config
from lute.batch.dag import (
    NODE_FIELDS,
    Workflow,
    WorkflowNode,
    load_workflow,
    parse_workflow,
    parse_workflow_text,
)
from lute.batch.local import LocalRunner
from lute.batch.results import WorkflowResult, get_workflow_result
from lute.batch.submitted import submit_workflow

__all__ = [
    "NODE_FIELDS",
    "LocalRunner",
    "Workflow",
    "WorkflowNode",
    "WorkflowResult",
    "get_workflow_result",
    "load_workflow",
    "parse_workflow",
    "parse_workflow_text",
    "submit_workflow",
    "validate_config",
]
