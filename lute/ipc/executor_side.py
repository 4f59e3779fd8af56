"""The Executor side of the channels: reading a child's pipes and private socket.

Both communicators are non-blocking and meant to be driven by one selector,
so the Executor waits on every channel and on the child at once. The wire
format and handshake are in ``lute.ipc.frames``; how many connections may
wait for their handshake, and for how long, in ``lute.ipc.admission``.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
import selectors
import shutil
import socket
import tempfile
import time
from collections.abc import Mapping
from typing import TypedDict

from lute.core.exceptions import ConfigurationError, ProtocolError
from lute.ipc.admission import (
    ACCEPT_PAUSE_S,
    EXHAUSTION_ERRORS,
    HANDSHAKE_TIMEOUT_S,
    MAX_PENDING,
    SKIPPED_ACCEPT_ERRORS,
    Connection,
    RefusalLog,
    handshake_timeout,
)
from lute.ipc.decoder import FrameDecoder
from lute.ipc.frames import ENV_KEY, ENV_SOCKET, TCP_PREFIX
from lute.ipc.message import Received

logger = logging.getLogger(__name__)

ENV_TCP_HOST = "LUTE_IPC_TCP_HOST"
"""Interface to listen on with TCP instead of a Unix socket (Tasks on other nodes)."""
_EVERY_INTERFACE_WORDS = frozenset({"", "*"})
_READ_CHUNK = 1024 * 1024
BACKLOG = 64
ACCEPT_BATCH = 64
"""Connections accepted per wake-up at most, so a flood cannot starve the Task's channel."""


def tcp_host(env: Mapping[str, str]) -> str | None:
    """The address ``$LUTE_IPC_TCP_HOST`` names, or ``None`` for a Unix socket.

    The value is resolved here and the address returned is the one to bind,
    so what was checked is what is bound. Every address it resolves to must
    name one interface: "every interface" is refused by meaning, not by
    spelling (``0``, ``0.0``, ``::0``, ``000.000.000.000``, ``::ffff:0.0.0.0``
    or a host name mapped to 0.0.0.0 all mean it).

    Raises:
        ConfigurationError: It names every interface, or cannot be resolved.
    """
    value = env.get(ENV_TCP_HOST)
    if value is None:
        return None
    host = value.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host in _EVERY_INTERFACE_WORDS:
        raise _every_interface(value)
    try:
        found = socket.getaddrinfo(host, 0, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as err:
        raise ConfigurationError(
            f"{ENV_TCP_HOST}={value!r} cannot be resolved ({err}); give the address "
            "of one interface (e.g. the node's address on the cluster network, or 127.0.0.1)"
        ) from err
    addresses = [str(info[4][0]) for info in found]
    for address in addresses:
        if _is_unspecified(address):
            raise _every_interface(value, address)
    return addresses[0]


def _is_unspecified(address: str) -> bool:
    """Whether binding ``address`` would listen on every interface of its family."""
    ip = ipaddress.ip_address(address.partition("%")[0])
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return ip.is_unspecified or (mapped is not None and mapped.is_unspecified)


def _every_interface(value: str, address: str | None = None) -> ConfigurationError:
    meaning = f" (it means {address})" if address is not None and address != value else ""
    return ConfigurationError(
        f"{ENV_TCP_HOST}={value!r}{meaning} would listen on every interface; name one "
        "(e.g. the node's address on the cluster network, or 127.0.0.1)"
    )


class SocketOptions(TypedDict):
    """``SocketCommunicator`` keyword arguments that come from the environment."""

    tcp_host: str | None
    handshake_timeout: float


def socket_options(env: Mapping[str, str]) -> SocketOptions:
    """The socket settings in ``env``, checked: call it before anything runs.

    Raises:
        ConfigurationError: ``$LUTE_IPC_TCP_HOST`` or
            ``$LUTE_IPC_HANDSHAKE_TIMEOUT`` is not valid.
    """
    return {"tcp_host": tcp_host(env), "handshake_timeout": handshake_timeout(env)}


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

    def read(self, fileno: int) -> tuple[bytes, list[Received]]:
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


class SocketCommunicator:
    """Executor side of the socket channel: a private listening socket.

    Create it, pass ``environment()`` to the child, ``attach`` it to the
    selector the Executor waits on, hand each ready socket to ``on_ready``,
    wake up by ``next_deadline()`` and call ``on_clock`` then; ``close()`` at
    the end (or use it as a context manager) removes the private directory.

    Peers without the run's key can connect but not be heard. A connection
    must answer the challenge within ``handshake_timeout`` seconds; at most
    ``max_pending`` wait at once (a new one drops the oldest); accept()
    failing for want of descriptors or memory drops the older half of the
    waiting connections, lowers the limit to what remains, and stops
    accepting for ``ACCEPT_PAUSE_S``; every refusal goes to one
    ``RefusalLog``. Before any connection is dropped as unanswered, the
    answers already sent are read, so a burst of legitimate connections
    (one per MPI rank) is not mistaken for a flood. None of this touches
    connections that authenticated.

    Args:
        key: The run's secret.
        tcp_host: Listen with TCP on this one address (see ``tcp_host()``)
            instead of a Unix socket, for Tasks on other nodes. The handshake
            and frame MACs authenticate peers just the same.
        handshake_timeout: Seconds a connection has to answer the challenge.
        max_pending: How many connections may wait for their handshake.
    """

    def __init__(
        self,
        key: bytes,
        tcp_host: str | None = None,
        *,
        handshake_timeout: float = HANDSHAKE_TIMEOUT_S,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self._key = key
        self._dir: str | None = None
        self._handshake_timeout = handshake_timeout
        self._max_pending = max_pending
        self._pending: dict[int, Connection] = {}
        self._open: dict[int, Connection] = {}
        self._selector: selectors.BaseSelector | None = None
        self._data: object = None
        self._resume_at: float | None = None
        self._accepted = 0
        self._refusals = RefusalLog()
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
            self.listener.listen(BACKLOG)
            self.listener.setblocking(False)
        except OSError:
            self.close()
            raise

    def environment(self) -> dict[str, str]:
        """Variables the child needs to reach this socket."""
        return {ENV_SOCKET: self.path, ENV_KEY: self._key.hex()}

    def attach(self, selector: selectors.BaseSelector, data: object) -> None:
        """Register the listener, and from now on each connection, with ``selector``.

        Every registration carries ``data``; the communicator registers and
        unregisters its sockets itself as it accepts, pauses and closes.
        """
        self._selector, self._data = selector, data
        selector.register(self.listener, selectors.EVENT_READ, data)

    def on_ready(self, fileobj: object) -> list[Received]:
        """Handle one of our sockets the selector found ready.

        Returns:
            The messages (and undecodable frames) it carried.
        """
        if fileobj is self.listener:
            self._accept_ready()
            return []
        if not isinstance(fileobj, socket.socket):
            raise TypeError(f"not one of this communicator's sockets: {fileobj!r}")
        fileno = fileobj.fileno()
        conn = self._pending.get(fileno) or self._open.get(fileno)
        if conn is None or conn.sock is not fileobj:
            return []  # closed earlier in the same round of the selector
        return self._read(fileno, conn)

    def next_deadline(self) -> float | None:
        """The ``time.monotonic()`` by which ``on_clock`` must be called, if any."""
        moments = [conn.deadline for conn in self._pending.values()][:1]
        if self._resume_at is not None:
            moments.append(self._resume_at)
        return min(moments, default=None)

    def on_clock(self, now: float) -> None:
        """Close connections past their handshake deadline; resume a paused accept."""
        overdue = [conn for conn in self._pending.values() if conn.deadline <= now]
        if overdue:
            self._settle_pending()
        for conn in overdue:
            if self._pending.get(conn.sock.fileno()) is conn:
                self._refuse(
                    conn,
                    "without a handshake in time",
                    f"refused {conn.name}: no handshake within {self._handshake_timeout:g}s",
                )
        if self._resume_at is not None and now >= self._resume_at and self._selector is not None:
            self._resume_at = None
            self._selector.register(self.listener, selectors.EVENT_READ, self._data)

    def open_connections(self) -> int:
        """How many authenticated connections are still open."""
        return len(self._open)

    def pending_connections(self) -> int:
        """How many connections are waiting for their handshake."""
        return len(self._pending)

    @property
    def accepted(self) -> int:
        """How many connections were accepted so far."""
        return self._accepted

    def _accept_ready(self) -> None:
        for _ in range(ACCEPT_BATCH):
            try:
                sock, _ = self.listener.accept()
            except BlockingIOError:
                return
            except OSError as err:
                if not self._accept_failed(err):
                    return
                continue
            self._admit(sock)

    def _accept_failed(self, err: OSError) -> bool:
        """Survive a failed accept(); whether to go on accepting now."""
        name = errno_name(err)
        self._refusals.note(f"accept() failed with {name}", f"socket: accept() failed: {err}")
        if err.errno in SKIPPED_ACCEPT_ERRORS:
            return True
        if err.errno in EXHAUSTION_ERRORS:
            self._shed(name)
        if self._selector is not None:
            self._selector.unregister(self.listener)
        self._resume_at = time.monotonic() + ACCEPT_PAUSE_S
        return False

    def _shed(self, why: str) -> None:
        """Free descriptors: drop the older half of the waiting connections, keep the rest."""
        self._settle_pending()
        waiting = list(self._pending.values())
        for conn in waiting[: (len(waiting) + 1) // 2]:
            self._refuse(conn, f"dropped on {why}", f"refused {conn.name}: dropped on {why}")
        self._max_pending = max(1, len(self._pending))

    def _admit(self, sock: socket.socket) -> None:
        self._accepted += 1
        name = f"socket connection {self._accepted}"
        if len(self._pending) >= self._max_pending:
            self._settle_pending()
        if len(self._pending) >= self._max_pending:
            oldest = next(iter(self._pending.values()))
            self._refuse(
                oldest,
                "over the limit of waiting connections",
                f"refused {oldest.name}: the oldest of {self._max_pending} connections "
                "waiting for their handshake (the limit)",
            )
        try:
            conn = Connection(sock, self._key, name, time.monotonic() + self._handshake_timeout)
        except OSError as err:
            sock.close()
            self.rejected += 1
            self._refusals.note("gone before the challenge", f"refused {name}: {err}")
            return
        self._pending[sock.fileno()] = conn
        if self._selector is not None:
            self._selector.register(sock, selectors.EVENT_READ, self._data)

    def _settle_pending(self) -> None:
        """Read the answers already sent, before dropping any connection as unanswered.

        A burst of connections (each MPI rank's, say) is accepted in one go,
        before the loop reads their answers; a peer that has answered must
        not be dropped as if it had not.
        """
        for fileno, conn in list(self._pending.items()):
            self._read(fileno, conn)

    def _read(self, fileno: int, conn: Connection) -> list[Received]:
        try:
            open_, items = conn.pump()
        except BlockingIOError:
            return []
        except ProtocolError as err:
            self._refuse(conn, "breaking the protocol", f"rejected {err}; closing that connection")
            return []
        except OSError as err:
            if fileno in self._pending:
                self._refuse(conn, "closed before the handshake", f"refused {conn.name}: {err}")
            else:
                logger.warning("%s: read failed: %s", conn.name, err)
                self._close(conn)
            return []
        if fileno in self._pending and conn.authenticated:
            self._open[fileno] = self._pending.pop(fileno)
        if open_:
            return items
        if fileno in self._pending:
            self._refuse(
                conn, "closed before the handshake", f"refused {conn.name}: closed unanswered"
            )
        else:
            self._close(conn)
        return items

    def _refuse(self, conn: Connection, reason: str, text: str) -> None:
        self.rejected += 1
        self._refusals.note(reason, text)
        self._close(conn)

    def _close(self, conn: Connection) -> None:
        fileno = conn.sock.fileno()
        self._pending.pop(fileno, None)
        self._open.pop(fileno, None)
        if self._selector is not None:
            self._selector.unregister(conn.sock)
        conn.close()

    def close(self) -> None:
        """Close every connection, say what was refused, remove the private directory.

        The selector it was attached to is left alone (it may be closed
        already); it must not be used for these sockets afterwards.
        """
        self._selector = None
        for conn in [*self._pending.values(), *self._open.values()]:
            self._close(conn)
        self._refusals.summary()
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


def errno_name(err: OSError) -> str:
    """``EMFILE`` for an OSError with that errno; the message otherwise."""
    return errno.errorcode.get(err.errno or 0, str(err))
