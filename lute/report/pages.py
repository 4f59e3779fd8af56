"""The report's pages as HTML: the index, one page per run, one per workflow run.

Templates are Jinja2 with autoescaping on, so every value from the
database (Task names, parameters, summaries, paths) is shown as text and
never read as markup. The plots and the graph are SVG made in Python
(``plots``, ``dag``), which escape what they write. The only script is the
table's filter and sort (``templates/table.js``): the pages allow that one
script by its hash in a Content-Security-Policy, so even markup that got
through could run nothing, and nothing is fetched from anywhere.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import urllib.parse
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

import lute
from lute.batch.follow import NodeView, WorkflowView
from lute.db.results import Result
from lute.report.colours import STATUS_COLOURS, status_class
from lute.report.dag import DagNode, dag_svg
from lute.report.gather import ReportData, WorkflowEntry, run_page, workflow_page
from lute.report.plots import HISTORY_CELLS, duration_plots, status_history

DASH = "\u2013"
"""Shown for a value that is not known (an en dash)."""
LIGHT_STATUSES = frozenset({"PENDING", "QUEUED", "NOT_RUN", "SKIPPED", "TIMEDOUT"})
"""Statuses whose badge needs dark text."""


class Pages:
    """Renders the pages of one report.

    Args:
        data: What the report shows.
        out_dir: The report's directory (links to log files are made
            relative to it, so the report and the work dir can move together).
    """

    def __init__(self, data: ReportData, out_dir: Path) -> None:
        self.data = data
        self.out_dir = out_dir
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader("lute.report", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals["status_class"] = status_class
        self.script = resources.files("lute.report").joinpath("templates/table.js").read_text()
        digest = base64.b64encode(hashlib.sha256(self.script.encode()).digest()).decode()
        self.common: dict[str, Any] = {
            "version": lute.__version__,
            "made": f"{data.made:%Y-%m-%d %H:%M:%S}",
            "database": data.database,
            "colours": STATUS_COLOURS,
            "light": LIGHT_STATUSES,
            "script_hash": f"'sha256-{digest}'",
        }
        self._attempts: dict[str, list[int]] = {}
        for result in data.results:
            self._attempts.setdefault(result.run_id, []).append(result.attempt)

    def _render(self, template: str, **values: Any) -> str:
        return self.env.get_template(template).render(**self.common, **values)

    def index(self) -> str:
        """The index: status counts, the runs table, the plots, the workflow runs."""
        data = self.data
        counts = Counter(result.status.value for result in data.results)
        return self._render(
            "index.html",
            runs=[self._run_row(result) for result in data.results],
            tasks=data.task_names,
            status_counts=sorted(counts.items(), key=lambda item: (-item[1], item[0])),
            duration_svg=Markup(duration_plots(data.results)),
            history_svg=Markup(status_history(data.results)),
            history_cells=HISTORY_CELLS,
            workflows=[self._workflow_row(entry.view) for entry in data.workflows],
            script=Markup(self.script),
        )

    def _run_row(self, result: Result) -> dict[str, Any]:
        workflow = self.data.workflow_of_run.get(result.run_id)
        return {
            "run_id": result.run_id,
            "href": "runs/" + run_page(result.run_id, result.attempt),
            "task": result.task_name,
            "status": result.status.value,
            "invalidated": not result.valid and bool(result.invalid_reason),
            "invalid_reason": result.invalid_reason,
            "attempt": result.attempt,
            "started": when(result.start_time),
            "started_key": result.start_time.isoformat() if result.start_time else "",
            "duration": seconds(result.duration),
            "duration_key": "" if result.duration is None else f"{result.duration:.6f}",
            "experiment": _text(result.header.get("experiment")),
            "run": _text(result.header.get("run")),
            "host": result.host or "",
            "workflow_href": "workflows/" + workflow_page(workflow[0]) if workflow else None,
            "workflow_label": f"{workflow[0][:8]} · {workflow[1]}" if workflow else "",
            "summary": _short(_text(result.summary).strip().split("\n", 1)[0], 70),
            "summary_full": _short(_text(result.summary), 2000),
        }

    def _workflow_row(self, view: WorkflowView) -> dict[str, Any]:
        record = view.record
        return {
            "wf_id": record.wf_id,
            "href": "workflows/" + workflow_page(record.wf_id),
            "dag": record.dag_path.rsplit("/", 1)[-1],
            "status": view.status.value,
            "mode": record.mode,
            "started": when(record.start_time),
            "duration": seconds(_span(record.start_time, record.end_time)),
            "node_count": len(view.nodes),
            "by": f"{record.user or '?'} on {record.host or '?'}",
        }

    def run(self, result: Result) -> str:
        """The page of one attempt of one run."""
        page_dir = self.out_dir / "runs"
        workflow = self.data.workflow_of_run.get(result.run_id)
        attempts = [
            (number, run_page(result.run_id, number))
            for number in sorted(self._attempts.get(result.run_id, []))
        ]
        logs = [
            (stream, path, self.link(path, page_dir)) for stream, path in result.log_paths.items()
        ]
        payload = _text(result.payload)
        report = self.link(payload, page_dir) if payload.endswith(".html") else None
        return self._render(
            "run.html",
            r=result,
            attempts=attempts,
            started=when(result.start_time),
            ended=when(result.end_time),
            duration=seconds(result.duration),
            logs=logs,
            summary_report=report,
            elog_values=elog_values(result.summary),
            parameters=sorted((name, _text(value)) for name, value in result.parameters.items()),
            header=[(k, _text(v)) for k, v in result.header.items() if v not in (None, "")],
            workflow_href="../workflows/" + workflow_page(workflow[0]) if workflow else None,
            workflow_label=workflow[0][:12] if workflow else "",
            node=workflow[1] if workflow else None,
        )

    def workflow(self, entry: WorkflowEntry) -> str:
        """The page of one workflow run: its summary, graph and nodes."""
        view, record = entry.view, entry.view.record
        page_dir = self.out_dir / "workflows"
        nodes = [
            self._node_row(node, entry.parents.get(node.name, ()), page_dir)
            for node in view.nodes.values()
        ]
        graph = [
            DagNode(
                name=node.name,
                parents=entry.parents.get(node.name, ()),
                status=node.state.value,
                label=node.label,
                subtitle=node.managed_task,
                href=row["href"],
            )
            for node, row in zip(view.nodes.values(), nodes, strict=True)
        ]
        return self._render(
            "workflow.html",
            rec=record,
            status=view.status.value,
            started=when(record.start_time),
            ended=when(record.end_time),
            duration=seconds(_span(record.start_time, record.end_time)),
            rerun_href=workflow_page(record.rerun_of) if record.rerun_of else None,
            dag_svg=Markup(dag_svg(graph)),
            nodes=nodes,
        )

    def _node_row(self, node: NodeView, parents: tuple[str, ...], page_dir: Path) -> dict[str, Any]:
        has_page = node.run_id is not None and node.run_id in self._attempts
        return {
            "name": node.name,
            "managed_task": node.managed_task,
            "status": node.state.value,
            "label": node.label,
            "run_id": node.run_id or "",
            "href": "../runs/" + run_page(node.run_id or "", node.attempt) if has_page else None,
            "attempt": node.attempt or "",
            "started": when(node.start_time),
            "duration": seconds(node.duration),
            "after": ", ".join(parents) or DASH,
            "log_path": node.log_path,
            "log_href": self.link(node.log_path, page_dir) if node.log_path else None,
            "log_name": Path(node.log_path).name if node.log_path else "",
        }

    @staticmethod
    def link(path: str, page_dir: Path) -> str | None:
        """A relative URL from a page in ``page_dir`` to ``path``, if that file exists."""
        target = Path(path)
        if not path or not target.is_file():
            return None
        relative = os.path.relpath(target.resolve(), page_dir.resolve())
        return urllib.parse.quote(Path(relative).as_posix())


def when(value: dt.datetime | None) -> str:
    """A time as pages show it (UTC, to the second), or a dash."""
    return f"{value:%Y-%m-%d %H:%M:%S}" if value is not None else DASH


def seconds(value: float | None) -> str:
    """A duration as people read it: ``0.42 s``, ``12.3 s``, ``4 min 05 s``, ``2 h 03 min``."""
    if value is None:
        return DASH
    if value < 10:
        return f"{value:.2f} s"
    if value < 60:
        return f"{value:.1f} s"
    whole = round(value)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def elog_values(summary: Any) -> list[tuple[str, str]]:
    """The run-table values a summary posted to the eLog, if it is a dict (or list of dicts).

    The database keeps such a summary as JSON text; a summary that is plain
    text has no values.
    """
    try:
        parsed = json.loads(summary) if isinstance(summary, str) else None
    except ValueError:
        return []
    parts = parsed if isinstance(parsed, list) else [parsed]
    return [
        (str(name), _text(value))
        for part in parts
        if isinstance(part, dict)
        for name, value in part.items()
    ]


def _span(start: dt.datetime | None, end: dt.datetime | None) -> float | None:
    return None if start is None or end is None else (end - start).total_seconds()


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
