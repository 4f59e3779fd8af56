"""Compatibility path kept for code written against LUTE.

Everything here now lives in ``lute.config.models.sfx_merge``; import it from there in new code.
"""

from lute.config.models.sfx_merge import (
    CompareHKLParameters,
    ManipulateHKLParameters,
    MergePartialatorParameters,
)

__all__ = [
    "CompareHKLParameters",
    "ManipulateHKLParameters",
    "MergePartialatorParameters",
]
