"""The Executor side of the channels: reading a child's pipes and private socket.

Both communicators are non-blocking and meant to be registered with one
selector, so the Executor waits on every channel and on the child at once.
The wire format and handshake are in ``lute.ipc.frames``.
"""

from __future__ import annotations

import hmac
import logging
import os
import pickle
import secrets
import shutil
import socket
import tempfile
from collections.abc import Iterator, Mapping

from lute.core.exceptions import ConfigurationError, ProtocolError
from lute.ipc.frames import (
    CHALLENGE_SIZE,
    ENV_KEY,
    ENV_SOCKET,
    MAC_SIZE,
    TCP_PREFIX,
    FrameDecoder,
    handshake_answer,
)
from lute.ipc.message import Message, TextLine

logger = logging.getLogger(__name__)

ENV_TCP_HOST = "LUTE_IPC_TCP_HOST"
"""Interface to listen on with TCP instead of a Unix socket (Tasks on other nodes)."""
_ALL_INTERFACES = frozenset({"", "*", "0.0.0.0", "::", "[::]"})
_READ_CHUNK = 1024 * 1024


def tcp_host(env: Mapping[str, str]) -> str | None:
    """The interface ``$LUTE_IPC_TCP_HOST`` names, or ``None`` for a Unix socket.

    Raises:
        ConfigurationError: It names every interface: the channel is bound to
            one named interface only, never exposed on all of them.
    """
    host = env.get(ENV_TCP_HOST)
    if host is None:
        return None
    if host.strip() in _ALL_INTERFACES:
        raise ConfigurationError(
            f"{ENV_TCP_HOST}={host!r} would listen on every interface; name one "
            "(e.g. the node's address on the cluster network, or 127.0.0.1)"
        )
    return host.strip()


class PipeCommunicator:
    """Executor side of the pipe channel: reads a child's stdout and stderr.

    Args:
        key: The run's secret, to recognise framed messages on stdout.
    """

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._decoders: dict[int, FrameDecoder] = {}

    def watch(self, stream_name: str, fileno: int) -> None:
        """Start decoding a stream of the child."""
        os.set_blocking(fileno, False)
        self._decoders[fileno] = FrameDecoder(
            self._key, stream_name.encode(), stream_name, text=True
        )

    def read(self, fileno: int) -> tuple[bytes, list[Message | TextLine]]:
        """Read what is available on ``fileno``.

        Returns:
            The raw bytes read (empty at end of stream) and the decoded items;
            at end of stream the remaining partial line is included.
        """
        decoder = self._decoders[fileno]
        try:
            data = os.read(fileno, _READ_CHUNK)
        except BlockingIOError:
            return b"", []
        if not data:
            del self._decoders[fileno]
            return b"", list(decoder.close())
        return data, decoder.feed(data)

    def __str__(self) -> str:
        return "PipeCommunicator: child's stdout/stderr, text and framed messages"


class _Connection:
    """One accepted connection, from handshake to close."""

    def __init__(self, sock: socket.socket, key: bytes, name: str) -> None:
        self.sock = sock
        self.name = name
        self._key = key
        self._challenge = secrets.token_bytes(CHALLENGE_SIZE)
        self._hello = bytearray()
        self._decoder: FrameDecoder | None = None
        sock.setblocking(False)
        sock.sendall(self._challenge)

    def receive(self, data: bytes) -> list[Message]:
        """Process received bytes; raises ``ProtocolError`` on any violation."""
        if self._decoder is None:
            need = MAC_SIZE - len(self._hello)
            self._hello += data[:need]
            data = data[need:]
            if len(self._hello) < MAC_SIZE:
                return []
            expected = handshake_answer(self._key, self._challenge)
            if not hmac.compare_digest(expected, bytes(self._hello)):
                raise ProtocolError(f"{self.name}: handshake failed authentication")
            self._decoder = FrameDecoder(self._key, self._challenge, self.name, text=False)
        if not data:
            return []
        return [m for m in self._decoder.feed(data) if isinstance(m, Message)]

    def pump(self) -> tuple[bool, list[Message]]:
        """Read what the socket holds; ``False`` once the peer has closed.

        Raises:
            BlockingIOError: Nothing to read after all.
            ProtocolError: The peer broke the protocol.
        """
        space = self._decoder.payload_space() if self._decoder is not None else None
        if space is not None and self._decoder is not None:
            size = self.sock.recv_into(space)
            if size == 0:
                return False, []
            items = self._decoder.payload_received(size)
            return True, [m for m in items if isinstance(m, Message)]
        data = self.sock.recv(_READ_CHUNK)
        if not data:
            return False, []
        return True, self.receive(data)

    def close(self) -> None:
        if self._decoder is not None:
            self._decoder.close()
        self.sock.close()


class SocketCommunicator:
    """Executor side of the socket channel: a private listening socket.

    Create it, pass ``environment()`` to the child, register ``listener`` and
    each accepted connection with a selector, and call ``close()`` at the end
    (or use it as a context manager) to remove the private directory.

    Args:
        key: The run's secret.
        tcp_host: Listen with TCP on this one interface (see ``tcp_host()``)
            instead of a Unix socket, for Tasks on other nodes. The handshake
            and frame MACs authenticate peers just the same.
    """

    def __init__(self, key: bytes, tcp_host: str | None = None) -> None:
        self._key = key
        self._dir: str | None = None
        self._connections: dict[int, _Connection] = {}
        self._accepted = 0
        self.rejected = 0
        try:
            if tcp_host is None:
                self._dir = tempfile.mkdtemp(prefix="lute-")
                os.chmod(self._dir, 0o700)
                self.path = os.path.join(self._dir, "executor.sock")
                self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.listener.bind(self.path)
            else:
                family, _, _, _, address = socket.getaddrinfo(tcp_host, 0, type=socket.SOCK_STREAM)[
                    0
                ]
                self.listener = socket.socket(family, socket.SOCK_STREAM)
                self.listener.bind(address[:2] if family == socket.AF_INET else address)
                host, port = self.listener.getsockname()[:2]
                shown = f"[{host}]" if family == socket.AF_INET6 else host
                self.path = f"{TCP_PREFIX}{shown}:{port}"
            self.listener.listen(64)
            self.listener.setblocking(False)
        except OSError:
            self.close()
            raise

    def environment(self) -> dict[str, str]:
        """Variables the child needs to reach this socket."""
        return {ENV_SOCKET: self.path, ENV_KEY: self._key.hex()}

    def accept(self) -> socket.socket | None:
        """Accept a pending connection; returns it for registration."""
        try:
            sock, _ = self.listener.accept()
        except BlockingIOError:
            return None
        self._accepted += 1
        try:
            conn = _Connection(sock, self._key, f"socket connection {self._accepted}")
        except OSError as err:
            logger.warning("connection closed before the handshake: %s", err)
            sock.close()
            return None
        self._connections[sock.fileno()] = conn
        return sock

    def read(self, fileno: int) -> tuple[bool, list[Message]]:
        """Read from an accepted connection.

        Returns:
            Whether the connection is still open, and the messages decoded.
            A connection that breaks the protocol is logged and closed.
        """
        conn = self._connections[fileno]
        try:
            open_, messages = conn.pump()
        except BlockingIOError:
            return True, []
        except OSError as err:
            logger.warning("%s: read failed: %s", conn.name, err)
            open_, messages = False, []
        except ProtocolError as err:
            self.rejected += 1
            logger.warning("rejected %s; closing that connection", err)
            self._drop(fileno)
            return False, []
        except (pickle.UnpicklingError, AttributeError, ImportError) as err:
            logger.error("%s: authenticated frame could not be decoded: %s", conn.name, err)
            return True, []
        if not open_:
            self._drop(fileno)
        return open_, messages

    def connections(self) -> Iterator[socket.socket]:
        """The currently open connections."""
        return (conn.sock for conn in self._connections.values())

    def _drop(self, fileno: int) -> None:
        self._connections.pop(fileno).close()

    def close(self) -> None:
        """Close every connection and remove the private directory."""
        for fileno in list(self._connections):
            self._drop(fileno)
        if hasattr(self, "listener"):
            self.listener.close()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> SocketCommunicator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __str__(self) -> str:
        where = "TCP on one interface" if self._dir is None else "a private Unix socket"
        return f"SocketCommunicator: authenticated frames over {where}"
