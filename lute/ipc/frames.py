r"""Messages between a Task and its Executor, and the channels that carry them.

Wire protocol
=============

Every lute message travels as one *frame*::

    offset  size  field
    0       6     MAGIC    b"\x00LUTE\x02"  (finds a frame inside a text stream)
    6       8     LENGTH   unsigned big-endian size of PAYLOAD
    14      N     PAYLOAD  COUNT (4) | COUNT entries (KIND 1, SIZE 8) | pickle | inline buffers
    14+N    32    MAC      HMAC-SHA256(KEY, CONTEXT || SEQ || PAYLOAD)   (pipes and TCP only)

* PAYLOAD is a ``Message`` as the pair ``(signal, contents)``, pickled with
  protocol 5 (a pair of builtins unpickles ten times faster than a class
  instance; the receiver builds the ``Message``, which checks the signal).
  Large contiguous buffers (numpy arrays, bytes) travel out of band, each
  described by an entry:

  - KIND 0, *inline*: its SIZE bytes follow the pickle stream, in entry
    order; the receiver reads them straight into the block that holds the
    frame, so they are neither copied into the stream when sent nor out of
    it when received.
  - KIND 1, *descriptor* (Unix socket only): its SIZE bytes are in a sealed
    memfd sent with the frame (``SCM_RIGHTS``); the n-th descriptor entry is
    the n-th descriptor. A frame carries at most ``MAX_DESCRIPTORS``. What
    the receiver checks before it maps one is in ``lute.ipc.handover``.

* The MAC, on pipes and TCP, trails the payload so both ends hash while the
  bytes are in flight: the sender as it writes, the receiver as each piece
  arrives. KEY is 32 random bytes the Executor makes for each run and hands
  to the child, hex-encoded, in ``LUTE_IPC_KEY``; it never appears on any
  channel. SEQ is the frame's 8-byte big-endian index on its channel,
  starting at 0, so frames cannot be replayed, dropped or reordered unseen.
  CONTEXT binds a frame to its channel: the connection's challenge on TCP,
  ``b"stdout"`` or ``b"stderr"`` on a pipe.

* On a Unix-socket connection, frames carry **no MAC**. The handshake
  (below) proves that the process which connected holds the key, and from
  then on only a process holding the connected descriptor can write into
  that connection: the Task's, which is not inherited by programs it
  ``exec``\s. A stream socket inside one kernel delivers each byte once and
  in order, with nobody in between, so a per-frame MAC would protect
  against no one the key protects against (docs/ipc.md, threat model). On
  a pipe, other writers share the stream (a third-party program, the
  Task's children), and on TCP the network is in between: there the MAC
  stays.

* Descriptors go out with the first bytes of their frame, in one
  ``sendmsg``. The kernel hands them over with the read that returns the
  first byte of that send, and never returns the descriptors of two sends
  in one read. So the descriptors that come with a read belong to the frame
  that begins in that read and declares descriptors; any other count is a
  broken frame.

Socket channel (the normal path; one persistent connection per process):

1. The Executor creates a directory only its user can enter (mode 0700),
   listens on ``<dir>/executor.sock`` and gives the path in ``LUTE_SOCKET``.
2. On accepting a connection it sends CHALLENGE, 32 random bytes.
3. The Task answers HMAC-SHA256(KEY, b"lute-hello" || CHALLENGE). The
   Executor reads at most 32 bytes, without room for descriptors (the kernel
   discards any sent), before checking it with ``hmac.compare_digest``; a
   wrong answer closes the connection.
4. The Executor confirms with HMAC-SHA256(KEY, b"lute-welcome" || CHALLENGE),
   and the Task checks it before sending anything. So a Task whose
   connection was closed unanswered (see ``lute.ipc.admission``) learns it
   here rather than taking the close for the Executor's end, and a Task
   only ever talks to an Executor that holds the key. The Executor writes
   nothing more on the connection.
5. The Task sends frames. The Executor checks LENGTH against ``MAX_FRAME``
   as soon as the header arrives, and on TCP the MAC before anything is
   unpickled; any violation is logged and closes that connection (the
   Task's own connection is unaffected).

An authenticated frame whose contents cannot be unpickled into a ``Message``
(an object that raises while being rebuilt, a module the Executor cannot
import, a descriptor that fails its checks) comes from the Task itself and
its bounds are sound: it becomes a ``DecodeFailure`` item, the channel
carries on, and the Executor records the failure with the run. How many
connections may wait for step 3, and for how long, is in
``lute.ipc.admission``; how frames are read back, in ``lute.ipc.decoder``.

Pipe channel (stdout/stderr): these carry the child's ordinary text, which is
logged line by line. A Task without a socket may embed frames in its stdout;
bytes outside frames, and anything that looks like a frame but fails its MAC,
are text and are logged as such, never dropped.
"""

from __future__ import annotations

import array
import hashlib
import hmac
import pickle
import secrets
import socket
import struct
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from lute.core.exceptions import ProtocolError
from lute.ipc.handover import HANDOVER_MIN, MAX_DESCRIPTORS, Handover, close_all
from lute.ipc.message import Message

MAGIC = b"\x00LUTE\x02"
_HEADER = struct.Struct(f"!{len(MAGIC)}sQ")
_COUNT = struct.Struct("!I")
_ENTRY = struct.Struct("!BQ")
HEADER_SIZE = _HEADER.size
MAC_SIZE = 32
INLINE = 0
DESCRIPTOR = 1
NO_BUFFERS = _COUNT.pack(0)
"""The start of a payload without buffers: most messages."""
_HASH_CHUNK = 1024 * 1024
_ONE_WRITE = 64 * 1024
"""Frames up to this size are written with one call: a call costs more than a copy."""
CHALLENGE_SIZE = 32
MAX_FRAME = 8 * 1024**3
"""Largest payload, and largest handed-over buffer, accepted (8 GiB)."""

ENV_SOCKET = "LUTE_SOCKET"
ENV_KEY = "LUTE_IPC_KEY"
TCP_PREFIX = "tcp://"
_HELLO = b"lute-hello"
_WELCOME = b"lute-welcome"


def new_key() -> bytes:
    """Return a fresh per-run secret."""
    return secrets.token_bytes(32)


def new_mac(key: bytes, context: bytes, seq: int) -> hmac.HMAC:
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


def frame_header(length: int) -> bytes:
    """MAGIC and LENGTH of a frame whose payload is ``length`` bytes."""
    return _HEADER.pack(MAGIC, length)


def read_header(data: bytes | bytearray | memoryview, offset: int = 0) -> int:
    """LENGTH of the frame whose header starts at ``offset`` (MAGIC already matched)."""
    return _HEADER.unpack_from(data, offset)[1]


def payload_head(entries: Sequence[tuple[int, int]], stream: bytes) -> bytes:
    """COUNT, the ``(KIND, SIZE)`` entries and the pickle stream: PAYLOAD up to the buffers."""
    table = b"".join(_ENTRY.pack(kind, size) for kind, size in entries)
    return _COUNT.pack(len(entries)) + table + stream


class Payload:
    """A message ready to send: the head, the inline buffers, the descriptors.

    Attributes:
        head: COUNT, entries and the pickle stream.
        inline: The inline buffers, uncopied, in entry order.
        descriptors: Sealed memfds holding the descriptor buffers, in entry order.
        length: LENGTH: the bytes that travel in the frame.
    """

    __slots__ = ("_entries", "_handover", "descriptors", "head", "inline", "length")

    def __init__(self, handover: Handover | None) -> None:
        self._handover = handover
        self._entries: list[tuple[int, int]] = []
        self.head = b""
        self.inline: list[memoryview] = []
        self.descriptors: list[int] = []
        self.length = 0

    def take(self, buffer: pickle.PickleBuffer) -> bool:
        """Pickle's ``buffer_callback``: keep a buffer out of band; ``True`` keeps it in-band.

        A non-contiguous buffer stays in-band (pickle copies it). One of at
        least ``HANDOVER_MIN`` bytes goes into a sealed memfd while the
        hand-over allows, at most ``MAX_DESCRIPTORS``; the others are inline.
        """
        try:
            view = buffer.raw()
        except BufferError:
            return True
        handover = self._handover
        if (
            handover is not None
            and view.nbytes >= HANDOVER_MIN
            and len(self.descriptors) < MAX_DESCRIPTORS
        ):
            fd = handover.seal(view)
            if fd is not None:
                self.descriptors.append(fd)
                self._entries.append((DESCRIPTOR, view.nbytes))
                return False
        self.inline.append(view)
        self._entries.append((INLINE, view.nbytes))
        return False

    def finish(self, stream: bytes) -> None:
        """Complete the head with the pickle stream."""
        self.head = payload_head(self._entries, stream) if self._entries else NO_BUFFERS + stream
        self.length = len(self.head) + sum(buffer.nbytes for buffer in self.inline)

    def close(self) -> None:
        """Close the descriptors (once sent, the receiver holds its own)."""
        close_all(self.descriptors)
        self.descriptors = []


def serialise(msg: Message, handover: Handover | None = None) -> Payload:
    """``msg`` as a payload; large buffers handed over when ``handover`` can.

    Pickle protocol 5 hands contiguous buffers (numpy arrays, bytes) to a
    callback instead of copying them into the stream (see ``Payload.take``).
    Anything but a ``Message`` is pickled as it is, which no receiver takes
    for a message: tests make broken frames that way.
    """
    payload = Payload(handover)
    sent = (msg.signal, msg.contents) if isinstance(msg, Message) else msg
    try:
        payload.finish(pickle.dumps(sent, protocol=5, buffer_callback=payload.take))
    except BaseException:
        payload.close()
        raise
    return payload


class Table(NamedTuple):
    """The entries of a received payload and where its pickle stream lies."""

    entries: list[tuple[int, int]]
    stream_start: int
    stream_end: int

    def descriptor_sizes(self) -> list[int]:
        """SIZE of each descriptor entry, in order."""
        return [size for kind, size in self.entries if kind == DESCRIPTOR]

    def has_inline(self) -> bool:
        """Whether buffers lie in the payload (the objects rebuilt will point into it)."""
        return any(kind == INLINE for kind, _ in self.entries)


def read_table(payload: memoryview, where: str) -> Table:
    """Parse COUNT and the entries, and check that they fit the payload.

    Raises:
        ProtocolError: The table is cut short, names an unknown kind, or its
            inline buffers do not fit.
    """
    if len(payload) < _COUNT.size:
        raise ProtocolError(f"{where}: frame payload too short")
    (count,) = _COUNT.unpack_from(payload)
    offset = _COUNT.size
    if count == 0:  # most messages: no buffers, nothing more to check
        return Table([], offset, len(payload))
    if len(payload) < offset + count * _ENTRY.size:
        raise ProtocolError(f"{where}: frame payload too short for {count} buffers")
    entries = []
    for _ in range(count):
        kind, size = _ENTRY.unpack_from(payload, offset)
        if kind not in (INLINE, DESCRIPTOR) or size > MAX_FRAME:
            raise ProtocolError(f"{where}: buffer entry ({kind}, {size}) is not valid")
        entries.append((kind, size))
        offset += _ENTRY.size
    inline = sum(size for kind, size in entries if kind == INLINE)
    stream_end = len(payload) - inline
    if stream_end < offset:
        raise ProtocolError(f"{where}: frame buffers exceed the frame")
    return Table(entries, offset, stream_end)


def unpickle(payload: memoryview, table: Table, mapped: Sequence[Any]) -> Message:
    """Rebuild the message; inline buffers are views of ``payload``, the others ``mapped``.

    Raises:
        ProtocolError: The payload holds something other than a message.
        Exception: Whatever unpickling its contents raised.
    """
    if not table.entries:
        return plain_message(payload[table.stream_start :])
    buffers: list[Any] = []
    position = table.stream_end
    handed = iter(mapped)
    for kind, size in table.entries:
        if kind == INLINE:
            buffers.append(payload[position : position + size])
            position += size
        else:
            buffers.append(next(handed))
    return _message(pickle.loads(payload[table.stream_start : table.stream_end], buffers=buffers))


def plain_message(stream: memoryview) -> Message:
    """The message of a payload without buffers, from its pickle stream."""
    return _message(pickle.loads(stream))


def _message(pair: Any) -> Message:
    """The ``Message`` a payload's ``(signal, contents)`` pair stands for."""
    if type(pair) is not tuple or len(pair) != 2:
        raise ProtocolError(f"the frame holds {type(pair).__name__}, not a message")
    signal, contents = pair
    if signal is not None and type(signal) is not str:
        raise ProtocolError(f"the frame's signal is a {type(signal).__name__}, not a name")
    return Message(contents, signal)


def write_frame(
    write: Callable[[bytes | memoryview], Any],
    key: bytes,
    context: bytes,
    seq: int,
    msg: Message,
) -> None:
    """Send ``msg`` as frame number ``seq`` of a MAC'd channel (pipe, TCP) through ``write``.

    A small frame is written with one call. A large one is written in
    slices of the buffers' own memory, each hashed just before it is
    written, and the MAC follows the last one.
    """
    payload = serialise(msg)
    mac = new_mac(key, context, seq)
    parts = [payload.head, *payload.inline]
    header = frame_header(payload.length)
    if payload.length <= _ONE_WRITE:
        body = b"".join(parts)
        mac.update(body)
        write(header + body + mac.digest())
        return
    write(header)
    for part in parts:
        view = memoryview(part).cast("B")
        for start in range(0, len(view), _HASH_CHUNK):
            piece = view[start : start + _HASH_CHUNK]
            mac.update(piece)
            write(piece)
    write(mac.digest())


def send_frame(sock: socket.socket, msg: Message, handover: Handover | None) -> None:
    """Send ``msg`` as a frame on an authenticated Unix-socket connection (no MAC).

    Large buffers are handed over as sealed memfds when ``handover`` can;
    the descriptors go with the frame's first bytes, then are closed here.
    """
    payload = serialise(msg, handover)
    if not payload.inline and not payload.descriptors:
        sock.sendall(frame_header(payload.length) + payload.head)
        return
    try:
        first = frame_header(payload.length) + payload.head
        inline = payload.inline
        if payload.length <= _ONE_WRITE and inline:
            first = b"".join([first, *inline])
            inline = []
        if payload.descriptors:
            rights = array.array("i", payload.descriptors)
            sent = sock.sendmsg([first], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, rights)])
            first = first[sent:]
        if first:
            sock.sendall(first)
        for buffer in inline:
            sock.sendall(buffer)
    finally:
        payload.close()


def encode_frame(key: bytes, context: bytes, seq: int, msg: Message) -> bytes:
    """Frame ``seq`` of a MAC'd channel as one bytes object (for tests and tools)."""
    pieces: list[bytes | memoryview] = []
    write_frame(pieces.append, key, context, seq, msg)
    return b"".join(pieces)
