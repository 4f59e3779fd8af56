"""Results from Python: one run, or a whole workflow run, optionally waited for.

Importable as ``from lute import get_result, get_workflow_result``::

    result = get_result(run_id, wait=True, timeout=600)
    result.status, result.payload

    wf = get_workflow_result(wf_id, wait=True)
    wf.status                        # TaskStatus.COMPLETED
    wf.get_node_result("Indexer")    # the node's run as a lute.db Result
    wf.get_all_node_outputs()        # {"Indexer": payload, ...}

The database is found as ``lute db`` finds it: ``url``, else
``$LUTE_DB_URL``, else ``lute.db`` in ``db_dir`` (default ``$LUTE_WORK_DIR``
or ``./lute_work``). Waiting reads the records again every ``poll`` seconds
(a run may be in another process, on another node, or in a SLURM queue:
there is nothing nearer to wait on); a run whose Executor died is settled
by the reads, so a wait never outlasts a dead run.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from lute.batch.follow import NodeView, WorkflowView, follow_workflow
from lute.core.analysis import TaskStatus
from lute.db.results import Result, load_result, resolve_database
from lute.db.workflow_runs import WorkflowStore

POLL_S = 0.5
"""Seconds between reads of the records while waiting."""

_T = TypeVar("_T")


@dataclass(frozen=True)
class WorkflowResult:
    """A workflow run's outcome, as Covalent's dispatch result is a lattice's.

    Attributes:
        wf_id: The workflow run's id.
        status: COMPLETED, FAILED, CANCELLED, or RUNNING while it runs.
        start_time: When it started (UTC).
        end_time: When it ended, ``None`` while it runs.
        dag_path: The DAG file it ran.
        config_path: The configuration it used.
        rerun_of: The workflow run it repeats, if it is a rerun.
        nodes: Every node as it stands, parents first.
    """

    wf_id: str
    status: TaskStatus
    start_time: dt.datetime | None
    end_time: dt.datetime | None
    dag_path: str
    config_path: str
    rerun_of: str | None
    nodes: dict[str, NodeView]
    _load: Callable[[str], Result] = field(repr=False)

    def get_node_result(self, name: str) -> Result | None:
        """The run node ``name`` became (``None`` if it did not run).

        Raises:
            KeyError: No such node.
        """
        node = self.nodes[name]
        return None if node.run_id is None else self._load(node.run_id)

    def get_all_node_results(self) -> dict[str, Result | None]:
        """Every node's run, by node name."""
        return {name: self.get_node_result(name) for name in self.nodes}

    def get_all_node_outputs(self) -> dict[str, Any]:
        """What every node produced (its run's payload; ``None`` if it did not run)."""
        return {
            name: None if result is None else result.payload
            for name, result in self.get_all_node_results().items()
        }


def get_result(
    run_id: str,
    db_dir: str | os.PathLike[str] | None = None,
    *,
    url: str | None = None,
    wait: bool = False,
    timeout: float | None = None,
    poll: float = POLL_S,
) -> Result:
    """The result of run ``run_id`` (or a unique prefix of it).

    Args:
        run_id: The run.
        db_dir: Work dir holding ``lute.db``.
        url: SQLAlchemy URL of the database.
        wait: Return only once the run has ended.
        timeout: Give up waiting after this many seconds.
        poll: Seconds between reads while waiting.

    Raises:
        UnknownRunError: No such run.
        TimeoutError: It had not ended within ``timeout``.
    """

    def read() -> Result:
        return load_result(resolve_database(db_dir, url), run_id)

    return _waited(
        read, lambda result: result.status.final, wait=wait, timeout=timeout, poll=poll, what=run_id
    )


def get_workflow_result(
    wf_id: str,
    db_dir: str | os.PathLike[str] | None = None,
    *,
    url: str | None = None,
    wait: bool = False,
    timeout: float | None = None,
    poll: float = POLL_S,
) -> WorkflowResult:
    """The outcome of workflow run ``wf_id`` (or a unique prefix of it).

    Args:
        wf_id: The workflow run (the id ``lute workflow run|submit`` printed).
        db_dir: Work dir holding ``lute.db``.
        url: SQLAlchemy URL of the database.
        wait: Return only once the workflow run has ended.
        timeout: Give up waiting after this many seconds.
        poll: Seconds between reads while waiting.

    Raises:
        UnknownNameError: No such workflow run.
        TimeoutError: It had not ended within ``timeout``.
    """

    def read() -> WorkflowResult:
        database = resolve_database(db_dir, url)
        view = follow_workflow(WorkflowStore(database), wf_id)
        return _workflow_result(view, lambda run: load_result(database, run))

    return _waited(
        read, lambda result: result.status.final, wait=wait, timeout=timeout, poll=poll, what=wf_id
    )


def _workflow_result(view: WorkflowView, load: Callable[[str], Result]) -> WorkflowResult:
    record = view.record
    return WorkflowResult(
        wf_id=record.wf_id,
        status=view.status,
        start_time=record.start_time,
        end_time=record.end_time,
        dag_path=record.dag_path,
        config_path=record.config_path,
        rerun_of=record.rerun_of,
        nodes=view.nodes,
        _load=load,
    )


def _waited(
    read: Callable[[], _T],
    ended: Callable[[_T], bool],
    *,
    wait: bool,
    timeout: float | None,
    poll: float,
    what: str,
) -> _T:
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        value = read()
        if not wait or ended(value):
            return value
        if deadline is not None and time.monotonic() >= deadline:
            raise TimeoutError(f"{what} had not ended after {timeout:g} s")
        time.sleep(poll if deadline is None else max(0.0, min(poll, deadline - time.monotonic())))
