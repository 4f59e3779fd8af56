"""Compatibility path kept for code written against LUTE.

Everything here now lives in ``lute.config.models.sfx_index``; import it from there in new code.
"""

from lute.config.models.sfx_index import (
    ConcatenateStreamFilesParameters,
    IndexCrystFELParameters,
)

__all__ = [
    "ConcatenateStreamFilesParameters",
    "IndexCrystFELParameters",
]
