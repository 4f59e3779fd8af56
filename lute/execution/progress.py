"""What a person watching a run sees of it: the final line.

The final line of every attempt goes to ``lute.core.logformat.SUMMARY_LOGGER``
so the ``lute`` command shows it even with ``-q``: it says how the attempt
ended, how long it took and which run it was, which is all a script or a
person needs to find the rest (``lute logs RUN_ID``, ``lute db show RUN_ID``).
"""

from __future__ import annotations

import logging

from lute.core.analysis import DescribedAnalysis
from lute.core.logformat import SUMMARY_LOGGER

summary_logger = logging.getLogger(SUMMARY_LOGGER)


def format_duration(seconds: float | None) -> str:
    """``seconds`` as a person reads it: ``0.4 s``, ``12 min 05 s``, ``2 h 03 min``."""
    if seconds is None:
        return "an unknown time"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def log_final_line(desc: DescribedAnalysis) -> None:
    """Log the attempt's status, duration and run id as its last line."""
    summary_logger.log(
        logging.INFO if desc.task_result.task_status.value == "COMPLETED" else logging.WARNING,
        "%s finished: %s in %s (run %s, attempt %d)",
        desc.task_result.task_name,
        desc.task_result.task_status.value,
        format_duration(desc.duration),
        desc.run_id,
        desc.attempt,
    )
