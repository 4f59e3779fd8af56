"""Compatibility path kept for code written against LUTE or earlier lute.

Everything here now lives in ``lute.batch``; import it from there in new code.
"""

from lute.batch import (
    LocalRunner,
    Workflow,
    WorkflowNode,
    load_workflow,
    parse_workflow,
    submit_workflow,
    validate_config,
)

__all__ = [
    "LocalRunner",
    "Workflow",
    "WorkflowNode",
    "load_workflow",
    "parse_workflow",
    "submit_workflow",
    "validate_config",
]
