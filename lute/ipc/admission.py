"""Who gets to talk to the Executor: one connection's handshake, and the refusal log.

The listening socket can be reached by more than the run's Task: any local
user on a TCP port, and anyone who can enter the socket's directory. Peers
without the run's key cannot inject messages (see ``lute.ipc.frames``), but
they could try to exhaust the Executor by connecting and saying nothing.
So a connection that has not answered the challenge is *pending*: it may
send at most the 32 bytes of the answer, has ``handshake_timeout`` seconds to
do so, and only a bounded number may be pending at once (the
``SocketCommunicator`` keeps that count and drops the oldest). What is
refused is logged without letting a flood flood the log.
"""

from __future__ import annotations

import array
import errno
import hmac
import logging
import secrets
import socket
from collections import Counter
from collections.abc import Mapping

from lute.core.exceptions import ProtocolError
from lute.core.settings import env_number
from lute.ipc.decoder import FrameDecoder
from lute.ipc.frames import (
    CHALLENGE_SIZE,
    MAC_SIZE,
    handshake_answer,
    handshake_welcome,
)
from lute.ipc.handover import MAX_DESCRIPTORS, close_all
from lute.ipc.message import Received

logger = logging.getLogger(__name__)

ENV_HANDSHAKE_TIMEOUT = "LUTE_IPC_HANDSHAKE_TIMEOUT"
HANDSHAKE_TIMEOUT_S = 5.0
"""Seconds a new connection has to answer the challenge (a Task needs milliseconds)."""
MAX_PENDING = 32
"""Connections that may wait for their handshake at once; a new one drops the oldest."""
ACCEPT_PAUSE_S = 0.25
"""How long to stop accepting after accept() failed for want of resources."""
REFUSALS_LOGGED = 10
"""Refusals logged one by one; the rest are counted and summed up at the end."""
SKIPPED_ACCEPT_ERRORS = frozenset({errno.ECONNABORTED, errno.EPROTO, errno.EPERM})
"""accept() errors that lose only the connection being accepted: go on accepting."""
EXHAUSTION_ERRORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
"""accept() errors that mean the Executor is short of descriptors or memory."""
_READ_CHUNK = 1024 * 1024
_FD_SIZE = array.array("i").itemsize
_ANCILLARY_SPACE = socket.CMSG_SPACE(MAX_DESCRIPTORS * _FD_SIZE)


def handshake_timeout(env: Mapping[str, str]) -> float:
    """The handshake deadline in seconds: ``$LUTE_IPC_HANDSHAKE_TIMEOUT`` or the default.

    Raises:
        ConfigurationError: The variable is set to something other than a
            positive number.
    """
    return env_number(env, ENV_HANDSHAKE_TIMEOUT, HANDSHAKE_TIMEOUT_S)


class Connection:
    """One accepted connection, from the challenge to its close.

    Args:
        sock: The accepted socket; made non-blocking here.
        key: The run's secret.
        name: For log messages (``socket connection 3``).
        deadline: ``time.monotonic()`` by which the handshake must be done.

    Raises:
        OSError: The challenge could not be sent (the peer is already gone).
    """

    def __init__(self, sock: socket.socket, key: bytes, name: str, deadline: float) -> None:
        self.sock = sock
        self.name = name
        self.deadline = deadline
        self._key = key
        self._challenge = secrets.token_bytes(CHALLENGE_SIZE)
        self._hello = bytearray()
        self._decoder: FrameDecoder | None = None
        self._unix = sock.family == socket.AF_UNIX
        self._chunk = bytearray()
        sock.setblocking(False)
        sock.sendall(self._challenge)

    @property
    def authenticated(self) -> bool:
        """Whether the peer has proved it holds the run's key."""
        return self._decoder is not None

    def pump(self) -> tuple[bool, list[Received]]:
        """Read what the socket holds; ``False`` once the peer has closed.

        Before the handshake at most the rest of the 32-byte answer is read,
        with no room for descriptors (the kernel discards any that were sent),
        so an unauthenticated peer cannot make the Executor buffer or hold
        anything. Afterwards a Unix-socket connection is read with room for
        the descriptors of one frame.

        Raises:
            BlockingIOError: Nothing to read after all.
            ProtocolError: The peer broke the protocol.
        """
        decoder = self._decoder
        if decoder is None:
            data = self.sock.recv(MAC_SIZE - len(self._hello))
            if not data:
                return False, []
            self._hello += data
            if len(self._hello) == MAC_SIZE:
                expected = handshake_answer(self._key, self._challenge)
                if not hmac.compare_digest(expected, bytes(self._hello)):
                    raise ProtocolError(f"{self.name}: handshake failed authentication")
                self.sock.sendall(handshake_welcome(self._key, self._challenge))
                self._chunk = bytearray(_READ_CHUNK)
                self._decoder = FrameDecoder(
                    self._key, self._challenge, self.name, text=False, mac=not self._unix
                )
            return True, []
        space = decoder.payload_space()
        target = space if space is not None else memoryview(self._chunk)
        size, descriptors = self._receive(target)
        if size == 0:
            close_all(descriptors)
            return False, []
        if space is not None:
            return True, decoder.payload_received(size, descriptors)
        with target[:size] as data:
            return True, decoder.feed(data, descriptors)

    def _receive(self, target: memoryview) -> tuple[int, list[int]]:
        """Read into ``target``; on a Unix socket, with the descriptors that came along.

        Descriptors are received close-on-exec. If more came than one frame
        may carry, the kernel could not hand them all over: those that came
        are closed, and the frame they belong to is reported as undecodable.
        """
        if not self._unix:
            return self.sock.recv_into(target), []
        size, ancillary, flags, _ = self.sock.recvmsg_into(
            [target], _ANCILLARY_SPACE, socket.MSG_CMSG_CLOEXEC
        )
        descriptors: list[int] = []
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                descriptors.extend(array.array("i", data[: len(data) - len(data) % _FD_SIZE]))
        if flags & socket.MSG_CTRUNC:
            logger.warning(
                "%s: more descriptors than one message may carry (%d); refused",
                self.name,
                MAX_DESCRIPTORS,
            )
            close_all(descriptors)
            descriptors = []
        return size, descriptors

    def close(self) -> None:
        """Close the socket; a frame cut short is logged by the decoder."""
        if self._decoder is not None:
            self._decoder.close()
        self.sock.close()


class RefusalLog:
    """Says why connections were refused, without letting a flood flood the log.

    The first ``limit`` refusals are logged one by one, then one line says
    that the rest are only counted; ``summary()`` gives the count per reason.

    Args:
        limit: How many refusals to log one by one.
    """

    def __init__(self, limit: int = REFUSALS_LOGGED) -> None:
        self._limit = limit
        self.counts: Counter[str] = Counter()

    @property
    def total(self) -> int:
        """Refusals so far, of every reason."""
        return sum(self.counts.values())

    def note(self, reason: str, text: str) -> None:
        """Count a refusal under ``reason``; log ``text`` while within the limit."""
        self.counts[reason] += 1
        total = self.total
        if total <= self._limit:
            logger.warning("%s", text)
        elif total == self._limit + 1:
            logger.warning(
                "socket: more than %d connections refused; counting the rest "
                "(a summary follows when the run ends)",
                self._limit,
            )

    def summary(self) -> None:
        """Log the totals, if some refusals were only counted."""
        if self.total <= self._limit:
            return
        reasons = ", ".join(f"{count} {reason}" for reason, count in self.counts.most_common())
        logger.warning(
            "socket: %d refusals in all (%s); only the first %d were logged",
            self.total,
            reasons,
            self._limit,
        )
