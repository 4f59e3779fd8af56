"""Built-in test Tasks: exercise the runtime end to end on any machine."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from lute.core.analysis import ElogSummaryPlots
from lute.tasks.base import Task

logger = logging.getLogger(__name__)


class Test(Task):
    """Loops, reporting each iteration; raises on request."""

    def _run(self) -> None:
        params = self._task_parameters
        for i in range(params.loops):
            self._report(f"Test loop {i + 1} of {params.loops}")
        if params.throw_error:
            raise RuntimeError("Test raised an error as requested (throw_error: true)")

    def _post_run(self) -> None:
        params = self._task_parameters
        self._result.summary = f"Test finished {params.loops} loops"
        self._result.payload = {"float_var": params.float_var, "str_var": params.str_var}


class TestSocket(Task):
    """Sends numpy arrays, each with its SHA-256, to test large messages."""

    def _run(self) -> None:
        params = self._task_parameters
        length = params.array_size
        digests = []
        import numpy as np  # noqa: PLC0415 (only this Task needs numpy; keep the others light)

        rng = np.random.default_rng(0)
        for index in range(params.num_arrays):
            array = rng.random(length)
            digest = hashlib.sha256(array.tobytes()).hexdigest()
            digests.append(digest)
            self._report({"index": index, "array": array, "sha256": digest})
        self._result.summary = f"Sent {params.num_arrays} arrays of {length} float64"
        self._result.payload = digests


class TestWriteOutput(Task):
    """Writes ``num_vals`` numbers, one per line as LUTE's does; its path is the result."""

    def _run(self) -> None:
        params = self._task_parameters
        out = Path(params.out_file)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_text("".join(f"{float(i):.18e}\n" for i in range(params.num_vals)))
        tmp.replace(out)
        self._report(f"Wrote {params.num_vals} values to {out}")
        self._result.summary = f"Wrote {out}"
        self._result.payload = str(out)


class TestReadOutput(Task):
    """Reads the file ``TestWriteOutput`` wrote."""

    def _run(self) -> None:
        path = Path(self._task_parameters.in_file)
        lines = path.read_text().splitlines()
        self._report(f"Read {len(lines)} lines from {path}")
        self._result.summary = f"Read {len(lines)} lines from {path}"
        self._result.payload = str(path)


class HtmlFigure:
    """A stand-in for a plotting library's figure: it can save itself as HTML."""

    def __init__(self, html: str) -> None:
        self.html = html

    def save(self, path: str) -> None:
        """Write the figure to ``path``, as panel and bokeh layouts do."""
        Path(path).write_text(self.html, encoding="utf-8")


class TestElog(Task):
    """Produces what the eLog shows: run-table values and a summary report."""

    def _run(self) -> None:
        params = self._task_parameters
        self._report("Computing eLog summary")
        html = f"<html><body><h1>{params.display_name}</h1><p>hit rate 0.25</p></body></html>"
        self._result.summary = {"n_shots": 1000, "hit_rate": 0.25, "detector": "epix"}
        figures = HtmlFigure(html) if params.use_figure else html
        self._result.payload = ElogSummaryPlots(params.display_name, figures)
