"""``lute workflow list|status|cancel``, and the live table of ``lute workflow run``.

``list`` and ``status`` read the records (and ask SLURM about submitted
nodes the records cannot place yet); ``status`` says how many nodes are
done (ended, whatever the outcome) of how many and the time elapsed, then
shows one row per node: its state, the run it became, the attempt, when it
started, how long it took, its SLURM job and its log. Times are UTC. Both
take ``--json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import io
import sys
import time
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

from lute.batch.cancel import cancel_workflow
from lute.batch.dag import Workflow
from lute.batch.follow import WorkflowView, follow_workflow
from lute.cli.locate import open_located
from lute.cli.table import format_table, print_json
from lute.core.analysis import TaskStatus
from lute.core.exit_codes import EXIT_OK
from lute.db.workflow_records import WorkflowRecord
from lute.db.workflow_runs import WorkflowStore
from lute.execution.progress import format_duration

NOT_RUN = "CANCELLED (not run)"
BAR_WIDTH = 30
SKIPPED = "SKIPPED"


def nodes_done_line(done: int, total: int, elapsed: float | None) -> str:
    """``3 of 5 nodes done, 1 min 02 s elapsed`` (done: ended, whatever the outcome)."""
    return f"{done} of {total} nodes done, {format_duration(elapsed)} elapsed"


def count_done(states: Iterable[bool]) -> tuple[int, int]:
    """How many of the nodes have ended, and how many there are."""
    ended = list(states)
    return sum(ended), len(ended)


def status_label(status: TaskStatus, started: bool) -> str:
    """How a node's status is shown; a node cancelled before it started is 'not run'."""
    if status is TaskStatus.CANCELLED and not started:
        return NOT_RUN
    return status.value


class StatusDisplay:
    """The nodes of a running workflow, as they change.

    On a terminal, a table redrawn in place with a bar of the nodes done
    and the time elapsed under it; otherwise one line per change
    (``HH:MM:SS NODE: STATUS``, and when a node ends ``HH:MM:SS N of M nodes
    done, T elapsed``) and the table at the end.

    Args:
        workflow: The graph.
        out: Where to write (stderr: stdout carries the workflow id alone).
        skipped: Nodes a rerun does not run.
    """

    def __init__(self, workflow: Workflow, out: TextIO, skipped: frozenset[str]) -> None:
        self._workflow = workflow
        self._statuses = dict.fromkeys(workflow.nodes, TaskStatus.PENDING)
        self._skipped = skipped
        self._started: set[str] = set()
        self._out = out
        self._tty = out.isatty()
        self._drawn = 0
        self._began = time.monotonic()

    def __call__(self, name: str, status: TaskStatus) -> None:
        """Show that node ``name`` is now ``status``."""
        self._statuses[name] = status
        if status is TaskStatus.RUNNING:
            self._started.add(name)
        if not self._tty:
            shown = status_label(status, name in self._started)
            now = f"{dt.datetime.now():%H:%M:%S}"
            self._out.write(f"{now} {name}: {shown}\n")
            if status.final:
                self._out.write(f"{now} {self.progress()}\n")
            self._out.flush()
            return
        self.draw()

    def table(self) -> str:
        """The current status table."""
        rows = []
        for name, node in self._workflow.nodes.items():
            shown = (
                SKIPPED
                if name in self._skipped
                else status_label(self._statuses[name], name in self._started)
            )
            rows.append((name, node.task_name, shown, ", ".join(node.parents) or "-"))
        return format_table(["NODE", "MANAGED TASK", "STATUS", "AFTER"], rows) + "\n"

    def _counts(self) -> tuple[int, int]:
        return count_done(
            name in self._skipped or status.final for name, status in self._statuses.items()
        )

    def progress(self) -> str:
        """How many nodes are done (ended, or reused by a rerun) and the time elapsed."""
        done, total = self._counts()
        return nodes_done_line(done, total, time.monotonic() - self._began)

    def _bar(self) -> str:
        """The progress line under the live table: ``rich``'s bar of the nodes done."""
        from rich.console import Console  # noqa: PLC0415 (only a terminal needs it)
        from rich.progress_bar import ProgressBar  # noqa: PLC0415

        done, total = self._counts()
        drawn = io.StringIO()
        console = Console(file=drawn, force_terminal=True, width=BAR_WIDTH)
        console.print(ProgressBar(total=total or 1, completed=done, width=BAR_WIDTH), end="")
        return f"{drawn.getvalue()} {self.progress()}\n"

    def draw(self) -> None:
        """Show the table, over the previous one on a terminal."""
        table = self.table() + (self._bar() if self._tty else "")
        if self._tty and self._drawn:
            self._out.write(f"\x1b[{self._drawn}F\x1b[J")
        self._out.write(table)
        self._out.flush()
        self._drawn = table.count("\n")

    @property
    def tty(self) -> bool:
        """Whether the table is redrawn in place (so it is already on screen)."""
        return self._tty


def register_views(
    actions: argparse._SubParsersAction[argparse.ArgumentParser],
    where: argparse.ArgumentParser,
) -> None:
    """Add ``list``, ``status`` and ``cancel`` to ``lute workflow``."""
    listing = actions.add_parser("list", parents=[where], help="workflow runs, newest first")
    listing.add_argument("-n", "--limit", type=int, default=20, help="at most N (0: all)")
    listing.add_argument("--json", action="store_true", help="as JSON")
    listing.set_defaults(handler=_list)
    status = actions.add_parser(
        "status", parents=[where], help="one workflow run: one row per node"
    )
    status.add_argument("wf_id", metavar="WF_ID", help="workflow run id (or a unique prefix)")
    status.add_argument("--json", action="store_true", help="as JSON")
    status.set_defaults(handler=_status)
    cancel = actions.add_parser(
        "cancel",
        parents=[where],
        help="end the running nodes and drop the queued jobs of a workflow run",
    )
    cancel.add_argument("wf_id", metavar="WF_ID", help="workflow run id (or a unique prefix)")
    cancel.set_defaults(handler=_cancel)


def _store(args: argparse.Namespace) -> WorkflowStore:
    return WorkflowStore(open_located(args))


def _seconds(record: WorkflowRecord) -> float | None:
    """How long a workflow run took, or has been running."""
    if record.start_time is None:
        return None
    end = record.end_time or dt.datetime.now(dt.timezone.utc)
    start = record.start_time
    if (start.tzinfo is None) != (end.tzinfo is None):  # stored naive UTC
        end = end.replace(tzinfo=start.tzinfo)
    return (end - start).total_seconds()


def _when(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _list(args: argparse.Namespace) -> int:
    store = _store(args)
    records = store.recent(args.limit or None)
    rows = []
    listed = []
    for record in records:
        status = record.status
        if not record.final:
            status = follow_workflow(store, record.wf_id).status.value
        duration = None
        if record.start_time and record.end_time:
            duration = f"{(record.end_time - record.start_time).total_seconds():.1f}"
        nodes = len(store.node_records(record.wf_id))
        listed.append(
            {
                "wf_id": record.wf_id,
                "dag": record.dag_path,
                "mode": record.mode,
                "status": status,
                "start_time": _when(record.start_time),
                "end_time": _when(record.end_time),
                "seconds": _seconds(record),
                "nodes": nodes,
                "rerun_of": record.rerun_of,
            }
        )
        rows.append(
            [
                record.wf_id,
                record.dag_path.rsplit("/", 1)[-1],
                record.mode,
                status,
                record.start_time,
                duration,
                nodes,
                record.rerun_of[:8] if record.rerun_of else None,
            ]
        )
    if args.json:
        print_json(listed)
        return EXIT_OK
    if not rows:
        print("no workflow runs")
        return EXIT_OK
    headers = ["WORKFLOW ID", "DAG", "MODE", "STATUS", "STARTED (UTC)", "SECONDS", "NODES"]
    print(format_table([*headers, "RERUN OF"], rows))
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    view = follow_workflow(_store(args), args.wf_id)
    if args.json:
        print_json(view_json(view))
        return EXIT_OK
    print(describe(view))
    return EXIT_OK


def view_json(view: WorkflowView) -> dict[str, Any]:
    """A workflow run and its nodes as JSON values (times ISO 8601, UTC)."""
    record = view.record
    done, total = count_done(node.state.final for node in view.nodes.values())
    fields = {
        name: value
        for name, value in dataclasses.asdict(record).items()
        if name not in ("dag_text", "start_time", "end_time")
    }
    nodes = []
    for node in view.nodes.values():
        data = dataclasses.asdict(node)
        data.update(
            state=node.state.value,
            label=node.label,
            start_time=_when(node.start_time),
            end_time=_when(node.end_time),
            duration=node.duration,
        )
        nodes.append(data)
    return {
        **fields,
        "status": view.status.value,
        "start_time": _when(record.start_time),
        "end_time": _when(record.end_time),
        "nodes_done": done,
        "nodes_total": total,
        "elapsed": _seconds(record),
        "nodes": nodes,
    }


def describe(view: WorkflowView) -> str:
    """A workflow run's summary, then its node table."""
    record = view.record
    done, total = count_done(node.state.final for node in view.nodes.values())
    fields: Mapping[str, object] = {
        "workflow run": record.wf_id,
        "status": view.status.value + (f" ({record.reason})" if record.reason else ""),
        "progress": nodes_done_line(done, total, _seconds(record)),
        "dag": f"{record.dag_path} (sha256 {record.dag_digest[:12]})",
        "config": f"{record.config_path} (sha256 {record.config_digest[:12]})",
        "mode": record.mode,
        "by": f"{record.user} on {record.host}",
        "started (UTC)": f"{record.start_time:%Y-%m-%d %H:%M:%S}" if record.start_time else "-",
        "ended (UTC)": f"{record.end_time:%Y-%m-%d %H:%M:%S}" if record.end_time else "-",
    }
    if record.rerun_of:
        fields = {**fields, "rerun of": f"{record.rerun_of} ({record.rerun_mode})"}
    width = max(map(len, fields))
    lines = [f"{name.ljust(width)}  {value}" for name, value in fields.items()]
    headers = ["NODE", "MANAGED TASK", "STATUS", "RUN ID", "ATTEMPT", "STARTED (UTC)"]
    headers += ["SECONDS", "JOB", "NOTE"]
    rows = [
        [
            node.name,
            node.managed_task,
            node.label,
            node.run_id,
            node.attempt,
            node.start_time,
            None if node.duration is None else f"{node.duration:.2f}",
            node.slurm_job_id,
            node.reason or ("invalidated" if node.valid is False and node.state.done else None),
        ]
        for node in view.nodes.values()
    ]
    logs = [node.log_path for node in view.nodes.values()]
    return "\n".join(lines) + "\n\n" + with_last_column(headers, rows, "LOG", logs)


def with_last_column(
    headers: list[str], rows: list[list[object]], name: str, values: list[str | None]
) -> str:
    """``format_table`` with one more column that is never cut (a path, to be copied)."""
    lines = format_table(headers, rows).splitlines()
    width = max(len(line) for line in lines)
    cells = [value or "-" for value in values]
    rule = "-" * max([len(name), *map(len, cells)])
    out = [f"{lines[0].ljust(width)}  {name}", f"{lines[1].ljust(width)}  {rule}"]
    out += [f"{line.ljust(width)}  {text}" for line, text in zip(lines[2:], cells, strict=True)]
    return "\n".join(out)


def _cancel(args: argparse.Namespace) -> int:
    report = cancel_workflow(_store(args), args.wf_id)
    if report.already_ended:
        sys.stdout.write(f"workflow {report.wf_id} had already ended\n")
        return EXIT_OK
    sys.stdout.write(
        f"workflow {report.wf_id} cancelled: stopped {len(report.stopped)} running"
        f" node(s) ({', '.join(report.stopped) or '-'}), dropped {len(report.dropped)}"
        f" queued job(s) ({', '.join(report.dropped) or '-'})\n"
    )
    return EXIT_OK
