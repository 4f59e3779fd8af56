"""What posting to the eLog costs a managed task, healthy or not.

Runs the ``ElogTester`` managed task (a Task whose summary is a dict and whose
payload is an eLog report, so every kind of post happens) as ``lute run`` in
a subprocess, several times per scenario, against the fake logbook of the
test suite on 127.0.0.1:

* ``unconfigured``: no eLog variables: the floor every ratio is taken against;
* ``healthy``: a logbook that answers at once;
* ``error500``, ``badjson``, ``refused``: answers that fail at once;
* ``hang``: a logbook that never answers; the read timeout is set well above
  the flush bound, so the flush is what limits the run.

Prints, per scenario, the median wall time, its ratio to the floor, and the
extra seconds over the floor next to the configured flush bound. Run with
``python benchmarks/bench_elog.py [--repeat N] [--flush SECONDS]``.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from elog_server import STATUS_PATH, ElogServer  # noqa: E402 (the test suite's fake logbook)

SCENARIOS = ("unconfigured", "healthy", "error500", "badjson", "refused", "hang")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_once(env: dict[str, str], work: Path) -> float:
    config = work / "elog.yaml"
    config.write_text("title: bench\nexperiment: xpptest\nrun: 7\n---\nTestElog: {}\n")
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "lute", "run", "-t", "ElogTester", "-c", str(config)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"ElogTester failed:\n{done.stderr}")
    return elapsed


def scenario_times(name: str, repeat: int, flush: float, base_env: dict[str, str]) -> list[float]:
    times = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            env = {
                **base_env,
                "LUTE_WORK_DIR": str(work / "work"),
                "LUTE_SUMMARY_DIR": str(work / "summary"),
                "LUTE_ELOG_RETRIES": "1",
                "LUTE_ELOG_BACKOFF": "0",
                "LUTE_ELOG_TIMEOUT": f"2,{flush * 10:g}",
                "LUTE_ELOG_FLUSH_TIMEOUT": f"{flush:g}",
            }
            if name == "unconfigured":
                times.append(run_once(env, work))
                continue
            mode = name if name in ("error500", "badjson", "hang") else "ok"
            with ElogServer(mode) as server:
                url, status_url = server.url, server.status_url
                if name == "refused":
                    url = f"http://127.0.0.1:{closed_port()}/lgbk"
                    status_url = url.replace("/lgbk", STATUS_PATH)
                env.update({"LUTE_ELOG_URL": url, "JID_UPDATE_COUNTERS": status_url})
                times.append(run_once(env, work))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--flush", type=float, default=2.0, help="LUTE_ELOG_FLUSH_TIMEOUT")
    args = parser.parse_args()
    base_env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("LUTE_") and key not in ("JID_UPDATE_COUNTERS", "EXPERIMENT")
    }
    base_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), base_env.get("PYTHONPATH")]))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], env=base_env, check=True)
    bare_python = time.perf_counter() - start
    print(f"bare python -c pass: {bare_python:.3f} s; {args.repeat} runs per scenario")
    print(f"{'scenario':<14}{'median s':>10}{'ratio':>8}{'extra s':>9}  flush bound")
    floor = None
    for name in SCENARIOS:
        median = statistics.median(scenario_times(name, args.repeat, args.flush, base_env))
        floor = floor or median
        print(
            f"{name:<14}{median:>10.3f}{median / floor:>8.2f}{median - floor:>9.3f}"
            f"  {args.flush:g} s"
        )


if __name__ == "__main__":
    main()
