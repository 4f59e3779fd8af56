"""Messages between a Task and its Executor, and the channels that carry them.

``frames`` is the wire format and handshake (the protocol is written down
there), ``decoder`` reads frames back, ``handover`` passes large buffers as
sealed memory instead of copying them, ``task_side`` the writers a Task
reports through, ``executor_side`` the communicators the Executor reads,
``admission`` who may wait for a handshake on the Executor's socket, and for
how long.
"""

from lute.ipc.decoder import FrameDecoder
from lute.ipc.executor_side import (
    PipeCommunicator,
    SocketCommunicator,
    socket_options,
    tcp_host,
)
from lute.ipc.frames import (
    CHALLENGE_SIZE,
    MAGIC,
    encode_frame,
    new_key,
    write_frame,
)
from lute.ipc.handover import handover_array
from lute.ipc.message import LUTE_SIGNALS, DecodeFailure, Message, TextLine
from lute.ipc.task_side import PipeWriter, SocketWriter, task_channel

__all__ = [
    "CHALLENGE_SIZE",
    "LUTE_SIGNALS",
    "MAGIC",
    "DecodeFailure",
    "FrameDecoder",
    "Message",
    "PipeCommunicator",
    "PipeWriter",
    "SocketCommunicator",
    "SocketWriter",
    "TextLine",
    "encode_frame",
    "handover_array",
    "new_key",
    "socket_options",
    "task_channel",
    "tcp_host",
    "write_frame",
]
