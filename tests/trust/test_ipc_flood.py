"""Connections without the run's key cannot knock the Executor's listener over.

Another local user (or, with TCP, another host) can connect to the socket
without the key. Such connections are closed when they have not answered
the challenge within the handshake deadline, at most a bounded number wait
at once, running out of descriptors in accept() is survived, and the log
says what was refused without repeating itself a thousand times. Meanwhile
the Task, which holds the key, finishes and is recorded as it should be.
"""

from __future__ import annotations

import contextlib
import os
import resource
import selectors
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import task_rows
from faultkit import SYNC_TIMEOUT_S, Fifo, alive, assert_gone, fault_config, release

from lute.ipc.admission import REFUSALS_LOGGED

FLOOD = 300
HANDSHAKE_DEADLINE_S = "1"
FREE_DESCRIPTORS = 8
"""Descriptors left to the Executor beyond those it holds, so accept() hits EMFILE."""


def executor_socket(pid: int) -> str:
    """The address Executor ``pid`` listens on for its Task, from its descriptors in ``/proc``.

    (Any process of the user can read these. The Task's own environment would
    say it too, but a Task forked from its Executor shows in ``/proc`` the
    environment the Executor was started with.)
    """
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
            if link.startswith("socket:["):
                inodes.add(link[len("socket:[") : -1])
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) == 8 and fields[6] in inodes and fields[7].endswith("/executor.sock"):
            return fields[7]
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and fields[9] in inodes:  # listening
            host, port = fields[1].split(":")
            return f"tcp://{socket.inet_ntoa(bytes.fromhex(host)[::-1])}:{int(port, 16)}"
    pytest.fail(f"the Executor (pid {pid}) listens on no socket")


def connect(address: str) -> socket.socket:
    """One connection that will never say anything."""
    if address.startswith("tcp://"):
        host, _, port = address.removeprefix("tcp://").rpartition(":")
        return socket.create_connection((host.strip("[]"), int(port)), timeout=SYNC_TIMEOUT_S)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # A blocking connect waits while the listen queue is full, for at most the
    # send timeout (a Python timeout would make it fail at once instead).
    sock.setsockopt(
        socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", int(SYNC_TIMEOUT_S), 0)
    )
    sock.connect(address)
    return sock


def wait_until_all_closed(socks: list[socket.socket]) -> None:
    """Read each idle connection (its challenge, then end of stream) until it is closed."""
    deadline = time.monotonic() + SYNC_TIMEOUT_S
    with selectors.DefaultSelector() as selector:
        for sock in socks:
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
        remaining = len(socks)
        while remaining:
            ready = selector.select(max(0.0, deadline - time.monotonic()))
            if not ready:
                pytest.fail(f"{remaining} of {len(socks)} idle connections were never closed")
            for key, _ in ready:
                try:
                    data = key.fileobj.recv(64)
                except BlockingIOError:
                    continue
                except ConnectionResetError:
                    data = b""
                if not data:
                    selector.unregister(key.fileobj)
                    remaining -= 1


def refusal_lines(stderr: str) -> list[str]:
    return [
        line
        for line in stderr.splitlines()
        if "lute.ipc" in line and ("refus" in line or "accept() failed" in line)
    ]


def run_through_a_flood(
    env: dict[str, str], work_dir: Path, tmp_path: Path, *, free_descriptors: int | None = None
) -> tuple[subprocess.CompletedProcess[str], list[int]]:
    """Start a Task, hold FLOOD idle connections to its Executor, then let the Task finish.

    The Task (Fault, mode reconnect) closes its connection while it waits,
    so its result travels over a connection made after the flood. With
    ``free_descriptors``, the running Executor's RLIMIT_NOFILE is lowered
    to what it holds plus that many before the flood.
    """
    ready = Fifo(tmp_path / "ready")
    go = tmp_path / "release"
    os.mkfifo(go)
    config = fault_config(
        tmp_path,
        work_dir,
        {"mode": "reconnect", "ready_fifo": str(ready.path), "release_fifo": str(go)},
    )
    env = {**env, "LUTE_IPC_HANDSHAKE_TIMEOUT": HANDSHAKE_DEADLINE_S}
    lute = subprocess.Popen(
        [sys.executable, "-m", "lute", "run", "-t", "FaultTester", "-c", str(config)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    idle: list[socket.socket] = []
    try:
        pids = ready.pids()
        if free_descriptors is not None:
            held = len(os.listdir(f"/proc/{lute.pid}/fd"))
            _, hard = resource.prlimit(lute.pid, resource.RLIMIT_NOFILE)
            resource.prlimit(lute.pid, resource.RLIMIT_NOFILE, (held + free_descriptors, hard))
        address = executor_socket(lute.pid)
        try:
            for _ in range(FLOOD):
                idle.append(connect(address))
        except OSError as err:
            pytest.fail(f"the Executor stopped listening after {len(idle)} connections: {err}")
        wait_until_all_closed(idle)
        assert lute.poll() is None, "the Executor ended during the flood"
        assert all(alive(pid) for pid in pids), "the Task ended during the flood"
    finally:
        with contextlib.suppress(OSError):  # no reader: the Task is gone already
            release(go)
        stdout, stderr = lute.communicate(timeout=SYNC_TIMEOUT_S)
        for sock in idle:
            sock.close()
    return subprocess.CompletedProcess(lute.args, lute.returncode, stdout, stderr), pids


def assert_completed_with_bounded_log(done: subprocess.CompletedProcess[str], work_dir: Path):
    assert done.returncode == 0, done.stderr[-3000:]
    [row] = task_rows(work_dir / "lute.db", "Fault")
    assert row["result.task_status"] == "COMPLETED"
    assert row["valid_flag"] == 1
    assert row["result.summary"] == "reported over a new connection"  # the result got through
    assert row["executor_errors"] is None
    lines = refusal_lines(done.stderr)
    assert len(lines) <= REFUSALS_LOGGED + 2, "\n".join(lines)
    assert f"more than {REFUSALS_LOGGED} connections refused" in done.stderr
    assert "refusals in all" in lines[-1]  # the summary counts what was not logged
    assert list((work_dir / "runs").glob("*.json")) == []


@pytest.mark.parametrize("channel", ["unix", "tcp"])
def test_idle_connections_are_closed_and_the_task_completes(lute_env, work_dir, tmp_path, channel):
    env = dict(lute_env)
    if channel == "tcp":
        env["LUTE_IPC_TCP_HOST"] = "127.0.0.1"

    done, pids = run_through_a_flood(env, work_dir, tmp_path)

    assert_completed_with_bounded_log(done, work_dir)
    summary = refusal_lines(done.stderr)[-1]
    assert f"{FLOOD} refusals in all" in summary
    assert "over the limit of waiting connections" in summary
    assert "without a handshake in time" in summary
    assert_gone(pids)


def test_running_out_of_descriptors_in_accept_is_survived(lute_env, work_dir, tmp_path):
    done, pids = run_through_a_flood(
        lute_env, work_dir, tmp_path, free_descriptors=FREE_DESCRIPTORS
    )

    assert_completed_with_bounded_log(done, work_dir)
    assert "accept() failed: [Errno 24] Too many open files" in done.stderr
    assert "accept() failed with EMFILE" in refusal_lines(done.stderr)[-1]
    assert_gone(pids)
