"""Reading frames back: the bytes (and descriptors) of one channel, in any pieces, to items.

The wire format is in ``lute.ipc.frames``. This is the receiving half: it
finds frames among text on a pipe, checks MACs where the channel has them,
collects a large frame straight into one uninitialised block of its size,
matches the descriptors that came with a read to the frame they belong to,
and turns each frame into a ``Message`` (or a ``DecodeFailure``).
"""

from __future__ import annotations

import hmac
import logging
import mmap
import traceback

from lute.core.exceptions import ProtocolError
from lute.ipc.frames import (
    HEADER_SIZE,
    MAC_SIZE,
    MAGIC,
    MAX_FRAME,
    NO_BUFFERS,
    Table,
    new_mac,
    plain_message,
    read_header,
    read_table,
    unpickle,
)
from lute.ipc.handover import HANDOVER_MIN, HandoverRefused, close_all, map_descriptor
from lute.ipc.message import DecodeFailure, Message, Received, TextLine

logger = logging.getLogger(__name__)

MAX_TEXT_LINE = 64 * 1024
"""Text without a newline is logged in pieces of at most this many bytes."""


def _uninitialised(size: int) -> bytearray | mmap.mmap:
    """A writable block of ``size`` bytes that nobody fills with zeros first.

    ``bytearray(n)`` writes n zeros before the socket overwrites them; an
    anonymous mapping costs only the kernel's page faults as the data lands.
    Small blocks are cheaper as a bytearray.
    """
    if size < HANDOVER_MIN:
        return bytearray(size)
    return mmap.mmap(-1, size)


class FrameDecoder:
    """Turns the bytes of one channel, fed in any pieces, into items.

    On a pipe (``text=True``) the items are ``TextLine`` and ``Message``
    objects; on a socket (``text=False``) only ``Message`` objects, and any
    byte that is not part of a valid frame raises ``ProtocolError``. On
    either, an authenticated frame that cannot be unpickled into a
    ``Message`` is a ``DecodeFailure`` item: it never raises, so neither the
    items decoded with it nor the frames after it are lost.

    On a socket, once a frame's header has arrived its payload (and MAC)
    are collected in one block of the announced size, hashed piece by piece
    as they arrive when there is a MAC; ``payload_space`` exposes the
    unfilled part so the reader can receive into it without intermediate
    copies.

    Args:
        key: The run's secret.
        context: Channel binding (see ``lute.ipc.frames``).
        stream: Name used for text lines and log messages.
        text: Whether bytes outside frames are legitimate text.
        mac: Whether frames carry a MAC: on pipes and TCP; not on an
            authenticated Unix-socket connection, which alone may carry
            descriptors.
    """

    def __init__(
        self, key: bytes, context: bytes, stream: str, text: bool, *, mac: bool = True
    ) -> None:
        if text and not mac:
            raise ValueError("frames among text must carry a MAC")
        self._key = key
        self._context = context
        self._stream = stream
        self._text = text
        self._trailer = MAC_SIZE if mac else 0
        self._buf = bytearray()
        self._seq = 0
        self._block: bytearray | mmap.mmap | None = None
        self._length = 0
        self._filled = 0
        self._hashed = 0
        self._digest: hmac.HMAC | None = None
        self._offset = 0
        self._frame_start = 0
        self._fds: list[int] = []
        self._fds_from = self._fds_to = 0
        self.frames_rejected = 0

    def payload_space(self) -> memoryview | None:
        """The unfilled part of the frame being received, if any."""
        if self._block is None:
            return None
        return memoryview(self._block)[self._filled :]

    def payload_received(self, size: int, descriptors: list[int] | None = None) -> list[Received]:
        """Account for ``size`` bytes written into ``payload_space()``, and descriptors read."""
        self._arrived(size, descriptors)
        items = self._block_filled(size)
        items.extend(self._unclaimed())
        return items

    def feed(
        self, data: bytes | bytearray | memoryview, descriptors: list[int] | None = None
    ) -> list[Received]:
        """Add bytes read from the channel (and the descriptors that came with them).

        ``data`` may be reused by the caller once this returns: nothing keeps
        a reference to it.

        Returns:
            Every item completed by them.
        """
        self._arrived(len(data), descriptors)
        items: list[Received] = []
        space = self.payload_space()
        if space is not None:
            taken = min(len(space), len(data))
            space[:taken] = data[:taken]
            space.release()
            data = data[taken:]
            items.extend(self._block_filled(taken))
        if self._text:
            self._buf += data
            self._scan_text(items)
        elif data:
            self._scan_frames(data, items)
        items.extend(self._unclaimed())
        return items

    def _scan_frames(self, data: bytes | bytearray | memoryview, items: list[Received]) -> None:
        """Frames back to back (a socket): decode them where they lie, keep only a cut tail.

        A frame cut short by the end of ``data`` goes on in a block of its
        own size, or, while even its header is incomplete, in ``_buf``.
        """
        if self._buf:
            self._buf += data
            source: bytes | bytearray | memoryview = self._buf
        else:
            source = data
        base = self._offset - len(source)
        with memoryview(source) as view:
            size, position = len(view), 0
            while size - position >= HEADER_SIZE:
                if view[position : position + len(MAGIC)] != MAGIC:
                    raise ProtocolError(f"{self._stream}: data outside a frame")
                length = read_header(view, position)
                if length > MAX_FRAME:
                    raise ProtocolError(
                        f"{self._stream}: frame of {length} bytes exceeds {MAX_FRAME}"
                    )
                end = position + HEADER_SIZE + length + self._trailer
                if end > size:
                    self._receive_into_block(
                        length, base + position, view[position + HEADER_SIZE : size]
                    )
                    position = size
                    break
                message = self._open(
                    view[position + HEADER_SIZE : end - self._trailer],
                    bytes(view[end - self._trailer : end]),
                    None,
                    base + position,
                    borrowed=True,
                )
                if message is not None:
                    items.append(message)
                position = end
            rest = bytes(view[position:])
        if not MAGIC.startswith(rest[: len(MAGIC)]):
            raise ProtocolError(f"{self._stream}: data outside a frame")
        self._buf = bytearray(rest)

    def _scan_text(self, items: list[Received]) -> None:
        """Text with frames embedded (a pipe): lines and frames in the order they came."""
        while self._buf:
            start = self._buf.find(MAGIC)
            if start != 0:
                if not self._emit_text(items, start):
                    break
                continue
            if len(self._buf) < HEADER_SIZE:
                break
            length = read_header(self._buf)
            if length > MAX_FRAME:
                self._take_text(items, len(MAGIC))
                continue
            end = HEADER_SIZE + length + self._trailer
            if len(self._buf) < end:
                break
            message = self._open(
                self._buf[HEADER_SIZE : end - self._trailer],
                bytes(self._buf[end - self._trailer : end]),
                None,
                self._offset - len(self._buf),
            )
            if message is None:
                self._take_text(items, len(MAGIC))
                continue
            del self._buf[:end]
            items.append(message)

    def close(self) -> list[TextLine]:
        """End of stream: whatever is left is text (pipes) and never dropped."""
        items: list[Received] = []
        if self._buf and self._text:
            self._take_text(items, len(self._buf))
        elif self._buf or self._block is not None:
            logger.warning("%s: connection closed inside a frame", self._stream)
            self._buf.clear()
            self._block = self._digest = None
        close_all(self._fds)
        self._fds = []
        return [item for item in items if isinstance(item, TextLine)]

    def _arrived(self, size: int, descriptors: list[int] | None) -> None:
        """Count ``size`` more bytes; descriptors belong to a frame that begins among them."""
        start = self._offset
        self._offset += size
        if not descriptors:
            return
        if self._fds or self._trailer:
            stale, self._fds = [*self._fds, *descriptors], []
            close_all(stale)
            raise ProtocolError(f"{self._stream}: descriptors outside the frame they belong to")
        self._fds = list(descriptors)
        self._fds_from, self._fds_to = start, start + size

    def _claim(self, frame_start: int) -> list[int]:
        """The descriptors that came with the read where this frame began."""
        if self._fds and self._fds_from <= frame_start < self._fds_to:
            fds, self._fds = self._fds, []
            return fds
        return []

    def _unclaimed(self) -> list[Received]:
        """Close descriptors no frame can claim any more, and say so."""
        if not self._fds:
            return []
        current = self._frame_start if self._block is not None else self._offset - len(self._buf)
        if current < self._fds_to:
            return []  # the frame that began with them is still coming in
        fds, self._fds = self._fds, []
        close_all(fds)
        return [
            DecodeFailure(
                self._stream,
                self._seq - 1,
                f"ProtocolError: {len(fds)} descriptor(s) came with no message that "
                "declares them; they were closed",
            )
        ]

    def _block_filled(self, size: int) -> list[Received]:
        """``size`` more bytes are in the block: hash them, and open the frame once whole."""
        if self._block is None:
            return []
        self._filled += size
        if self._digest is not None:
            hash_to = min(self._filled, self._length)
            if hash_to > self._hashed:
                with memoryview(self._block) as view:
                    self._digest.update(view[self._hashed : hash_to])
                self._hashed = hash_to
        if self._filled < len(self._block):
            return []
        block, digest, length = self._block, self._digest, self._length
        self._block = self._digest = None
        message = self._open(
            memoryview(block)[:length], bytes(block[length:]), digest, self._frame_start
        )
        return [message] if message is not None else []

    def _receive_into_block(self, length: int, frame_start: int, received: memoryview) -> None:
        """Collect the current frame, of which ``received`` came, in a block of its own size."""
        self._block = _uninitialised(length + self._trailer)
        self._length = length
        self._frame_start = frame_start
        self._filled = self._hashed = 0
        self._digest = new_mac(self._key, self._context, self._seq) if self._trailer else None
        self._block[: len(received)] = received
        self._block_filled(len(received))

    def _open(
        self,
        payload: bytes | bytearray | memoryview,
        mac: bytes,
        digest: hmac.HMAC | None,
        frame_start: int,
        *,
        borrowed: bool = False,
    ) -> Message | DecodeFailure | None:
        """Check ``mac`` (``digest`` if already fed the payload), then unpickle.

        A ``borrowed`` payload is a view of memory that will be reused: it is
        copied first if objects rebuilt from it would point into it.

        Returns:
            The message; a ``DecodeFailure`` if the authenticated payload is not
            one; ``None`` for frame-like text on a pipe that failed its MAC.
        """
        if self._trailer:
            if digest is None:
                digest = new_mac(self._key, self._context, self._seq)
                digest.update(payload)
            if not hmac.compare_digest(digest.digest(), mac):
                self.frames_rejected += 1
                if self._text:
                    logger.debug("%s: frame-like bytes failed authentication", self._stream)
                    return None
                raise ProtocolError(f"{self._stream}: frame failed authentication")
        seq = self._seq
        self._seq += 1
        view = payload if type(payload) is memoryview else memoryview(payload)
        try:
            if view[: len(NO_BUFFERS)] == NO_BUFFERS:
                message = plain_message(view[len(NO_BUFFERS) :])
            else:
                table = read_table(view, self._stream)
                message = self._rebuild(view, table, frame_start, borrowed)
        except Exception as err:  # anything unpickling runs may raise; the Task's own bug
            return DecodeFailure(
                self._stream,
                seq,
                f"{type(err).__name__}: {err}",
                "".join(traceback.format_exception(err)),
            )
        finally:
            if borrowed:
                view.release()
        return message

    def _rebuild(self, view: memoryview, table: Table, frame_start: int, borrowed: bool) -> Message:
        """Unpickle a payload with buffers: inline ones in it, the others handed over."""
        if borrowed and table.has_inline():
            view = memoryview(bytearray(view))
        sizes = table.descriptor_sizes()
        fds = self._claim(frame_start) if sizes else []
        try:
            return unpickle(view, table, self._map(fds, sizes))
        finally:
            close_all(fds)

    def _map(self, fds: list[int], sizes: list[int]) -> list[mmap.mmap]:
        """Check and map each descriptor a frame declares (they are closed by the caller)."""
        if sizes and self._trailer:
            raise HandoverRefused("descriptors cannot travel on this channel")
        if len(fds) != len(sizes):
            raise HandoverRefused(
                f"the frame declares {len(sizes)} descriptor(s) and {len(fds)} came with it"
            )
        mapped = []
        for index, (fd, size) in enumerate(zip(fds, sizes, strict=True)):
            try:
                mapped.append(map_descriptor(fd, size))
            except HandoverRefused as err:
                raise HandoverRefused(f"descriptor {index} refused: {err}") from None
        return mapped

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
