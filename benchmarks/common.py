"""What every benchmark needs: paths, child environments, statistics, the machine."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PLUGIN = Path(__file__).resolve().parent / "plugin"
PYTHON = sys.executable


def child_env(work_dir: Path, **extra: str) -> dict[str, str]:
    """Environment of a benchmark's child: this checkout and the bench plugin first."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO), str(PLUGIN), env.get("PYTHONPATH")])
    )
    env["LUTE_WORK_DIR"] = str(work_dir)
    for name in (
        "LUTE_DB_URL",
        "LUTE_SOCKET",
        "LUTE_IPC_KEY",
        "LUTE_CONFIGPATH",
        "PYTHONPROFILEIMPORTTIME",
    ):
        env.pop(name, None)
    env.update(extra)
    return env


@dataclass(frozen=True)
class Timed:
    """One run of a command: wall time and the CPU time of its whole process tree."""

    wall: float
    cpu: float


def timed_run(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> Timed:
    """Run ``argv`` to completion (it must succeed); wall and CPU seconds."""
    before = os.times()
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = os.times()
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} exited with {done.returncode}:\n{done.stderr.decode()[-2000:]}"
        )
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return Timed(wall, cpu)


@dataclass(frozen=True)
class Spread:
    """Median and range of repeated measurements."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Iterable[float]) -> Spread:
        data = list(values)
        return cls(statistics.median(data), min(data), max(data))


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024**2:.0f} GiB"
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load": " ".join(f"{value:.1f}" for value in os.getloadavg()),
    }
