"""Build the environment a Task process starts with."""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from lute.exceptions import ConfigurationError

logger = logging.getLogger(__name__)

PATH_MODES = ("prepend", "append", "overwrite")


def merge_environment(
    base: Mapping[str, str], updates: Mapping[str, str], update_path: str = "prepend"
) -> dict[str, str]:
    """Return ``base`` with ``updates`` applied.

    Args:
        base: The current environment.
        updates: Variables to set; they replace existing values, except PATH.
        update_path: How a PATH in ``updates`` combines with the current one:
            ``prepend`` (new entries searched first), ``append`` (searched
            last) or ``overwrite``.

    Raises:
        ConfigurationError: ``update_path`` is not one of ``PATH_MODES``.
    """
    if update_path not in PATH_MODES:
        raise ConfigurationError(
            f"update_path={update_path!r} is not valid; choose one of: {', '.join(PATH_MODES)}"
        )
    merged = dict(base)
    new = dict(updates)
    if "PATH" in new and base.get("PATH") and update_path != "overwrite":
        parts = [new["PATH"], base["PATH"]]
        if update_path == "append":
            parts.reverse()
        new["PATH"] = os.pathsep.join(parts)
    merged.update(new)
    return merged


def source_script(script: str | os.PathLike[str], base: Mapping[str, str]) -> dict[str, str]:
    """The environment after ``source``-ing a shell script in ``base``.

    The script runs in ``bash`` with ``set -a`` so plain assignments are
    exported too; its output is discarded. The result is read as
    NUL-separated ``env -0`` output, never evaluated.

    Raises:
        ConfigurationError: The script does not exist or fails.
    """
    path = Path(script)
    if not path.is_file():
        raise ConfigurationError(f"cannot source environment script {path}: no such file")
    logger.info("sourcing environment from %s", path)
    completed = subprocess.run(
        ["bash", "-c", 'set -a; source "$1" >/dev/null || exit $?; env -0', "lute", str(path)],
        env=dict(base),
        capture_output=True,
        check=False,
    )
    if completed.returncode != 0:
        raise ConfigurationError(
            f"sourcing {path} failed with exit code {completed.returncode}: "
            f"{completed.stderr.decode(errors='replace').strip()}"
        )
    env: dict[str, str] = {}
    for entry in completed.stdout.split(b"\0"):
        name, sep, value = entry.decode(errors="surrogateescape").partition("=")
        if sep and name:
            env[name] = value
    env.pop("_", None)
    env.pop("SHLVL", None)
    return env
