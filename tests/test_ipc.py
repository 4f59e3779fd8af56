"""The wire protocol: frames, text on pipes, authentication on the socket."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import pickle
import selectors
import socket
import stat
import struct
import threading

import numpy as np
import pytest

from lute.core.exceptions import ProtocolError
from lute.ipc import (
    CHALLENGE_SIZE,
    MAGIC,
    FrameDecoder,
    Message,
    SocketCommunicator,
    SocketWriter,
    TextLine,
    encode_frame,
    new_key,
)

KEY = b"k" * 32


def frame_bytes(msg: Message, seq: int = 0, context: bytes = b"stdout", key: bytes = KEY) -> bytes:
    return encode_frame(key, context, seq, msg)


def feed_in_pieces(decoder: FrameDecoder, data: bytes, size: int) -> list:
    items = []
    for start in range(0, len(data), size):
        items.extend(decoder.feed(data[start : start + size]))
    return items + list(decoder.close())


@pytest.mark.parametrize("piece", [1, 3, 7, 64, 10_000])
def test_text_and_frames_survive_any_split(piece):
    data = (
        b"plain line\npartial "
        + frame_bytes(Message("hello", "TASK_LOG"), 0)
        + b"after\n"
        + frame_bytes(Message({"x": 1}, "TASK_RESULT"), 1)
        + b"tail without newline"
    )
    items = feed_in_pieces(FrameDecoder(KEY, b"stdout", "stdout", text=True), data, piece)
    assert items == [
        TextLine("stdout", "plain line"),
        TextLine("stdout", "partial "),
        Message("hello", "TASK_LOG"),
        TextLine("stdout", "after"),
        Message({"x": 1}, "TASK_RESULT"),
        TextLine("stdout", "tail without newline"),
    ]


def test_several_frames_in_one_read():
    data = b"".join(frame_bytes(Message(i, "TASK_LOG"), i) for i in range(5))
    items = FrameDecoder(KEY, b"stdout", "stdout", text=True).feed(data)
    assert [m.contents for m in items] == list(range(5))


def test_forged_frame_on_a_pipe_is_kept_as_text_and_never_unpickled(tmp_path):
    marker = tmp_path / "unpickled"
    payload = pickle.dumps(_Exploit(str(marker)))
    forged = MAGIC + struct.pack("!Q", len(payload)) + b"\0" * 32 + payload
    decoder = FrameDecoder(KEY, b"stdout", "stdout", text=True)
    items = decoder.feed(forged + b"\n") + list(decoder.close())
    assert not marker.exists()
    assert all(isinstance(item, TextLine) for item in items)
    assert decoder.frames_rejected == 1


def test_replayed_frame_is_rejected_on_a_socket():
    frame = frame_bytes(Message("once", "TASK_LOG"), 0, context=b"c")
    decoder = FrameDecoder(KEY, b"c", "socket", text=False)
    assert decoder.feed(frame) == [Message("once", "TASK_LOG")]
    with pytest.raises(ProtocolError, match="authentication"):
        decoder.feed(frame)


def test_bytes_outside_a_frame_break_a_socket_connection():
    with pytest.raises(ProtocolError, match="outside a frame"):
        FrameDecoder(KEY, b"c", "socket", text=False).feed(b"GET / HTTP/1.1\r\n")


def test_oversized_length_is_refused_before_reading_the_payload():
    header = MAGIC + struct.pack("!Q", 2**62) + b"\0" * 32
    with pytest.raises(ProtocolError, match="exceeds"):
        FrameDecoder(KEY, b"c", "socket", text=False).feed(header)


def test_invalid_utf8_text_is_kept():
    decoder = FrameDecoder(KEY, b"stderr", "stderr", text=True)
    items = decoder.feed(b"caf\xe9\n")
    assert items == [TextLine("stderr", "caf\\xe9")]


def test_unknown_signal_is_rejected():
    with pytest.raises(ValueError, match="TASK_STARTED"):
        Message("x", "TASK_EXPLODED")


class _Exploit:
    """Unpickling this creates a file: proof that bytes were unpickled."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def _serve_until_closed(comm: SocketCommunicator, expected_connections: int) -> list[Message]:
    """Run the Executor side of the socket until the clients are done."""
    messages: list[Message] = []
    with selectors.DefaultSelector() as selector:
        comm.attach(selector, "socket")
        while (
            comm.accepted < expected_connections
            or comm.open_connections()
            or comm.pending_connections()
        ):
            ready = selector.select(timeout=30)
            assert ready, "the clients went quiet"
            for key, _ in ready:
                messages.extend(comm.on_ready(key.fileobj))
    return messages


def test_socket_directory_is_private_and_removed():
    comm = SocketCommunicator(new_key())
    directory = os.path.dirname(comm.path)
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    assert os.environ.get("LUTE_IPC_KEY") is None
    comm.close()
    assert not os.path.exists(directory)


def test_authenticated_writer_round_trip_with_large_array():
    key = new_key()
    array = np.random.default_rng(1).random(2_000_000)
    with SocketCommunicator(key) as comm:

        def client() -> None:
            writer = SocketWriter(comm.path, key)
            writer.write(Message({"array": array}, "TASK_LOG"))
            writer.write(Message("done", "TASK_RESULT"))
            writer.close()

        thread = threading.Thread(target=client)
        thread.start()
        messages = _serve_until_closed(comm, 1)
        thread.join()
    assert messages[1] == Message("done", "TASK_RESULT")
    received = messages[0].contents["array"]
    assert hashlib.sha256(received.tobytes()).digest() == hashlib.sha256(array.tobytes()).digest()


@pytest.mark.parametrize(
    ("attack", "tcp"),
    [
        ("no_handshake", False),
        ("wrong_handshake", False),
        ("no_handshake", True),
        ("wrong_frame_mac", True),
    ],
)
def test_raw_client_with_bad_authentication_is_rejected(attack, tcp, tmp_path, caplog):
    """Without the key nothing is heard; with it, a frame on TCP still needs its MAC.

    (A Unix-socket connection that passed the handshake carries no MACs: only
    the Task holds it; see docs/ipc.md.)
    """
    key = new_key()
    marker = tmp_path / "unpickled"
    payload = pickle.dumps(Message(_Exploit(str(marker)), "TASK_LOG"))
    forged = MAGIC + struct.pack("!Q", len(payload)) + payload + b"\2" * 32

    def raw_client(comm: SocketCommunicator) -> None:
        family = socket.AF_INET if tcp else socket.AF_UNIX
        with socket.socket(family, socket.SOCK_STREAM) as raw:
            raw.connect(comm.listener.getsockname())
            if attack != "no_handshake":
                challenge = raw.recv(CHALLENGE_SIZE)
                if attack == "wrong_handshake":
                    raw.sendall(b"\1" * 32)
                else:
                    raw.sendall(hmac.new(key, b"lute-hello" + challenge, "sha256").digest())
                    assert raw.recv(32), "the welcome"
            # Ends once the Executor side has closed the connection: a reset or a
            # broken pipe when it closed without reading all the forged bytes.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                raw.sendall(forged)
                while raw.recv(64):
                    pass

    with SocketCommunicator(key, "127.0.0.1" if tcp else None) as comm:
        client = threading.Thread(target=raw_client, args=(comm,))
        client.start()
        with caplog.at_level(logging.WARNING, logger="lute.ipc.executor_side"):
            messages = _serve_until_closed(comm, 1)
        client.join()
        assert comm.rejected == 1
    assert messages == []
    assert not marker.exists()
    assert "rejected" in caplog.text


@pytest.mark.parametrize("text", [True, False])
@pytest.mark.parametrize("piece", [5, 4096, 1 << 20])
def test_arrays_travel_out_of_band_under_any_split(text, piece):
    array = np.arange(300_000, dtype=np.float64)
    frames = frame_bytes(Message({"a": array, "b": b"raw" * 1000}, "TASK_LOG"), 0, b"ctx")
    frames += frame_bytes(Message("next", "TASK_LOG"), 1, b"ctx")
    decoder = FrameDecoder(KEY, b"ctx", "s", text=text)
    items = []
    for start in range(0, len(frames), piece):
        items.extend(decoder.feed(frames[start : start + piece]))
    first, second = items
    assert np.array_equal(first.contents["a"], array)
    assert first.contents["b"] == b"raw" * 1000
    assert second == Message("next", "TASK_LOG")


def test_tcp_variant_binds_the_named_interface_and_authenticates():
    key = new_key()
    with SocketCommunicator(key, tcp_host="127.0.0.1") as comm:
        assert comm.path.startswith("tcp://127.0.0.1:")
        assert comm.listener.getsockname()[0] == "127.0.0.1"

        def clients() -> None:
            writer = SocketWriter(comm.path, key)
            writer.write(Message("over tcp", "TASK_LOG"))
            writer.close()
            with socket.create_connection(comm.listener.getsockname()) as raw:
                raw.sendall(b"\0" * 64)
                raw.recv(1)

        thread = threading.Thread(target=clients)
        thread.start()
        messages = _serve_until_closed(comm, 2)
        thread.join()
        assert messages == [Message("over tcp", "TASK_LOG")]
        assert comm.rejected == 1


@pytest.mark.parametrize("host", ["0.0.0.0", "", "::", "*"])
def test_tcp_variant_refuses_every_interface(host):
    from lute.core.exceptions import ConfigurationError
    from lute.ipc import tcp_host

    with pytest.raises(ConfigurationError, match="every interface"):
        tcp_host({"LUTE_IPC_TCP_HOST": host})
