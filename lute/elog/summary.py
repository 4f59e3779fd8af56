"""Where eLog summary reports go, and writing them there.

The LCLS logbook shows every ``report.html`` under an experiment's
``stats/summary`` directory, one tab per sub-directory. A Task returns an
``ElogSummaryPlots`` payload; the Executor writes it with ``write_report``
to the path ``report_path`` picks and records that path instead of the
object, so the database holds a file name, not a pickled figure.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path, PurePosixPath
from typing import Any

from lute.core.analysis import ElogSummaryPlots
from lute.core.files import write_atomically

logger = logging.getLogger(__name__)

ENV_SUMMARY_DIR = "LUTE_SUMMARY_DIR"
FACILITY_DATA_ROOT = Path("/sdf/data/lcls/ds")
"""Experiments' data live in ``<root>/<hutch>/<experiment>`` (hutch: its first 3 letters)."""
REPORT_NAME = "report.html"


def summary_directory(
    experiment: str,
    work_dir: str | os.PathLike[str],
    configured: str | None = None,
    facility_root: Path = FACILITY_DATA_ROOT,
) -> Path:
    """The directory summary reports of this run go to.

    In order: ``configured`` (from ``$LUTE_SUMMARY_DIR``); the experiment's
    ``<facility_root>/<hutch>/<exp>/stats/summary`` when the experiment
    directory exists and the user may write there; else
    ``<work_dir>/summary``, so a report is never lost for want of the
    facility's file system.
    """
    if configured:
        return Path(configured).expanduser()
    if experiment:
        experiment_dir = facility_root / experiment[:3].lower() / experiment
        target = experiment_dir / "stats" / "summary"
        if experiment_dir.is_dir() and _writable(target, experiment_dir):
            return target
    return Path(work_dir) / "summary"


def report_path(directory: Path, display_name: str) -> Path:
    """``<directory>/<display_name>/report.html``.

    Raises:
        ValueError: ``display_name`` is empty, absolute or climbs with ``..``,
            which would put the report outside ``directory``.
    """
    parts = PurePosixPath(display_name).parts
    if not parts or PurePosixPath(display_name).is_absolute() or ".." in parts:
        raise ValueError(
            f"ElogSummaryPlots.display_name {display_name!r} must be a relative name without '..'"
        )
    return directory.joinpath(*parts, REPORT_NAME)


def write_report(plots: ElogSummaryPlots, path: Path) -> Path:
    """Write ``plots`` as HTML at ``path``, atomically (temporary file, then rename).

    A reader (the logbook's web server) never sees a half-written report.

    Raises:
        TypeError: ``plots.figures`` is neither HTML text nor has ``save``.
        OSError: The directory cannot be created or written.
    """
    figures = plots.figures
    if isinstance(figures, str):
        write_atomically(path, figures)
    elif callable(getattr(figures, "save", None)):
        _save_atomically(figures, path)
    else:
        raise TypeError(
            "ElogSummaryPlots.figures must be an HTML string or have a save(path) method;"
            f" got {type(figures).__name__}"
        )
    logger.info("summary report %r written to %s", plots.display_name, path)
    return path


def _save_atomically(figure: Any, path: Path) -> None:
    """Let ``figure.save`` write a temporary file next to ``path``, then rename it.

    ``write_atomically`` hands its writer a text handle, but a plotting
    library's ``save`` wants a path and may pick its format from the suffix,
    so the temporary file keeps ``path``'s suffix.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        figure.save(str(temporary))
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _writable(target: Path, limit: Path) -> bool:
    """Whether ``target`` could be created: its nearest existing ancestor up to ``limit``."""
    for candidate in (target, *target.parents):
        if candidate.exists():
            return os.access(candidate, os.W_OK | os.X_OK)
        if candidate == limit:
            return False
    return False
