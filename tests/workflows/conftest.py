"""The SLURM cluster fixtures of ``tests/test_slurm.py``, for the workflow-run tests."""

from test_slurm import slurm_cluster, slurm_env  # noqa: F401 (fixtures)
