"""One colour per status, shared by the tables, the plots and the DAG.

Runs and workflow nodes share most statuses; a node has three more
(QUEUED, NOT_RUN, SKIPPED). The colours are chosen to be told apart by
people with the common colour-vision deficiencies (after the Okabe-Ito
palette) and every place that shows one also shows the status as text.
"""

from __future__ import annotations

STATUS_COLOURS: dict[str, str] = {
    "COMPLETED": "#1b9e5a",
    "FAILED": "#d1362f",
    "TIMEDOUT": "#e69f00",
    "CANCELLED": "#7a7a7a",
    "RUNNING": "#0072b2",
    "STOPPED": "#a05fb4",
    "PENDING": "#b8c2cc",
    "QUEUED": "#56b4e9",
    "NOT_RUN": "#d9d9d9",
    "SKIPPED": "#8fd1b0",
    "UNKNOWN": "#444444",
}
"""Status name -> fill colour."""


def status_colour(status: str) -> str:
    """The colour of ``status`` (any unknown word gets UNKNOWN's)."""
    return STATUS_COLOURS.get(status.upper(), STATUS_COLOURS["UNKNOWN"])


def status_class(status: str) -> str:
    """The CSS class of a status badge: ``st-`` and the status, or ``st-UNKNOWN``."""
    upper = status.upper()
    return f"st-{upper if upper in STATUS_COLOURS else 'UNKNOWN'}"
