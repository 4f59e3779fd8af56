"""Messages and bulk data, Task to hook, against a bare Unix socket between two processes.

lute's side runs the real Executor (``benchmarks.executor_driver``) and a real
Task process (``benchmarks/plugin``); the floor runs ``benchmarks.raw`` in two
fresh processes. Every time is CLOCK_MONOTONIC, which all processes share.
"""

from __future__ import annotations

import json
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from benchmarks.common import PYTHON, REPO, child_env

MIB = 1024 * 1024


@dataclass(frozen=True)
class MessageRun:
    """One flood of small messages."""

    rate: float
    p50_ms: float
    p99_ms: float
    lost: int


@dataclass(frozen=True)
class BulkRun:
    """One transfer of arrays; ``peak_gib`` is the Executor's peak above its baseline."""

    mib_s: float
    peak_gib: float | None = None
    read_mib_s: float | None = None


def _percentile(values: list[int], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] / 1e6


def _messages_from(
    received: int, count: int, first_sent: int, last_seen: int, latencies: list[int]
) -> MessageRun:
    return MessageRun(
        rate=received / ((last_seen - first_sent) / 1e9),
        p50_ms=_percentile(latencies, 0.50),
        p99_ms=_percentile(latencies, 0.99),
        lost=count - received,
    )


def _raw(kind: str, count: int, *extra: str) -> dict[str, object]:
    """Run the floor's two processes on a socket pair; the receiver's JSON."""
    receiver_end, sender_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    env = child_env(Path(tempfile.gettempdir()))
    with receiver_end, sender_end:
        fds = (receiver_end.fileno(), sender_end.fileno())
        receiver = subprocess.Popen(
            [PYTHON, "-m", "benchmarks.raw", f"{kind}-recv", str(fds[0]), str(count), *extra],
            pass_fds=[fds[0]],
            stdout=subprocess.PIPE,
            cwd=REPO,
            env=env,
        )
        sender = subprocess.Popen(
            [PYTHON, "-m", "benchmarks.raw", f"{kind}-send", str(fds[1]), str(count), *extra],
            pass_fds=[fds[1]],
            cwd=REPO,
            env=env,
        )
    out, _ = receiver.communicate()
    if sender.wait() != 0 or receiver.returncode != 0:
        raise RuntimeError(f"raw {kind} floor failed")
    return json.loads(out)


def _lute(task: str, section: dict[str, object], work: Path, touch: bool = False) -> dict:
    """Run ``task`` under the benchmark's Executor process; what its hook saw."""
    config = work / f"{task}.yaml"
    header = {"title": "benchmark", "experiment": "bench", "run": 1, "work_dir": str(work)}
    config.write_text(yaml.safe_dump_all([header, {task: section}], sort_keys=False))
    result = work / f"{task}.json"
    argv = [PYTHON, "-m", "benchmarks.executor_driver", task, str(config), str(result)]
    done = subprocess.run(
        [*argv, *(["--touch"] if touch else [])],
        cwd=REPO,
        env=child_env(work),
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{task} driver failed:\n{done.stderr.decode()[-3000:]}")
    seen = json.loads(result.read_text())
    if seen["status"] != "COMPLETED" or seen["bad"]:
        raise RuntimeError(
            f"{task}: {seen['status']}, {seen['bad']}\n{done.stderr.decode()[-3000:]}"
        )
    return seen


def raw_messages(count: int, rate: float = 0) -> MessageRun:
    found = _raw("messages", count, str(rate))
    return _messages_from(
        found["received"], count, found["first_sent"], found["last_seen"], found["latencies_ns"]
    )


def lute_messages(count: int, work: Path, rate: float = 0) -> MessageRun:
    seen = _lute("BenchMessages", {"count": count, "rate": rate}, work)
    received = seen["received"]
    in_order = all(index == position for position, (index, _, _) in enumerate(received))
    if not in_order:
        raise RuntimeError("BenchMessages: messages arrived out of order")
    return _messages_from(
        len(received),
        count,
        received[0][1],
        received[-1][2],
        [now - sent for _, sent, now in received],
    )


def raw_bulk(count: int, mib: int, reuse: bool = False) -> BulkRun:
    found = _raw("bulk-reuse" if reuse else "bulk", count, str(mib))
    return BulkRun(found["bytes"] / MIB / ((found["end"] - found["start"]) / 1e9))


def lute_bulk(
    count: int, mib: int, work: Path, touch: bool = False, allocate: bool = False
) -> BulkRun:
    """Arrays through the real Executor; ``allocate``: made with ``handover_array``."""
    section = {"count": count, "mib": mib, "allocate": allocate}
    seen = _lute("BenchBulk", section, work, touch=touch)
    received = seen["received"]
    if len(received) != count:
        raise RuntimeError(f"BenchBulk: {len(received)} of {count} arrays arrived")
    seconds = (received[-1][2] - received[0][1]) / 1e9
    peak = (
        (seen["rss_peak_kib"] - seen["rss_baseline_kib"]) / 1024**2 if seen["peak_reset"] else None
    )
    read = seen.get("read") or []
    read_rate = count * mib / ((read[-1] - received[0][1]) / 1e9) if read else None
    return BulkRun(count * mib / seconds, peak, read_rate)
