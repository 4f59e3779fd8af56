r"""Messages between a Task and its Executor, and the channels that carry them.

Wire protocol
=============

Every lute message travels as one *frame*::

    offset  size  field
    0       6     MAGIC    b"\x00LUTE\x01"  (finds a frame inside a text stream)
    6       8     LENGTH   unsigned big-endian size of PAYLOAD
    14      N     PAYLOAD  COUNT (4) | COUNT sizes (8 each) | pickle | buffers
    14+N    32    MAC      HMAC-SHA256(KEY, CONTEXT || SEQ || PAYLOAD)

* The MAC trails the payload so both ends hash while the bytes are in
  flight: the sender as it writes, the receiver as each piece arrives.

* PAYLOAD is a ``Message`` pickled with protocol 5: large contiguous buffers
  (numpy arrays, bytes) travel after the pickle stream, out of band, so they
  are neither copied into the stream when sent nor out of it when received.

* KEY is 32 random bytes the Executor makes for each run and hands to the
  child, hex-encoded, in ``LUTE_IPC_KEY``. It never appears on any channel.
* SEQ is the frame's 8-byte big-endian index on its connection or stream,
  starting at 0, so frames cannot be replayed, dropped or reordered unseen.
* CONTEXT binds a frame to its channel: the connection's challenge on a
  socket, ``b"stdout"`` or ``b"stderr"`` on a pipe.

Socket channel (the normal path; one persistent connection per process):

1. The Executor creates a directory only its user can enter (mode 0700),
   listens on ``<dir>/executor.sock`` and gives the path in ``LUTE_SOCKET``.
2. On accepting a connection it sends CHALLENGE, 32 random bytes.
3. The Task answers HMAC-SHA256(KEY, b"lute-hello" || CHALLENGE). The
   Executor reads at most 32 bytes before checking it with
   ``hmac.compare_digest``; a wrong answer closes the connection.
4. The Executor confirms with HMAC-SHA256(KEY, b"lute-welcome" || CHALLENGE),
   and the Task checks it before sending anything. So a Task whose
   connection was closed unanswered (see ``lute.ipc.admission``) learns it
   here rather than taking the close for the Executor's end, and a Task
   only ever talks to an Executor that holds the key. The Executor writes
   nothing more on the connection.
5. The Task sends frames. The Executor checks LENGTH against ``MAX_FRAME``
   as soon as the header arrives, and the MAC before anything is unpickled;
   any violation is logged and closes that connection (the Task's own
   connection is unaffected).

An authenticated frame whose contents cannot be unpickled into a ``Message``
(an object that raises while being rebuilt, a module the Executor cannot
import) comes from the Task itself and its bounds are sound: it becomes a
``DecodeFailure`` item, the channel carries on, and the Executor records the
failure with the run. How many connections may wait for step 3, and for
how long, is in ``lute.ipc.admission``.

Pipe channel (stdout/stderr): these carry the child's ordinary text, which is
logged line by line. A Task without a socket may embed frames in its stdout;
bytes outside frames, and anything that looks like a frame but fails its MAC,
are text and are logged as such, never dropped.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import pickle
import secrets
import struct
import traceback
from collections.abc import Callable
from typing import Any

from lute.core.exceptions import ProtocolError
from lute.ipc.message import DecodeFailure, Message, Received, TextLine

logger = logging.getLogger(__name__)

MAGIC = b"\x00LUTE\x01"
_HEADER = struct.Struct(f"!{len(MAGIC)}sQ")
_COUNT = struct.Struct("!I")
_SIZE = struct.Struct("!Q")
HEADER_SIZE = _HEADER.size
MAC_SIZE = 32
_HASH_CHUNK = 1024 * 1024
CHALLENGE_SIZE = 32
MAX_FRAME = 8 * 1024**3
"""Largest payload accepted (8 GiB): bounds what a bad peer can make us hold."""
MAX_TEXT_LINE = 64 * 1024
"""Text without a newline is logged in pieces of at most this many bytes."""

ENV_SOCKET = "LUTE_SOCKET"
ENV_KEY = "LUTE_IPC_KEY"
TCP_PREFIX = "tcp://"
_HELLO = b"lute-hello"
_WELCOME = b"lute-welcome"


def new_key() -> bytes:
    """Return a fresh per-run secret."""
    return secrets.token_bytes(32)


def _new_mac(key: bytes, context: bytes, seq: int) -> hmac.HMAC:
    """The MAC of frame ``seq`` on a channel, before any payload byte."""
    digest = hmac.new(key, context, hashlib.sha256)
    digest.update(seq.to_bytes(8, "big"))
    return digest


def handshake_answer(key: bytes, challenge: bytes) -> bytes:
    """What a Task must send back to prove it holds the run's key (step 3)."""
    return hmac.new(key, _HELLO + challenge, hashlib.sha256).digest()


def handshake_welcome(key: bytes, challenge: bytes) -> bytes:
    """What the Executor sends once the answer is right, proving it holds the key (step 4)."""
    return hmac.new(key, _WELCOME + challenge, hashlib.sha256).digest()


def _serialise(msg: Message) -> list[bytes | memoryview]:
    """PAYLOAD as parts: the pickle stream, then each large buffer uncopied.

    Pickle protocol 5 hands contiguous buffers (numpy arrays, bytes) to a
    callback instead of copying them into the stream; they are sent as they
    lie in memory, and received into one preallocated block.
    """
    buffers: list[memoryview] = []

    def out_of_band(buffer: pickle.PickleBuffer) -> bool:
        try:
            buffers.append(buffer.raw())
        except BufferError:
            return True  # not contiguous: let pickle copy it in-band
        return False

    stream = pickle.dumps(msg, protocol=5, buffer_callback=out_of_band)
    sizes = b"".join(_SIZE.pack(buffer.nbytes) for buffer in buffers)
    return [_COUNT.pack(len(buffers)) + sizes + stream, *buffers]


def _deserialise(payload: memoryview, where: str) -> Any:
    """Inverse of ``_serialise``; buffers become views of ``payload``."""
    if len(payload) < _COUNT.size:
        raise ProtocolError(f"{where}: frame payload too short")
    (count,) = _COUNT.unpack_from(payload)
    offset = _COUNT.size
    sizes = []
    for _ in range(count):
        if len(payload) < offset + _SIZE.size:
            raise ProtocolError(f"{where}: frame payload too short")
        sizes.append(_SIZE.unpack_from(payload, offset)[0])
        offset += _SIZE.size
    stream_end = len(payload) - sum(sizes)
    if stream_end < offset:
        raise ProtocolError(f"{where}: frame buffers exceed the frame")
    buffers = []
    position = stream_end
    for size in sizes:
        buffers.append(payload[position : position + size])
        position += size
    return pickle.loads(payload[offset:stream_end], buffers=buffers)


def write_frame(
    write: Callable[[bytes | memoryview], Any],
    key: bytes,
    context: bytes,
    seq: int,
    msg: Message,
) -> None:
    """Serialise ``msg`` as frame number ``seq`` of a channel through ``write``.

    Large buffers are passed to ``write`` in slices of their own memory, each
    hashed just before it is written, and the MAC follows the last one.
    """
    parts = _serialise(msg)
    length = sum(memoryview(part).nbytes for part in parts)
    mac = _new_mac(key, context, seq)
    write(_HEADER.pack(MAGIC, length))
    for part in parts:
        view = memoryview(part).cast("B")
        for start in range(0, len(view), _HASH_CHUNK):
            piece = view[start : start + _HASH_CHUNK]
            mac.update(piece)
            write(piece)
    write(mac.digest())


def encode_frame(key: bytes, context: bytes, seq: int, msg: Message) -> bytes:
    """Frame ``seq`` of a channel as one bytes object (for tests and tools)."""
    pieces: list[bytes | memoryview] = []
    write_frame(pieces.append, key, context, seq, msg)
    return b"".join(pieces)


class FrameDecoder:
    """Turns the bytes of one channel, fed in any pieces, into items.

    On a pipe (``text=True``) the items are ``TextLine`` and ``Message``
    objects; on a socket (``text=False``) only ``Message`` objects, and any
    byte that is not part of a valid frame raises ``ProtocolError``. On
    either, an authenticated frame that cannot be unpickled into a
    ``Message`` is a ``DecodeFailure`` item: it never raises, so neither the
    items decoded with it nor the frames after it are lost.

    On a socket, once a frame's header has arrived its payload and MAC are
    collected in one block of the announced size, hashed piece by piece as
    they arrive; ``payload_space`` exposes the unfilled part so the reader
    can ``recv_into`` it without intermediate copies.

    Args:
        key: The run's secret.
        context: Channel binding (see the module docstring).
        stream: Name used for text lines and log messages.
        text: Whether bytes outside frames are legitimate text.
    """

    def __init__(self, key: bytes, context: bytes, stream: str, text: bool) -> None:
        self._key = key
        self._context = context
        self._stream = stream
        self._text = text
        self._buf = bytearray()
        self._seq = 0
        self._block: bytearray | None = None
        self._length = 0
        self._filled = 0
        self._hashed = 0
        self._digest: hmac.HMAC | None = None
        self.frames_rejected = 0

    def payload_space(self) -> memoryview | None:
        """The unfilled part of the frame being received, if any."""
        if self._block is None:
            return None
        return memoryview(self._block)[self._filled :]

    def payload_received(self, size: int) -> list[Received]:
        """Account for ``size`` bytes written into ``payload_space()``."""
        if self._block is None or self._digest is None:
            return []
        self._filled += size
        hash_to = min(self._filled, self._length)
        if hash_to > self._hashed:
            with memoryview(self._block) as view:
                self._digest.update(view[self._hashed : hash_to])
            self._hashed = hash_to
        if self._filled < len(self._block):
            return []
        block, digest, length = self._block, self._digest, self._length
        self._block = self._digest = None
        message = self._open(memoryview(block)[:length], bytes(block[length:]), digest)
        return [message] if message is not None else []

    def feed(self, data: bytes | memoryview) -> list[Received]:
        """Add bytes read from the channel; return every complete item."""
        items: list[Received] = []
        space = self.payload_space()
        if space is not None:
            taken = min(len(space), len(data))
            space[:taken] = data[:taken]
            space.release()
            data = data[taken:]
            items.extend(self.payload_received(taken))
        self._buf += data
        while self._buf and self._block is None:
            start = self._buf.find(MAGIC) if self._text else 0
            if start != 0:
                if not self._emit_text(items, start):
                    break
                continue
            if not self._buf.startswith(MAGIC[: len(self._buf)]):
                raise ProtocolError(f"{self._stream}: data outside a frame")
            if len(self._buf) < HEADER_SIZE:
                break
            _, length = _HEADER.unpack_from(self._buf)
            if length > MAX_FRAME:
                if self._text:
                    self._take_text(items, len(MAGIC))
                    continue
                raise ProtocolError(f"{self._stream}: frame of {length} bytes exceeds {MAX_FRAME}")
            end = HEADER_SIZE + length + MAC_SIZE
            if not self._text and len(self._buf) < end:
                self._receive_into_block(length)
                break
            if len(self._buf) < end:
                break
            payload = bytes(self._buf[HEADER_SIZE : end - MAC_SIZE])
            message = self._open(payload, bytes(self._buf[end - MAC_SIZE : end]))
            if message is None:
                self._take_text(items, len(MAGIC))
                continue
            del self._buf[:end]
            items.append(message)
        return items

    def _receive_into_block(self, length: int) -> None:
        """Switch to collecting the current frame in a block of its own size."""
        self._block = bytearray(length + MAC_SIZE)
        self._length = length
        self._filled = self._hashed = 0
        self._digest = _new_mac(self._key, self._context, self._seq)
        received = self._buf[HEADER_SIZE:]
        self._buf.clear()
        self._block[: len(received)] = received
        self.payload_received(len(received))

    def close(self) -> list[TextLine]:
        """End of stream: whatever is left is text (pipes) and never dropped."""
        items: list[Received] = []
        if self._buf and self._text:
            self._take_text(items, len(self._buf))
        elif self._buf or self._block is not None:
            logger.warning("%s: connection closed inside a frame", self._stream)
            self._buf.clear()
            self._block = self._digest = None
        return [item for item in items if isinstance(item, TextLine)]

    def _open(
        self, payload: bytes | memoryview, mac: bytes, digest: hmac.HMAC | None = None
    ) -> Message | DecodeFailure | None:
        """Check ``mac`` (``digest`` if already fed the payload), then unpickle.

        Returns:
            The message; a ``DecodeFailure`` if the authenticated payload is not
            one; ``None`` for frame-like text on a pipe that failed its MAC.
        """
        if digest is None:
            digest = _new_mac(self._key, self._context, self._seq)
            digest.update(payload)
        if not hmac.compare_digest(digest.digest(), mac):
            self.frames_rejected += 1
            if self._text:
                logger.debug("%s: frame-like bytes failed authentication", self._stream)
                return None
            raise ProtocolError(f"{self._stream}: frame failed authentication")
        seq = self._seq
        self._seq += 1
        try:
            message = _deserialise(memoryview(payload), self._stream)
            if not isinstance(message, Message):
                raise ProtocolError(f"the frame holds {type(message).__name__}, not a Message")
        except Exception as err:  # anything unpickling runs may raise; the Task's own bug
            return DecodeFailure(
                self._stream,
                seq,
                f"{type(err).__name__}: {err}",
                "".join(traceback.format_exception(err)),
            )
        return message

    def _emit_text(self, items: list[Received], magic_at: int) -> bool:
        """Emit text before a frame (or all complete lines); False if stuck."""
        if magic_at > 0:
            self._take_text(items, magic_at)
            return True
        newline = self._buf.rfind(b"\n")
        keep = _partial_magic_suffix(self._buf)
        if newline != -1:
            self._take_text(items, newline + 1)
            return True
        if len(self._buf) - keep >= MAX_TEXT_LINE:
            self._take_text(items, len(self._buf) - keep)
            return True
        return False

    def _take_text(self, items: list[Received], size: int) -> None:
        chunk = bytes(self._buf[:size])
        del self._buf[:size]
        text = chunk.decode("utf-8", errors="backslashreplace")
        items.extend(TextLine(self._stream, line) for line in text.splitlines())


def _partial_magic_suffix(buf: bytearray) -> int:
    """Length of the longest tail of ``buf`` that could begin a MAGIC."""
    for size in range(min(len(MAGIC) - 1, len(buf)), 0, -1):
        if buf.endswith(MAGIC[:size]):
            return size
    return 0
