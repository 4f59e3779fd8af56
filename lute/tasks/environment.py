"""Build the environments a Task process and the program it runs start with."""

from __future__ import annotations

import json
import logging
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lute.core.exceptions import ConfigurationError

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


ENV_PROGRAM_SCRIPT = "LUTE_PROGRAM_ENV_SCRIPT"
ENV_PROGRAM_VARIABLES = "LUTE_PROGRAM_ENV"
ENV_PROGRAM_PATH_MODE = "LUTE_PROGRAM_PATH_MODE"


@dataclass(frozen=True)
class ProgramEnvironment:
    """The software environment a third-party program runs in.

    The Task process always starts with lute's own interpreter and
    environment; a ``ThirdPartyTask`` switches to this one only for the
    program, right before ``exec``. So a setup script may point ``PATH``,
    ``PYTHONPATH`` or ``PYTHONHOME`` at another software stack without
    breaking lute. The Executor hands the spec to the Task in three
    variables, which also puts it in the run record.

    Attributes:
        script: A shell script to ``source`` (``set -a``: assignments are
            exported), e.g. a facility's setup script.
        variables: Set after sourcing; a ``PATH`` here is combined with the
            sourced one as ``path_mode`` says.
        path_mode: ``prepend``, ``append`` or ``overwrite``.
    """

    script: str | None = None
    variables: Mapping[str, str] = field(default_factory=dict)
    path_mode: str = "prepend"

    def __post_init__(self) -> None:
        if self.path_mode not in PATH_MODES:
            raise ConfigurationError(
                f"path_mode={self.path_mode!r} is not valid; choose one of: {', '.join(PATH_MODES)}"
            )

    def task_variables(self) -> dict[str, str]:
        """Variables that carry this spec to the Task process."""
        found = {
            ENV_PROGRAM_VARIABLES: json.dumps(dict(self.variables)),
            ENV_PROGRAM_PATH_MODE: self.path_mode,
        }
        if self.script:
            found[ENV_PROGRAM_SCRIPT] = str(Path(self.script).expanduser().resolve())
        return found

    @classmethod
    def from_task_variables(cls, environ: Mapping[str, str]) -> ProgramEnvironment:
        """The spec an Executor handed to this Task (empty when none).

        Raises:
            ConfigurationError: ``LUTE_PROGRAM_ENV`` is not a JSON object of strings.
        """
        raw = environ.get(ENV_PROGRAM_VARIABLES) or "{}"
        try:
            variables = json.loads(raw)
        except json.JSONDecodeError as err:
            raise ConfigurationError(f"{ENV_PROGRAM_VARIABLES} is not valid JSON: {err}") from err
        if not isinstance(variables, dict) or not all(
            isinstance(v, str) for v in variables.values()
        ):
            raise ConfigurationError(f"{ENV_PROGRAM_VARIABLES} must be a JSON object of strings")
        return cls(
            script=environ.get(ENV_PROGRAM_SCRIPT) or None,
            variables=variables,
            path_mode=environ.get(ENV_PROGRAM_PATH_MODE) or "prepend",
        )

    def apply(self, base: Mapping[str, str]) -> dict[str, str]:
        """The program's environment: ``base``, sourced, then updated."""
        env = source_script(self.script, base) if self.script else dict(base)
        return merge_environment(env, self.variables, self.path_mode)
