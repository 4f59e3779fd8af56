"""Compatibility path kept for code written against LUTE or earlier lute.

Everything here now lives in ``lute.elog``; import it from there in new code.
"""

from lute.elog import (
    ElogClient,
    ElogError,
    ElogSettings,
    WorkflowDefinition,
    WorkflowTrigger,
    read_credentials_file,
)

__all__ = [
    "ElogClient",
    "ElogError",
    "ElogSettings",
    "WorkflowDefinition",
    "WorkflowTrigger",
    "read_credentials_file",
]
