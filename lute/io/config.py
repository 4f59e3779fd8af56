"""Compatibility path kept for code written against LUTE or earlier lute.

Everything here now lives in ``lute.config.loader``; import it from there in new code.
"""

from lute.config.loader import load_documents, load_task_parameters, validate_task_section

__all__ = [
    "load_documents",
    "load_task_parameters",
    "validate_task_section",
]
