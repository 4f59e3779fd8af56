"""Reprocessing many runs: run-number lists and the configuration they need.

``lute submit --runs 10-50,60`` submits one SLURM job array whose indices
are the run numbers; each array job exports its index as ``RUN_NUM``, which
the configuration's header must then take its run from. ``lute workflow
submit --runs`` submits the workflow once per run number.
"""

from __future__ import annotations

import os
import re

from lute.config.loader import load_header
from lute.core.exceptions import ConfigurationError

MAX_RUNS = 10_000
"""Most run numbers one ``--runs`` may name (a typo like ``1-1000000`` is refused)."""
_ITEM = re.compile(r"(\d+)(?:-(\d+))?")


def parse_runs(spec: str) -> list[int]:
    """The run numbers of ``10-50,60``: single numbers and inclusive ranges, in order.

    Raises:
        ConfigurationError: Not such a list, a range that runs backwards, a
            run named twice, or more than ``MAX_RUNS`` runs.
    """
    runs: list[int] = []
    for item in spec.split(","):
        match = _ITEM.fullmatch(item.strip())
        if match is None:
            raise ConfigurationError(
                f"--runs {spec!r}: {item!r} is not a run number or a range like 10-50"
            )
        low = int(match.group(1))
        high = int(match.group(2) or low)
        if high < low:
            raise ConfigurationError(f"--runs {spec!r}: the range {item!r} runs backwards")
        if len(runs) + high - low + 1 > MAX_RUNS:
            raise ConfigurationError(f"--runs {spec!r}: more than {MAX_RUNS} runs")
        runs.extend(range(low, high + 1))
    if len(set(runs)) != len(runs):
        raise ConfigurationError(f"--runs {spec!r} names a run more than once")
    return runs


def array_spec(runs: list[int]) -> str:
    """``runs`` written as SLURM's ``--array`` indices, consecutive numbers as ranges."""
    parts: list[str] = []
    start = previous = runs[0]
    for run in [*runs[1:], None]:
        if run is not None and run == previous + 1:
            previous = run
            continue
        parts.append(str(start) if start == previous else f"{start}-{previous}")
        if run is not None:
            start = previous = run
    return ",".join(parts)


def check_run_from_environment(config: str, runs: list[int]) -> None:
    """Refuse a configuration whose header would not take its run from ``$RUN_NUM``.

    The header is read with ``RUN_NUM`` set to two different run numbers;
    unless its run follows, every job of the array would record the same
    run.

    Raises:
        ConfigurationError: The header fixes the run; the message says how to fix it.
    """
    saved = os.environ.get("RUN_NUM")
    probes = (str(runs[0]), str(runs[0] + 1))
    try:
        seen = []
        for probe in probes:
            os.environ["RUN_NUM"] = probe
            seen.append(str(load_header(config).run))
    finally:
        if saved is None:
            os.environ.pop("RUN_NUM", None)
        else:
            os.environ["RUN_NUM"] = saved
    if seen != list(probes):
        raise ConfigurationError(
            f"{config}: the header sets run to {seen[0]}; with --runs each job takes its run"
            " from $RUN_NUM: leave run out of the header or write run: '{{ $RUN_NUM }}'"
        )
