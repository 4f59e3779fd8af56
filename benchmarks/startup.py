"""Start-up: ``lute run`` end to end against two interpreters importing pydantic and yaml.

The floor is what any design with an Executor process and a Task process
that read YAML and validate with pydantic must pay: one interpreter that
imports both and starts a second that does the same, then waits for it.
The import profile (``python -X importtime``) shows where ``lute run``'s own
imports go, per process.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from benchmarks.common import PYTHON, REPO, Timed, child_env, timed_run

FLOOR_CODE = (
    "import subprocess, sys, pydantic, yaml; "
    "subprocess.run([sys.executable, '-c', 'import pydantic, yaml'], check=True)"
)
HEAVY = ("pydantic", "yaml", "sqlalchemy", "requests", "jinja2", "numpy")
"""Packages the import profile names on their own."""


def floor(work: Path) -> Timed:
    return timed_run([PYTHON, "-c", FLOOR_CODE], child_env(work))


def sqlalchemy_import(work: Path) -> float:
    """Wall seconds an interpreter spends importing SQLAlchemy (one importing nothing subtracted).

    The Executor imports it to record the run; the number shows what that
    alone costs against the floor.
    """
    env = child_env(work)
    bare = timed_run([PYTHON, "-c", "pass"], env).wall
    return timed_run([PYTHON, "-c", "import sqlalchemy"], env).wall - bare


def true_config(work: Path) -> Path:
    """A config whose ``TestThirdParty`` section runs ``true`` with no arguments."""
    path = work / "true.yaml"
    header = {"title": "benchmark", "experiment": "bench", "run": 1, "work_dir": str(work)}
    path.write_text(yaml.safe_dump_all([header, {"TestThirdParty": {"executable": "true"}}]))
    return path


def lute_run(managed: str, config: Path, work: Path) -> Timed:
    return timed_run(
        [PYTHON, "-m", "lute", "run", "-t", managed, "-c", str(config)], child_env(work), cwd=work
    )


@dataclass
class ImportProfile:
    """Import time of one process, in ms, as ``python -X importtime`` counts it."""

    total: float = 0.0
    packages: dict[str, float] = field(default_factory=dict)


def parse_importtime(text: str) -> ImportProfile:
    """Total import time, and each heavy package's, from ``-X importtime`` lines.

    importtime prints a module after the modules it imported, indented one
    level deeper; read backwards, each line's parent is the last line read
    with a smaller indent. A heavy package counts where it is first imported
    (its own submodules are inside that).
    """
    profile = ImportProfile(packages=dict.fromkeys(HEAVY, 0.0))
    rows = []
    for line in text.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        _, cumulative_us, name = line.removeprefix("import time:").split("|")
        rows.append(((len(name) - len(name.lstrip())) // 2 - 1, name.strip(), int(cumulative_us)))
    parents: list[str] = []
    for depth, name, cumulative in reversed(rows):
        del parents[depth:]
        top = name.split(".")[0]
        if depth == 0:
            profile.total += cumulative / 1000
        if top in profile.packages and all(parent.split(".")[0] != top for parent in parents):
            profile.packages[top] += cumulative / 1000
        parents.append(name)
    return profile


def import_profiles(work: Path) -> dict[str, ImportProfile]:
    """``lute run -t Tester`` under ``-X importtime``: the CLI/Executor, and a fresh Task process.

    A Task forked from its Executor (the default) imports only its Task's
    module, through ``importlib`` (which ``-X importtime`` does not time), so
    the Task process is profiled as a fresh interpreter
    (``LUTE_TASK_START=exec``, as MPI ranks start): what forking saves. The
    recorder (``lute.db.recorder``) is off, so that all of ``lute run``'s
    imports are one process's, whose lines do not interleave with another's.
    """
    profiles = {}
    for mode, name in (("fork", "lute run (CLI, Executor and recorder)"), ("exec", None)):
        done = subprocess.run(
            [PYTHON, "-m", "lute", "run", "-t", "Tester", "-c", str(REPO / "config/test.yaml")],
            # One process: the recorder's lines would interleave with the Executor's.
            env=child_env(
                work, PYTHONPROFILEIMPORTTIME="1", LUTE_TASK_START=mode, LUTE_RECORDER="0"
            ),
            cwd=work,
            capture_output=True,
            text=True,
            check=True,
        )
        if name is not None:
            profiles[name] = parse_importtime(done.stderr)
    logs = sorted((work / "logs" / "Test").glob("*/attempt-1.err"), key=os.path.getmtime)
    task_text = logs[-1].read_text() if logs else ""
    profiles["Task process, if not forked (a fresh interpreter)"] = parse_importtime(task_text)
    return profiles


def compile_lute() -> None:
    """Compile lute's modules (and the bench plugin) to bytecode, as installing lute does.

    Where ``PYTHONDONTWRITEBYTECODE`` is set (as on the benchmark machine),
    an editable checkout never gets any, and every process would compile
    lute's sources again: a cost no installed lute has.
    """
    subprocess.run(
        [PYTHON, "-m", "compileall", "-q", str(REPO / "lute"), str(REPO / "benchmarks")],
        check=True,
    )
