"""Admission on the Executor's socket, driven step by step with real sockets.

Connections are accepted only when the test hands the listener to the
communicator, and time passes only when the test says so (``on_clock``), so
each case is exact without sleeping. The Task side learns from the
Executor's welcome whether its connection was accepted.
"""

from __future__ import annotations

import selectors
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from faultkit import SYNC_TIMEOUT_S

from lute.ipc import CHALLENGE_SIZE, SocketCommunicator, new_key
from lute.ipc.frames import handshake_answer, handshake_welcome
from lute.ipc.task_side import connect_authenticated

KEY = new_key()


@pytest.fixture
def comm() -> Iterator[SocketCommunicator]:
    with (
        selectors.DefaultSelector() as selector,
        SocketCommunicator(KEY, handshake_timeout=5.0, max_pending=2) as communicator,
    ):
        communicator.attach(selector, None)
        yield communicator


def connect_and_accept(comm: SocketCommunicator) -> tuple[socket.socket, bytes]:
    """A client connection, accepted now; returns it and the challenge it received."""
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.connect(comm.path)
    comm.on_ready(comm.listener)
    challenge = b""
    while len(challenge) < CHALLENGE_SIZE:
        challenge += client.recv(CHALLENGE_SIZE - len(challenge))
    return client, challenge


def closed_by_the_executor(client: socket.socket) -> bool:
    client.settimeout(0)
    try:
        return client.recv(1) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True


def test_an_answered_connection_is_not_dropped_when_the_limit_is_reached(comm):
    answered, challenge = connect_and_accept(comm)
    answered.sendall(handshake_answer(KEY, challenge))  # not read yet by the Executor side
    silent, _ = connect_and_accept(comm)

    third, _ = connect_and_accept(comm)  # at the limit of 2 waiting: someone must go

    assert comm.open_connections() == 1  # the answer was read, not dropped unread
    assert comm.rejected == 0
    fourth, _ = connect_and_accept(comm)
    assert comm.rejected == 1
    assert closed_by_the_executor(silent)  # the oldest that never answered
    assert not closed_by_the_executor(answered)
    assert not closed_by_the_executor(third)
    for client in (answered, silent, third, fourth):
        client.close()


def test_only_connections_without_an_answer_are_closed_at_the_deadline(comm):
    answered, challenge = connect_and_accept(comm)
    silent, _ = connect_and_accept(comm)
    answered.sendall(handshake_answer(KEY, challenge))

    comm.on_clock(time.monotonic() + 60)

    assert comm.open_connections() == 1
    assert comm.pending_connections() == 0
    assert comm.rejected == 1
    assert closed_by_the_executor(silent)
    assert not closed_by_the_executor(answered)
    answered.close()
    silent.close()


def fake_executor(reply: bytes) -> tuple[socket.socket, threading.Thread]:
    """A TCP listener that sends a challenge, reads the answer, sends ``reply`` and closes."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.sendall(b"c" * CHALLENGE_SIZE)
            conn.recv(CHALLENGE_SIZE)
            conn.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener, thread


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (b"", "closed the socket during the handshake"),  # dropped before its answer counted
        (b"w" * 32, "did not prove it holds the run's key"),  # not the run's Executor
    ],
    ids=["closed_unanswered", "impostor"],
)
def test_the_task_side_needs_the_executors_welcome(reply, error):
    listener, server = fake_executor(reply)
    host, port = listener.getsockname()
    with listener, pytest.raises(ConnectionError, match=error):
        connect_authenticated(f"tcp://{host}:{port}", KEY)
    server.join()


def test_the_welcome_comes_only_after_a_right_answer(comm):
    right, challenge = connect_and_accept(comm)
    wrong, _ = connect_and_accept(comm)
    right.sendall(handshake_answer(KEY, challenge))
    wrong.sendall(b"\0" * 32)

    comm.on_clock(time.monotonic() + 60)  # reads both answers before any deadline applies

    right.settimeout(SYNC_TIMEOUT_S)
    welcome = b""
    while len(welcome) < 32:
        welcome += right.recv(32 - len(welcome))
    assert welcome == handshake_welcome(KEY, challenge)
    assert comm.open_connections() == 1
    assert closed_by_the_executor(wrong)
    right.close()
    wrong.close()
