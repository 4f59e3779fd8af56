"""Compatibility path kept for code written against LUTE or earlier lute.

Everything here now lives in ``lute.db``; import it from there in new code.
"""

from lute.db import (
    Result,
    RunSummary,
    UnknownRunError,
    export_results,
    find_run,
    get_result,
    invalidate_run,
    list_runs,
    parameter_history,
)

__all__ = [
    "Result",
    "RunSummary",
    "UnknownRunError",
    "export_results",
    "find_run",
    "get_result",
    "invalidate_run",
    "list_runs",
    "parameter_history",
]
