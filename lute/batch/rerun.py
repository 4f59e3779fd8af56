"""Running a workflow again: only what did not complete, or from one node on.

``lute workflow rerun WF_ID`` runs again the nodes of workflow run ``WF_ID``
that have no valid completed run (failed, timed out, cancelled, not run, or
invalidated since), and their descendants; with ``--from NODE``, that node
and its descendants. A node outside that set is not run again: its earlier
valid, completed run is reused and the new workflow run links to it (the
node shows as SKIPPED). An ancestor of a node to run that has no valid
completed run is run again too, and so are its descendants: its result
would change.

The rerun runs the graph recorded with the first run (the DAG file may have
changed since; a warning says so) with the configuration at its recorded
path (which is how a fix reaches the rerun), the same way as the first:
here, with the same parallelism, or submitted to SLURM with the same sbatch
options. It is a new workflow run whose ``rerun_of`` names the one it
repeats.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from lute.batch.dag import Workflow, parse_workflow_text
from lute.batch.follow import WorkflowView
from lute.batch.tracking import Reused
from lute.core.exceptions import ConfigurationError

logger = logging.getLogger(__name__)

FAILED = "failed"


@dataclass(frozen=True)
class RerunPlan:
    """What a rerun does.

    Attributes:
        workflow: The recorded graph.
        run: Nodes to run, parents first.
        reused: Nodes not run, with the earlier run each reuses.
        mode: ``failed`` or ``from NODE``.
    """

    workflow: Workflow
    run: list[str]
    reused: dict[str, Reused]
    mode: str


def recorded_workflow(view: WorkflowView) -> Workflow:
    """The graph workflow run ``view`` ran, as recorded (warns if its file changed since).

    Raises:
        ConfigurationError: The recorded graph is no longer valid (a managed
            task it names is gone).
    """
    record = view.record
    try:
        current = hashlib.sha256(Path(record.dag_path).read_bytes()).hexdigest()
    except OSError:
        current = None
    if current != record.dag_digest:
        logger.warning(
            "%s changed since workflow run %s; running the graph recorded then",
            record.dag_path,
            record.wf_id,
        )
    return parse_workflow_text(record.dag_text, record.dag_path)


def plan_rerun(view: WorkflowView, start_from: str | None = None) -> RerunPlan:
    """Which nodes of ``view``'s workflow to run again, and which earlier runs to reuse.

    Args:
        view: The workflow run to repeat.
        start_from: Run this node and its descendants; ``None`` runs the
            nodes without a valid completed run and their descendants.

    Raises:
        ConfigurationError: ``start_from`` is not a node of the workflow.
    """
    workflow = recorded_workflow(view)
    if start_from is not None and start_from not in workflow.nodes:
        raise ConfigurationError(
            f"workflow run {view.record.wf_id} has no node {start_from!r};"
            f" its nodes: {', '.join(workflow.nodes)}"
        )
    good = {name for name, node in view.nodes.items() if node.completed_validly}
    if start_from is None:
        chosen = {name for name in workflow.nodes if name not in good}
    else:
        chosen = {start_from}
    run = _closure(workflow, chosen, good)
    reused = {
        name: Reused(
            view.nodes[name].run_id or "", view.nodes[name].reused_from or view.record.wf_id
        )
        for name in workflow.nodes
        if name not in run
    }
    mode = FAILED if start_from is None else f"from {start_from}"
    return RerunPlan(workflow, [name for name in workflow.nodes if name in run], reused, mode)


def _closure(workflow: Workflow, chosen: set[str], good: set[str]) -> set[str]:
    """``chosen``, their descendants, and every ancestor they need that must run again."""
    run: set[str] = set()
    pending = set(chosen)
    while pending:
        name = pending.pop()
        if name in run:
            continue
        run.add(name)
        pending.update(workflow.descendants(name))
        pending.update(above for above in workflow.ancestors(name) if above not in good)
    return run
