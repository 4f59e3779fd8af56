"""Fixtures of the LUTE-compatibility tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import pip_install_copy

LUTE_STYLE_SOURCE = Path(__file__).resolve().parent / "lute_style_pkg"


@pytest.fixture(scope="session")
def lute_style_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package of LUTE-style Tasks, pip-installed into a fresh directory."""
    root = tmp_path_factory.mktemp("lute_style")
    return pip_install_copy(LUTE_STYLE_SOURCE, root)


@pytest.fixture
def lute_style_env(lute_env: dict[str, str], lute_style_site: Path) -> dict[str, str]:
    """``lute_env`` with the LUTE-style package importable in every child process."""
    path = os.pathsep.join([lute_env["PYTHONPATH"], str(lute_style_site)])
    return {**lute_env, "PYTHONPATH": path}
