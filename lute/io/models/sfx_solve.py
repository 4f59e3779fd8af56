"""Compatibility path kept for code written against LUTE.

Everything here now lives in ``lute.config.models.sfx_solve``; import it from there in new code.
"""

from lute.config.models.sfx_solve import (
    DimpleSolveParameters,
    RunSHELXCParameters,
)

__all__ = [
    "DimpleSolveParameters",
    "RunSHELXCParameters",
]
