"""Tiny stand-ins for third-party programs, written by the tests that run them."""

from __future__ import annotations

import sys
from pathlib import Path

ARGV_PRINTER = """
import json, sys
print("ARGV " + json.dumps(sys.argv[1:]))
"""

FAILING = """
import sys
print("about to fail", file=sys.stderr)
sys.exit(5)
"""

YAML_READER = """
import json, sys
import yaml
with open(sys.argv[-1]) as handle:
    parsed = yaml.safe_load(handle)
print("ARGV " + json.dumps(sys.argv[1:]))
print("PARSED " + json.dumps(parsed, sort_keys=True))
"""


def write_program(path: Path, body: str) -> Path:
    """An executable Python script run by this interpreter, like any program on disk."""
    path.write_text(f"#!{sys.executable}\n{body.lstrip()}")
    path.chmod(0o755)
    return path


def tagged_lines(text: str, tag: str) -> list[str]:
    """The rest of each line that starts with ``tag``, wherever log prefixes put it."""
    marker = f"{tag} "
    return [line.split(marker, 1)[1] for line in text.splitlines() if marker in line]
