#!/usr/bin/env bash
# Set up and run the whole test suite: a venv in .venv with lute, its test
# dependencies and MPI (all from PyPI), then pytest. Extra arguments go to
# pytest. Tests that need PostgreSQL or SLURM start them when they are
# installed and skip otherwise; with CI=true (see .ci/run) they must exist.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q -e '.[test,mpi]'
exec .venv/bin/python -m pytest "$@"
