#!/usr/bin/env bash
# Submit one managed task as a SLURM batch job, with LUTE's interface:
#
#   submit_slurm.sh -t MANAGED_TASK -c CONFIG [--debug] [SLURM options...]
#
#   -t|--taskname NAME     managed task to run, e.g. Tester
#   -c|--config PATH       the YAML configuration
#   -e|--experiment EXP    experiment (exported to the job as EXPERIMENT)
#   -r|--run RUN           run number (exported to the job as RUN_NUM)
#   -K|--KERB CACHE        Kerberos credential cache for the job (KRB5CCNAME);
#                          the job system sets it, not you
#   --debug                the job logs at debug level
#   -h|--help              show this help
#
# Every other option goes to sbatch, e.g. --partition=milano --account=lcls:xpp123.
# A thin wrapper over `lute submit` (see docs/slurm.md); the job id is
# printed on stdout. The interpreter is $LUTE_PYTHON (default python3); this
# checkout is put on PYTHONPATH so the script also works from a clone that was
# not pip-installed.
set -euo pipefail

usage() {
    sed -n '2,19s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

# -h and -K are this script's; everything else goes on to lute untouched,
# each argument one word ("$@", never eval'd): lute quotes every value it
# writes into the batch script and refuses any value with a newline or other
# control character (exit status 2). KRB5CCNAME reaches the job through the
# environment (sbatch --export=ALL), never through the script.
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help)
            usage
            exit 0
            ;;
        -K|--KERB)
            if [ $# -lt 2 ]; then
                echo "submit_slurm.sh: $1 needs a value (the Kerberos cache)" >&2
                exit 2
            fi
            export KRB5CCNAME="$2"
            shift 2
            ;;
        --KERB=*)
            export KRB5CCNAME="${1#--KERB=}"
            shift
            ;;
        *)
            args+=("$1")
            shift
            ;;
    esac
done
if [ ${#args[@]} -eq 0 ]; then
    usage >&2
    exit 2
fi

here=$(CDPATH='' cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
export PYTHONPATH="$(dirname -- "$here")${PYTHONPATH:+:$PYTHONPATH}"
exec "${LUTE_PYTHON:-python3}" -m lute submit "${args[@]}"
