"""Fixtures of trigger tests: the SLURM cluster of ``tests/test_slurm.py``."""

from test_slurm import slurm_cluster, slurm_env  # noqa: F401 (fixtures, used by name)
