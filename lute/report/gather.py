"""What a report shows, read from the run database once: runs, results, workflow runs.

The report is a snapshot: everything is read here, into plain values, and
the plots and pages are drawn from those without touching the database
again. Workflow runs are followed as ``lute workflow status`` follows them,
but without asking SLURM: a report is made from the records alone, so it
also works on a machine that has no SLURM client (a shared file system
read from a laptop).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import re

from lute.batch.follow import WorkflowView, follow_workflow
from lute.core.exceptions import UnknownNameError
from lute.db.results import Result, export_results, list_runs
from lute.db.schema import Database
from lute.db.workflow_runs import WorkflowStore

logger = logging.getLogger(__name__)

_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,100}")
"""A run or workflow id that may name a file as it is (others are hashed)."""


@dataclasses.dataclass(frozen=True)
class WorkflowEntry:
    """One workflow run as the report shows it.

    Attributes:
        view: The workflow run and its nodes as they stand.
        parents: Node -> the names of its parents, as recorded.
    """

    view: WorkflowView
    parents: dict[str, tuple[str, ...]]

    @property
    def wf_id(self) -> str:
        """The workflow run's id."""
        return self.view.record.wf_id


@dataclasses.dataclass(frozen=True)
class ReportData:
    """Everything one report shows.

    Attributes:
        database: The database's URL, secrets hidden, as the page names it.
        made: When the report was made (UTC).
        results: Every attempt of every run, newest first.
        workflows: Every workflow run as it stands, newest first.
        workflow_of_run: Run id -> the workflow run (and node) that ran it.
    """

    database: str
    made: dt.datetime
    results: list[Result]
    workflows: list[WorkflowEntry]
    workflow_of_run: dict[str, tuple[str, str]]

    @property
    def task_names(self) -> list[str]:
        """The Tasks with runs, sorted."""
        return sorted({result.task_name for result in self.results})


def gather(
    database: Database,
    database_label: str,
    *,
    experiment: str | None = None,
    limit: int | None = None,
) -> ReportData:
    """Read the runs and workflow runs of ``database`` for a report.

    Args:
        database: The open database (its dead runs already settled).
        database_label: How the report names the database (no secrets).
        experiment: Only this experiment's runs: one report per beamtime
            from a database several experiments share.
        limit: Only the newest ``limit`` runs and workflow runs, so a
            database of years stays a report that opens quickly.
    """
    results = export_results(database, list_runs(database, experiment=experiment, limit=limit))
    workflows = _workflows(database, limit)
    workflow_of_run = {
        node.run_id: (entry.wf_id, node.name)
        for entry in reversed(workflows)
        for node in entry.view.nodes.values()
        if node.run_id and not node.reused_from
    }
    logger.debug("report of %d run(s), %d workflow run(s)", len(results), len(workflows))
    return ReportData(
        database=database_label,
        made=dt.datetime.now(dt.timezone.utc),
        results=results,
        workflows=workflows,
        workflow_of_run=workflow_of_run,
    )


def _workflows(database: Database, limit: int | None) -> list[WorkflowEntry]:
    """Every workflow run, followed from the records only; none if none was recorded."""
    try:
        store = WorkflowStore(database)
    except UnknownNameError:
        return []
    return [
        WorkflowEntry(
            view=follow_workflow(store, record.wf_id, ask_slurm=False),
            parents={node.node: node.parents for node in store.node_records(record.wf_id)},
        )
        for record in store.recent(limit)
    ]


def run_page(run_id: str, attempt: int | None) -> str:
    """The file name of the page of a run's attempt, relative to the report's ``runs/``."""
    return f"{file_stem(run_id)}-{attempt or 1}.html"


def workflow_page(wf_id: str) -> str:
    """The file name of a workflow run's page, relative to ``workflows/``."""
    return f"{file_stem(wf_id)}.html"


def file_stem(name: str) -> str:
    """``name`` as part of a file name: itself when plain, else a digest of it.

    Run ids lute makes are plain; a database written by other tools might
    hold anything, and no id may place a page outside the report.
    """
    if _PLAIN.fullmatch(name):
        return name
    return "id-" + hashlib.sha256(name.encode()).hexdigest()[:32]
