"""The YAML configuration: loading, substitution, overrides and parameter models.

``loader`` reads the two documents (header, then one section per Task) and
validates a Task's section against its model in ``models``. ``reading``
parses the YAML and ``substitution`` resolves ``{{ ... }}``, both within the
limits of ``limits``, so no file can make lute work or grow without bound.
"""

from lute.config.loader import load_documents, load_task_parameters, validate_task_section
from lute.config.models.base import AnalysisHeader, TaskParameters, ThirdPartyParameters

__all__ = [
    "AnalysisHeader",
    "TaskParameters",
    "ThirdPartyParameters",
    "load_documents",
    "load_task_parameters",
    "validate_task_section",
]
