"""Compatibility path kept for code written against LUTE or earlier lute.

Everything here now lives in ``lute.core.analysis``; import it from there in new code.
"""

from lute.core.analysis import DescribedAnalysis, ElogSummaryPlots, TaskResult, TaskStatus

__all__ = [
    "DescribedAnalysis",
    "ElogSummaryPlots",
    "TaskResult",
    "TaskStatus",
]
