"""The Task side of the channels: how a Task process reports to its Executor.

A Task never chooses its channel: ``task_channel()`` opens the socket the
Executor advertised, or falls back to frames on stdout. The wire format is
in ``lute.ipc.frames``.
"""

from __future__ import annotations

import hmac
import os
import socket
import sys
from typing import IO

from lute.ipc.frames import (
    CHALLENGE_SIZE,
    ENV_KEY,
    ENV_SOCKET,
    MAC_SIZE,
    TCP_PREFIX,
    handshake_answer,
    handshake_welcome,
    send_frame,
    write_frame,
)
from lute.ipc.handover import Handover
from lute.ipc.message import Message


class PipeWriter:
    """Task side of the pipe channel: frames written into the child's stdout.

    Used only when no socket was provided. Text printed by the Task and
    frames share the stream, so Python's text buffer is flushed first to keep
    their order.
    """

    def __init__(self, key: bytes, stream: IO[str] | None = None) -> None:
        self._key = key
        self._stream = stream if stream is not None else sys.stdout
        self._seq = 0

    def write(self, msg: Message) -> None:
        """Send one message."""
        self._stream.flush()
        write_frame(self._stream.buffer.write, self._key, b"stdout", self._seq, msg)
        self._stream.buffer.flush()
        self._seq += 1

    def close(self) -> None:
        """Nothing to release: the stream belongs to the process."""

    def __str__(self) -> str:
        return "PipeCommunicator: framed messages on stdout"


def _split_tcp(address: str) -> tuple[str, int]:
    """``tcp://host:port`` (host may be ``[v6]``) to ``(host, port)``."""
    host, _, port = address.removeprefix(TCP_PREFIX).rpartition(":")
    return host.strip("[]"), int(port)


def _connect(address: str) -> socket.socket:
    if address.startswith(TCP_PREFIX):
        sock = socket.create_connection(_split_tcp(address))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(address)
    except OSError:
        sock.close()
        raise
    return sock


def connect_authenticated(path: str, key: bytes) -> tuple[socket.socket, bytes]:
    """Open a connection to the Executor and complete the handshake (steps 2-4).

    Returns once the Executor has confirmed the answer, so the connection
    is known to be accepted, by an Executor that holds the key.

    Returns:
        The connected socket and the challenge, which is the connection's
        frame context.

    Raises:
        OSError: The Executor cannot be reached, closed the connection, or
            did not prove it holds the key (``ConnectionError``).
    """
    sock = _connect(path)
    try:
        challenge = _recv_exactly(sock, CHALLENGE_SIZE)
        sock.sendall(handshake_answer(key, challenge))
        welcome = _recv_exactly(sock, MAC_SIZE)
        if not hmac.compare_digest(welcome, handshake_welcome(key, challenge)):
            raise ConnectionError(f"{path}: the peer did not prove it holds the run's key")
    except OSError:
        sock.close()
        raise
    return sock, challenge


class SocketWriter:
    """Task side of the socket channel: one authenticated connection.

    On a Unix socket, frames go without a MAC and large buffers are handed
    over as sealed memfds (see ``lute.ipc.handover``); on TCP every frame
    carries its MAC and every buffer travels in it.

    Args:
        path: The Executor's socket: a path, or ``tcp://host:port``.
        key: The run's secret.
        handover: Whether to hand large buffers over on a Unix socket;
            ``None`` reads ``$LUTE_IPC_HANDOVER`` (default: yes).
    """

    def __init__(self, path: str, key: bytes, handover: bool | None = None) -> None:
        self._key = key
        self._seq = 0
        self._sock, self._context = connect_authenticated(path, key)
        self._unix = self._sock.family == socket.AF_UNIX
        self._handover = Handover(handover) if self._unix else None

    def write(self, msg: Message) -> None:
        """Send one message; blocks until the Executor has taken it all."""
        if self._unix:
            send_frame(self._sock, msg, self._handover)
        else:
            write_frame(self._sock.sendall, self._key, self._context, self._seq, msg)
        self._seq += 1

    def close(self) -> None:
        """Close the connection, which tells the Executor no more will come."""
        self._sock.close()

    def __str__(self) -> str:
        where = "a Unix socket" if self._unix else "TCP"
        return f"SocketCommunicator: authenticated frames over {where}"


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("executor closed the socket during the handshake")
        data += chunk
    return bytes(data)


def task_channel() -> PipeWriter | SocketWriter:
    """Open the channel a Task should report on, from its environment.

    The Task never chooses: with ``LUTE_SOCKET`` set it uses the socket,
    otherwise frames go on stdout. Without a key (a Task started by hand)
    messages are still framed, with an empty key, so the stream stays valid.
    """
    key = bytes.fromhex(os.environ.get(ENV_KEY, ""))
    path = os.environ.get(ENV_SOCKET)
    if path:
        return SocketWriter(path, key)
    return PipeWriter(key)
