"""Writing a report directory: the index, a page per run, a page per workflow run.

The directory is checked before anything is read, so a report that cannot
be written fails at once in one line. Each page is written atomically with
the mode the umask gives (``lute.core.files``): a report is made for
colleagues, who may open it while it is being refreshed and, in a group
directory with ``umask 002``, refresh it themselves. Pages of runs no longer
in the database are left in place (a report never deletes files).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
from pathlib import Path

from lute.core.exceptions import ConfigurationError
from lute.core.files import umask_mode, write_atomically
from lute.db.schema import Database
from lute.report.gather import gather, run_page, workflow_page
from lute.report.pages import Pages

logger = logging.getLogger(__name__)

DEFAULT_DIR = "lute_report"
"""Where ``lute report`` writes when not told (relative to the current directory)."""


@dataclasses.dataclass(frozen=True)
class ReportOutcome:
    """What ``build_report`` wrote.

    Attributes:
        index: The index page.
        runs: How many run pages (one per attempt).
        workflows: How many workflow-run pages.
    """

    index: Path
    runs: int
    workflows: int


def check_report_dir(out_dir: str | os.PathLike[str]) -> Path:
    """The report directory, created if missing, once a file could be made in it.

    Raises:
        ConfigurationError: Naming the directory and why it cannot be used.
    """
    path = Path(out_dir)
    if path.exists() and not path.is_dir():
        raise ConfigurationError(f"report directory {path} is not a directory")
    try:
        for sub in (path, path / "runs", path / "workflows"):
            sub.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=sub):
                pass
    except OSError as err:
        raise ConfigurationError(
            f"report directory {path} cannot be written: {err.strerror or err}"
        ) from err
    return path


def build_report(
    database: Database,
    out_dir: str | os.PathLike[str],
    database_label: str,
    *,
    experiment: str | None = None,
    limit: int | None = None,
) -> ReportOutcome:
    """Write the report of ``database`` into ``out_dir``.

    Args:
        database: The run database (dead runs already settled).
        out_dir: The report directory (created if missing).
        database_label: How pages name the database (no secrets in it).
        experiment: Only this experiment's runs.
        limit: Only the newest ``limit`` runs and workflow runs.

    Raises:
        ConfigurationError: The directory cannot be written.
    """
    path = check_report_dir(out_dir)
    data = gather(database, database_label, experiment=experiment, limit=limit)
    pages = Pages(data, path)
    mode = umask_mode()
    for result in data.results:
        write_atomically(
            path / "runs" / run_page(result.run_id, result.attempt), pages.run(result), mode=mode
        )
    for entry in data.workflows:
        write_atomically(
            path / "workflows" / workflow_page(entry.wf_id), pages.workflow(entry), mode=mode
        )
    # The index last: whoever opens it finds every page it links to.
    index = write_atomically(path / "index.html", pages.index(), mode=mode)
    logger.debug("report written to %s", path)
    return ReportOutcome(index=index, runs=len(data.results), workflows=len(data.workflows))
