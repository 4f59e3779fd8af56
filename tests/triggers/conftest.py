"""Fixtures of trigger tests: no watcher outlives its test; the SLURM cluster."""

from collections.abc import Iterator

import pytest
from test_slurm import slurm_cluster, slurm_env  # noqa: F401 (fixtures, used by name)

from .helpers import Watch


@pytest.fixture(autouse=True)
def _end_watchers() -> Iterator[None]:
    """A test that fails half-way leaves no ``lute watch`` or launch running."""
    yield
    Watch.end_all()
