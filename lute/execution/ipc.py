"""Compatibility path kept for code written against LUTE or earlier lute.

Everything here now lives in ``lute.ipc``; import it from there in new code.
"""

from lute.ipc import (
    LUTE_SIGNALS,
    FrameDecoder,
    Message,
    PipeCommunicator,
    PipeWriter,
    SocketCommunicator,
    SocketWriter,
    TextLine,
    encode_frame,
    new_key,
    task_channel,
    tcp_host,
    write_frame,
)

__all__ = [
    "LUTE_SIGNALS",
    "FrameDecoder",
    "Message",
    "PipeCommunicator",
    "PipeWriter",
    "SocketCommunicator",
    "SocketWriter",
    "TextLine",
    "encode_frame",
    "new_key",
    "task_channel",
    "tcp_host",
    "write_frame",
]
