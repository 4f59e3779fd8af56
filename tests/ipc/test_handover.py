"""Arrays reach the Executor's hook intact, handed over as memory or copied through the socket.

A real Task process (``IpcArrays``, a plugin) sends arrays of many dtypes,
shapes and layouts with their checksums; the real Executor's hook checks
each one and notes where its memory lives. Large contiguous arrays must
arrive in a sealed memfd the Executor mapped (``/memfd:lute-buffer``), all
others through the socket; with hand-over off (``LUTE_IPC_HANDOVER=0``), on
TCP, or where ``memfd_create`` fails, everything travels through the socket.
Either way every checksum matches, every array is writable, and once the
hook has dropped them nothing of them is left mapped.
"""

from __future__ import annotations

import errno
import logging
import os
import selectors
import socket
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import write_config

from lute.core.analysis import TaskStatus
from lute.execution.executor import Executor
from lute.ipc import Message, SocketCommunicator, SocketWriter, new_key
from lute.ipc.frames import (
    DESCRIPTOR,
    INLINE,
    MAC_SIZE,
    encode_frame,
    read_table,
    send_frame,
    serialise,
)
from lute.ipc.handover import HANDOVER_MIN, MAX_DESCRIPTORS, Handover
from tests.ipc.conftest import mapped_memfds, mapping_of, memfds

BUFFER = "lute-buffer"
HANDED_OVER = {
    "big_float64",
    "big_uint8",
    "big_int16_3d",
    "big_complex",
    "big_endian",
    "fortran",
    "transposed",
    "structured",
}
"""Sample arrays that are contiguous and at least HANDOVER_MIN bytes."""
CROWD = 20


def run_arrays(work_dir: Path, tmp_path: Path) -> tuple[TaskStatus, list[dict[str, Any]]]:
    """Run IpcArrays; what the hook found out about each array."""
    from lute_ipc_probe import checksum

    config = write_config(
        tmp_path / "c.yaml", {"IpcArrays": {"many": CROWD}}, {"work_dir": str(work_dir)}
    )
    seen: list[dict[str, Any]] = []

    def check(_executor: Any, msg: Message) -> None:
        contents = msg.contents
        many = "arrays" in contents
        arrays = contents["arrays"] if many else [contents["array"]]
        sums = contents["sha256"] if many else [contents["sha256"]]
        for index, (value, expected) in enumerate(zip(arrays, sums, strict=True)):
            seen.append(
                {
                    "name": f"crowd[{index}]" if many else contents["name"],
                    "intact": checksum(value) == expected,
                    "where": mapping_of(value.__array_interface__["data"][0])
                    if value.nbytes
                    else "",
                    "writeable": value.flags.writeable,
                }
            )

    executor = Executor("IpcArrays")
    executor.add_hook("task_log", check)
    status = executor.execute_task(str(config))
    return status, seen


def in_memfd(entry: dict[str, Any]) -> bool:
    return entry["where"].startswith(f"/memfd:{BUFFER} ")


def test_large_arrays_are_handed_over_and_arrive_intact(probe, tmp_path):
    status, seen = run_arrays(probe, tmp_path)
    assert status is TaskStatus.COMPLETED
    assert [entry["name"] for entry in seen if not entry["intact"]] == []
    assert all(entry["writeable"] for entry in seen)
    handed = {entry["name"] for entry in seen if in_memfd(entry)}
    crowd_handed = {f"crowd[{index}]" for index in range(MAX_DESCRIPTORS)}
    assert handed == HANDED_OVER | crowd_handed
    assert not mapped_memfds(BUFFER), "an array's memory outlived the hook that dropped it"
    assert not memfds(BUFFER)


@pytest.mark.parametrize("how", ["env", "tcp"])
def test_without_handover_arrays_travel_through_the_socket_intact(
    probe, tmp_path, monkeypatch, how
):
    if how == "env":
        monkeypatch.setenv("LUTE_IPC_HANDOVER", "0")
    else:
        monkeypatch.setenv("LUTE_IPC_TCP_HOST", "127.0.0.1")
    status, seen = run_arrays(probe, tmp_path)
    assert status is TaskStatus.COMPLETED
    assert len(seen) == 15 + CROWD
    assert [entry["name"] for entry in seen if not entry["intact"]] == []
    assert all(entry["writeable"] for entry in seen)
    assert not [entry["name"] for entry in seen if in_memfd(entry)]


def test_where_memfd_fails_buffers_go_in_the_frame(monkeypatch, caplog):
    def no_memfd(*_args: object) -> int:
        raise OSError(errno.ENOSYS, "Function not implemented")

    monkeypatch.setattr(os, "memfd_create", no_memfd)
    handover = Handover(enabled=True)
    big = np.arange(HANDOVER_MIN, dtype=np.uint8)
    with caplog.at_level(logging.WARNING, logger="lute.ipc.handover"):
        first = serialise(Message({"a": big, "b": big[::-1].copy()}, "TASK_LOG"), handover)
    assert first.descriptors == []
    assert len(first.inline) == 2
    assert not handover.enabled, "a failed memfd is not tried again for every buffer"
    assert caplog.text.count("memfd failed") == 1

    key = new_key()
    with SocketCommunicator(key) as comm:

        def client() -> None:
            writer = SocketWriter(comm.path, key, handover=True)
            writer.write(Message({"array": big}, "TASK_LOG"))
            writer.close()

        thread = threading.Thread(target=client)
        thread.start()
        messages = serve(comm)
        thread.join()
    (received,) = messages
    assert np.array_equal(received.contents["array"], big)


def test_the_table_says_which_buffers_are_handed_over():
    big = np.arange(HANDOVER_MIN // 8, dtype=np.float64)
    payload = serialise(
        Message({"big": big, "small": big[:10], "more": [big + k for k in range(MAX_DESCRIPTORS)]}),
        Handover(enabled=True),
    )
    try:
        table = read_table(memoryview(payload.head + b"".join(payload.inline)), "test")
        kinds = [kind for kind, _ in table.entries]
        assert kinds.count(DESCRIPTOR) == MAX_DESCRIPTORS == len(payload.descriptors)
        assert kinds.count(INLINE) == 2  # the small one, and the big one beyond the limit
        assert table.descriptor_sizes() == [big.nbytes] * MAX_DESCRIPTORS
    finally:
        payload.close()


def serve(comm: SocketCommunicator) -> list[Message]:
    """The Executor side of the socket, until the one client is done."""
    messages: list[Message] = []
    with selectors.DefaultSelector() as selector:
        comm.attach(selector, "socket")
        while comm.accepted < 1 or comm.open_connections() or comm.pending_connections():
            ready = selector.select(timeout=30)
            assert ready, "the client went quiet"
            for key, _ in ready:
                messages.extend(comm.on_ready(key.fileobj))
    return messages


def test_frames_on_a_unix_connection_are_those_of_tcp_without_the_mac():
    key = new_key()
    msg = Message({"text": "hello", "array": np.arange(1000)}, "TASK_LOG")
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with left, right:
        send_frame(left, msg, None)
        left.shutdown(socket.SHUT_WR)
        sent = b""
        while chunk := right.recv(65536):
            sent += chunk
    with_mac = encode_frame(key, b"challenge", 0, msg)
    assert with_mac[:-MAC_SIZE] == sent


PASSED_UNCOPIED = {
    "whole_float64",
    "whole_int16_3d",
    "whole_big_endian",
    "whole_structured",
    "transposed_whole",
}
"""``IpcAllocated``'s arrays sent whole, the first time, and at least HANDOVER_MIN bytes."""


def run_allocated(work_dir: Path, tmp_path: Path) -> tuple[TaskStatus, dict[str, dict[str, Any]]]:
    """Run IpcAllocated; what the hook found out about each array, by name."""
    from lute_ipc_probe import checksum

    config = write_config(tmp_path / "c.yaml", {"IpcAllocated": {}}, {"work_dir": str(work_dir)})
    seen: dict[str, dict[str, Any]] = {}

    def check(_executor: Any, msg: Message) -> None:
        value = msg.contents["array"]
        seen[msg.contents["name"]] = {
            "intact": checksum(value) == msg.contents["sha256"],
            "where": mapping_of(value.__array_interface__["data"][0]),
        }

    executor = Executor("IpcAllocated")
    executor.add_hook("task_log", check)
    status = executor.execute_task(str(config))
    return status, seen


def test_arrays_made_in_handover_memory_are_passed_without_a_copy(probe, tmp_path):
    status, seen = run_allocated(probe, tmp_path)
    assert status is TaskStatus.COMPLETED
    assert len(seen) == 10
    assert [name for name, entry in seen.items() if not entry["intact"]] == []
    uncopied = {
        name for name, entry in seen.items() if entry["where"].startswith("/memfd:lute-array ")
    }
    assert uncopied == PASSED_UNCOPIED
    # Views, parts and a second send of the same memory are copied, as any array.
    assert seen["slice"]["where"].startswith(f"/memfd:{BUFFER} ")
    assert seen["again"]["where"].startswith(f"/memfd:{BUFFER} ")
    assert not mapped_memfds("lute-array"), "an array's memory outlived the hook that dropped it"
    assert not memfds("lute-array")


def test_arrays_made_in_handover_memory_are_copied_where_it_is_off(probe, tmp_path, monkeypatch):
    monkeypatch.setenv("LUTE_IPC_TCP_HOST", "127.0.0.1")  # no descriptors on TCP
    status, seen = run_allocated(probe, tmp_path)
    assert status is TaskStatus.COMPLETED
    assert [name for name, entry in seen.items() if not entry["intact"]] == []
    assert not [name for name, entry in seen.items() if entry["where"].startswith("/memfd:")]
