"""lute: run facility data analysis as managed, recorded tasks.

``from lute import get_result, get_workflow_result`` reads (and can wait
for) the outcome of a run or a workflow run; see ``lute.batch.results``.
They are imported on first use, so ``import lute`` stays cheap for the Task
process, which never needs them.
"""

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "get_result", "get_workflow_result"]

_LAZY = {"get_result", "get_workflow_result"}


def __getattr__(name: str) -> Any:
    """Import the result functions when they are first asked for."""
    if name in _LAZY:
        from lute.batch import results  # noqa: PLC0415 (SQLAlchemy only when asked for)

        return getattr(results, name)
    raise AttributeError(f"module 'lute' has no attribute {name!r}")
