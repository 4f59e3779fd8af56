"""A static HTML report of a run database, readable from a shared file system.

``lute report`` writes a directory of self-contained pages (no server, no
network, no files fetched from anywhere): an index with the runs table
(filter and sort), durations over time and the status history per Task,
a page per run and a page per workflow run with its graph coloured by
status. One concern per module:

* ``gather``: reading the database once into plain values;
* ``colours``: one colour per status;
* ``plots``: the duration and status-history SVG;
* ``dag``: laying out and drawing a workflow's graph;
* ``pages``: the pages, from the Jinja2 templates in ``templates/``;
* ``build``: the report directory and writing the pages into it.

This package reads ``lute.db`` and follows workflow runs with
``lute.batch``; only ``lute.cli`` uses it.
"""

from __future__ import annotations

from lute.report.build import DEFAULT_DIR, ReportOutcome, build_report, check_report_dir

__all__ = ["DEFAULT_DIR", "ReportOutcome", "build_report", "check_report_dir"]
