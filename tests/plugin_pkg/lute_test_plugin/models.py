"""Parameter models of the plugin's Tasks."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from lute.config.models.base import TaskParameters, ThirdPartyParameters


class Scaling(BaseModel):
    """How the sum is scaled."""

    model_config = ConfigDict(extra="forbid")

    factor: float = Field(1.0, description="Multiplies the sum.")
    offset: float = Field(0.0, description="Added after scaling.")


class PluginSumParameters(TaskParameters):
    """Adds numbers up (a plugin Task)."""

    values: list[float] = Field(default_factory=lambda: [1.0, 2.0], description="Numbers to add.")
    scaling: Scaling = Field(default_factory=Scaling, description="Applied to the sum.")


class PluginEchoParameters(ThirdPartyParameters):
    """Echoes a message with an external program (a plugin third-party Task)."""

    executable: str = "echo"
    p_arg1: str = Field("hello from a plugin", description="The message.")
