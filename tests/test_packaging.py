"""The wheel holds every module of the source tree.

An editable install (the one the tests use) imports straight from the
checkout, so a package missing from the wheel only shows once installed
for real: ``.ci/check-wheel.sh`` runs a managed task from such an install,
and this test checks the wheel's contents on every run.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_wheel_contains_every_module(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "lute", source / "lute", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("lute-*.whl")
    packed = set(zipfile.ZipFile(wheel).namelist())
    sources = {path.relative_to(REPO).as_posix() for path in (REPO / "lute").rglob("*.py")}
    packed_sources = {name for name in packed if name.endswith(".py")}
    assert packed_sources == sources
    assert "lute/py.typed" in packed
