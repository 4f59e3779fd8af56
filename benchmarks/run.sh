#!/usr/bin/env bash
# Run every benchmark against its floor and rewrite docs/performance.md.
# A venv in .venv with lute (editable) is made first if there is none; extra
# arguments go to `python -m benchmarks` (e.g. --repeat 9, --only startup).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
    .venv/bin/pip install -q -e .
fi
exec .venv/bin/python -m benchmarks "$@"
