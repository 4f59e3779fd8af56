"""Pydantic models of Task parameters, one ``<TaskName>Parameters`` per Task."""

from lute.config.models.base import AnalysisHeader, TaskParameters, ThirdPartyParameters

__all__ = ["AnalysisHeader", "TaskParameters", "ThirdPartyParameters"]
