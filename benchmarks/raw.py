"""The floors of the message and bulk benchmarks: two processes and a bare Unix socket.

Run as ``python -m benchmarks.raw ROLE FD COUNT [MIB or RATE]``; ``ROLE`` is
``messages-send``, ``messages-recv``, ``bulk-send``, ``bulk-recv`` (or
``bulk-reuse-send``, ``bulk-reuse-recv``), ``FD`` one
end of a connected Unix stream socket. Receivers print their findings as JSON.

What the floor does is what lute's channel cannot avoid doing:

* messages: the sender pickles each ``(index, CLOCK_MONOTONIC ns)`` and sends
  it with a 4-byte length, one ``send`` per message; the receiver reads what
  is there, splits, unpickles and takes the time. No MAC, no dispatch.
* bulk: the sender's arrays are resident before the clock starts; each goes
  out with one ``sendall`` after an 8-byte length (the first also carries the
  start time); the receiver reads each into fresh uninitialised memory (an
  anonymous mapping: on the benchmark machine the cheapest kind, faster than
  ``numpy.empty``'s huge pages), as a receiver that hands out a new array per
  message must (``bulk``), or all into one buffer made resident before the
  clock starts (``bulk-reuse``): bytes moved, nothing handed out.

The receiver says "ready" before the sender starts, so neither measures the
other's start-up.
"""

from __future__ import annotations

import json
import mmap
import pickle
import socket
import struct
import sys
import time

_LENGTH = struct.Struct("!I")
BURST = 10
"""As ``BenchMessages``: paced messages leave in bursts of this many."""
_BULK = struct.Struct("!QQ")


def messages_send(sock: socket.socket, count: int, rate: float) -> None:
    """Send as ``BenchMessages`` does: as fast as possible, or in paced bursts."""
    sock.recv(1)
    clock, dumps, send, pack = time.monotonic_ns, pickle.dumps, sock.sendall, _LENGTH.pack
    burst = BURST if rate else count
    period = burst * 1e9 / rate if rate else 0.0
    start = clock()
    for first in range(0, count, burst):
        early = start + first // burst * period - clock()
        if early > 0:
            time.sleep(early / 1e9)
        for index in range(first, min(first + burst, count)):
            data = dumps((index, clock()), protocol=5)
            send(pack(len(data)) + data)


def messages_recv(sock: socket.socket, count: int) -> dict[str, object]:
    sock.sendall(b"r")
    clock, loads, size = time.monotonic_ns, pickle.loads, _LENGTH.size
    latencies: list[int] = []
    first_sent = last_seen = 0
    expected = 0
    buffer = b""
    while expected < count:
        chunk = sock.recv(1024 * 1024)
        if not chunk:
            break
        buffer += chunk
        offset = 0
        view = memoryview(buffer)
        while len(buffer) - offset >= size:
            (length,) = _LENGTH.unpack_from(buffer, offset)
            if len(buffer) - offset - size < length:
                break
            index, sent = loads(view[offset + size : offset + size + length])
            now = clock()
            if index != expected:
                raise SystemExit(f"message {index} arrived when {expected} was expected")
            if index == 0:
                first_sent = sent
            latencies.append(now - sent)
            last_seen = now
            expected += 1
            offset += size + length
        view.release()
        buffer = buffer[offset:]
    return {
        "received": expected,
        "first_sent": first_sent,
        "last_seen": last_seen,
        "latencies_ns": latencies,
    }


def bulk_send(sock: socket.socket, count: int, mib: int) -> None:
    import numpy as np

    length = mib * 1024 * 1024 // 8
    arrays = [np.arange(length, dtype=np.float64) + k for k in range(count)]
    sock.recv(1)
    start = time.monotonic_ns()
    for array in arrays:
        sock.sendall(_BULK.pack(array.nbytes, start))
        sock.sendall(memoryview(array).cast("B"))


def bulk_recv(sock: socket.socket, count: int, mib: int, reuse: bool) -> dict[str, object]:
    """Receive ``count`` arrays: each into a fresh buffer, or all into one made resident first."""
    import numpy as np

    resident = np.ones(mib * 1024 * 1024, dtype=np.uint8) if reuse else None
    sock.sendall(b"r")
    start = 0
    for _ in range(count):
        header = _recv_exactly(sock, _BULK.size)
        nbytes, start = _BULK.unpack(header)
        buffer = resident if resident is not None else mmap.mmap(-1, nbytes)
        view = memoryview(buffer)
        filled = 0
        while filled < nbytes:
            got = sock.recv_into(view[filled:])
            if got == 0:
                raise SystemExit("sender closed early")
            filled += got
        view.release()
    end = time.monotonic_ns()
    return {"bytes": count * mib * 1024 * 1024, "start": start, "end": end}


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise SystemExit("sender closed early")
        data += chunk
    return data


def main(argv: list[str]) -> None:
    role, fd, count = argv[0], int(argv[1]), int(argv[2])
    sock = socket.socket(fileno=fd)
    if role == "messages-send":
        messages_send(sock, count, float(argv[3]))
    elif role == "messages-recv":
        print(json.dumps(messages_recv(sock, count)))
    elif role in ("bulk-send", "bulk-reuse-send"):
        bulk_send(sock, count, int(argv[3]))
    elif role in ("bulk-recv", "bulk-reuse-recv"):
        print(json.dumps(bulk_recv(sock, count, int(argv[3]), role == "bulk-reuse-recv")))
    else:
        raise SystemExit(f"unknown role {role}")
    sock.close()


if __name__ == "__main__":
    main(sys.argv[1:])
