#!/usr/bin/env bash
# Submit one managed task as a SLURM batch job, with LUTE's interface:
#
#   submit_slurm.sh -t MANAGED_TASK -c CONFIG [--debug] [SLURM options...]
#
# e.g. submit_slurm.sh -t Tester -c config/test.yaml --partition=milano --time=00:10:00
#
# A thin wrapper over `lute submit` (see docs/slurm.md): options it does not
# know go to sbatch, the job id is printed on stdout. The interpreter is
# $LUTE_PYTHON (default python3); this checkout is put on PYTHONPATH so the
# script also works from a clone that was not pip-installed.
set -euo pipefail

if [ $# -eq 0 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
    sed -n '2,11s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
    exit 2
fi

# Arguments go on to lute untouched, each one word ("$@", never eval'd): lute
# quotes every value it writes into the batch script and refuses any value
# with a newline or other control character (exit status 2).
here=$(CDPATH='' cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
export PYTHONPATH="$(dirname -- "$here")${PYTHONPATH:+:$PYTHONPATH}"
exec "${LUTE_PYTHON:-python3}" -m lute submit "$@"
