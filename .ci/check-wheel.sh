#!/usr/bin/env bash
# Build lute as a wheel, install it (not editable) into a fresh venv outside
# the checkout, and run a managed task and `lute tasks list` from there: an
# editable install hides packages missing from the wheel, this does not.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

python3 -m pip wheel -q --no-deps -w "$scratch/dist" "$repo"
python3 -m venv "$scratch/venv"
"$scratch/venv/bin/pip" install -q "$scratch"/dist/lute-*.whl
cp "$repo/config/test.yaml" "$scratch/test.yaml"

cd "$scratch"
export LUTE_WORK_DIR="$scratch/work"
"$scratch/venv/bin/lute" tasks list > tasks.txt
grep -qw 'Tester' tasks.txt || { echo "lute tasks list did not list Tester" >&2; exit 1; }
"$scratch/venv/bin/lute" run -t Tester -c "$scratch/test.yaml"
"$scratch/venv/bin/python" - "$LUTE_WORK_DIR/lute.db" <<'PY'
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute(
    'SELECT "result.task_status" FROM "Test"'
).fetchall()
assert rows == [("COMPLETED",)], rows
print("wheel install: Tester ran and was recorded COMPLETED")
PY
