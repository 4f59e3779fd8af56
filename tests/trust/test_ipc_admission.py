"""Admission on the Executor's socket, driven step by step with real sockets.

Connections are accepted only when the test hands the listener to the
communicator, and time passes only when the test says so (``on_clock``), so
each case is exact without sleeping.
"""

from __future__ import annotations

import selectors
import socket
import time
from collections.abc import Iterator

import pytest

from lute.ipc import CHALLENGE_SIZE, SocketCommunicator, new_key
from lute.ipc.frames import handshake_answer

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
