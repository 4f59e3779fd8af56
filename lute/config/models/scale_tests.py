"""Parameter models of the test Tasks for MPI, batch jobs and workflows."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from lute.config.models.base import TaskParameters


class TestMPIParameters(TaskParameters):
    """Parameters of ``TestMPI``: a sum over ranks, reduced to rank 0."""

    n_values: int = Field(1000, ge=1, description="Sum the integers 0..n_values-1.")


class TestSleepParameters(TaskParameters):
    """Parameters of ``TestSleep``: how long to wait."""

    seconds: float = Field(60.0, ge=0, description="How long the Task waits.")


class TestRendezvousParameters(TaskParameters):
    """Parameters of ``TestRendezvous``: who meets where."""

    directory: str | None = Field(
        None, description="Meeting place; default <work_dir>/rendezvous. Use a fresh one."
    )
    parties: int = Field(2, ge=1, description="How many runs must be there at once.")
    timeout: float = Field(60.0, gt=0, description="Seconds to wait for the others.")

    @model_validator(mode="after")
    def _default_directory(self) -> TestRendezvousParameters:
        if self.directory is None:
            self.directory = str(Path(self.lute_config.work_dir) / "rendezvous")
        return self
