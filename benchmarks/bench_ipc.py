"""IPC and start-up cost, as ratios against floors measured in the same run.

* Throughput: one large message over lute's authenticated socket channel
  (pickle + HMAC + framing + decode) against a raw Unix-socket copy of the
  same number of bytes.
* Overhead: `lute run -t Tester` (config validation, Executor, Task process,
  socket, database record) against a bare `python -c pass` subprocess.

Run: python benchmarks/bench_ipc.py [--mb 100] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lute.ipc import Message, SocketCommunicator, SocketWriter, new_key  # noqa: E402


def raw_copy(nbytes: int) -> float:
    data = b"x" * nbytes
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    start = time.perf_counter()
    sender = threading.Thread(target=left.sendall, args=(data,))
    sender.start()
    received = 0
    while received < nbytes:
        received += len(right.recv(1024 * 1024))
    sender.join()
    elapsed = time.perf_counter() - start
    left.close()
    right.close()
    return elapsed


def lute_socket(array: np.ndarray) -> float:
    key = new_key()
    with SocketCommunicator(key) as comm, selectors.DefaultSelector() as selector:
        comm.attach(selector, "socket")
        start = time.perf_counter()

        def send() -> None:
            writer = SocketWriter(comm.path, key)
            writer.write(Message(array, "TASK_LOG"))
            writer.close()

        sender = threading.Thread(target=send)
        sender.start()
        while comm.accepted == 0 or comm.open_connections() or comm.pending_connections():
            for sel_key, _ in selector.select():
                comm.on_ready(sel_key.fileobj)
        sender.join()
        return time.perf_counter() - start


def bare_python() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - start


def managed_tester(work_dir: str) -> float:
    env = {**os.environ, "LUTE_WORK_DIR": work_dir, "PYTHONPATH": str(REPO)}
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "lute", "run", "-t", "Tester", "-c", str(REPO / "config/test.yaml")],
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    array = np.random.default_rng(0).random(int(args.mb * 1e6) // 8)
    floor = statistics.median(raw_copy(array.nbytes) for _ in range(args.repeat))
    ours = statistics.median(lute_socket(array) for _ in range(args.repeat))
    mb = array.nbytes / 1e6
    print(
        f"socket, {mb:.0f} MB message: raw copy {mb / floor:.0f} MB/s, lute {mb / ours:.0f} MB/s,"
        f" ratio {ours / floor:.2f}x the floor"
    )
    with tempfile.TemporaryDirectory() as work_dir:
        bare = statistics.median(bare_python() for _ in range(args.repeat))
        managed = statistics.median(managed_tester(work_dir) for _ in range(args.repeat))
    print(
        f"start-up: bare python {bare * 1000:.0f} ms, lute run -t Tester {managed * 1000:.0f} ms,"
        f" ratio {managed / bare:.1f}x the floor"
    )


if __name__ == "__main__":
    main()
