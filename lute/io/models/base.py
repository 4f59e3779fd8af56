"""Compatibility path kept for code written against LUTE or earlier lute.

Everything here now lives in ``lute.config.models.base``; import it from there in new code.
"""

from lute.config.models.base import (
    AnalysisHeader,
    TaskParameters,
    TemplateConfig,
    ThirdPartyParameters,
)

__all__ = [
    "AnalysisHeader",
    "TaskParameters",
    "TemplateConfig",
    "ThirdPartyParameters",
]
