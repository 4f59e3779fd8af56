"""Tasks that probe the channel from the Task's side, installed as a plugin for the tests.

* ``IpcArrays`` sends arrays of many dtypes, shapes and layouts, each with a
  checksum of its contents, so the Executor's hook can check what arrived.
* ``IpcForged`` abuses the descriptor hand-over on purpose (``case``): on an
  authenticated connection of its own it sends ``before``, one broken frame,
  then ``after``; or it tries to slip a descriptor in before the handshake.
* ``IpcAllocated`` sends arrays made in hand-over memory (``handover_array``):
  whole ones (passed uncopied), then views and second sends of them (copied),
  changing each after it was sent.
* ``IpcModules`` writes the names of the modules its process holds to a
  file; the managed task ``ModulesReporter`` runs it with the default Executor.
"""

from __future__ import annotations

import array
import contextlib
import hashlib
import os
import socket
import sys
from typing import Any

from pydantic import Field

from lute.config.models.base import TaskParameters
from lute.ipc.frames import ENV_KEY, ENV_SOCKET, frame_header, handshake_answer, send_frame
from lute.ipc.handover import REQUIRED_SEALS, Handover, handover_array
from lute.ipc.message import Message
from lute.ipc.task_side import connect_authenticated
from lute.tasks.base import Task

FORGED_NAME = "lute-test-forged"
"""Name of every memfd ``IpcForged`` makes: the Executor must never hold one afterwards."""


def checksum(value: Any) -> str:
    """What an array is: dtype, shape and its bytes in C order."""
    import numpy as np

    data = np.ascontiguousarray(value)
    digest = hashlib.sha256(f"{value.dtype.str}|{value.dtype.descr}|{value.shape}".encode())
    digest.update(data.tobytes())
    return digest.hexdigest()


def sample_arrays() -> dict[str, Any]:
    """Arrays of many kinds; ``big`` ones (>= 1 MiB and contiguous) can be handed over."""
    import numpy as np

    rng = np.random.default_rng(14)
    square = rng.random((512, 512))
    points = np.zeros(70_000, dtype=[("x", "<f8"), ("y", "<i4"), ("tag", "S3")])
    points["x"], points["y"], points["tag"] = rng.random(70_000), np.arange(70_000), b"abc"
    return {
        "small_float": rng.random(10),
        "empty": np.zeros((0, 3)),
        "scalar": np.array(3.5),
        "bool_3d": rng.random((4, 5, 6)) > 0.5,
        "big_float64": rng.random(300_000),
        "big_uint8": rng.integers(0, 255, 5 * 1024 * 1024, dtype=np.uint8),
        "big_int16_3d": rng.integers(-30_000, 30_000, (64, 128, 96), dtype=np.int16),
        "big_complex": rng.random(70_000) + 1j * rng.random(70_000),
        "big_endian": rng.random(200_000).astype(">f8"),
        "fortran": np.asfortranarray(rng.random((700, 400)).astype(np.float32)),
        "transposed": square.T,
        "strided": rng.random(600_000)[::3],
        "column": square[:, 7],
        "reversed": rng.random(300_000)[::-1],
        "structured": points,
    }


class IpcArraysParameters(TaskParameters):
    """``many``: also send one message with more large arrays than may be handed over."""

    many: int = Field(20, ge=0)


class IpcArrays(Task):
    """One message per sample array, then one holding ``many`` large arrays."""

    def _run(self) -> None:
        import numpy as np

        for name, value in sample_arrays().items():
            self._report({"name": name, "array": value, "sha256": checksum(value)})
        crowd = [np.full(1024 * 1024 // 8, float(k)) for k in range(self._task_parameters.many)]
        self._report({"name": "crowd", "arrays": crowd, "sha256": [checksum(a) for a in crowd]})


class IpcForgedParameters(TaskParameters):
    """Which abuse to try."""

    case: str


def _memfd(size: int, *, sealed: bool = True, extra: int = 0) -> int:
    import fcntl

    fd = os.memfd_create(FORGED_NAME, os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    os.write(fd, b"\x01" * (size + extra))
    if sealed:
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, REQUIRED_SEALS)
    return fd


class _Forger(Handover):
    """Hands over whatever descriptor the case calls for instead of a true copy."""

    def __init__(self, case: str, scratch: str) -> None:
        super().__init__(enabled=True)
        self.case = case
        self.scratch = scratch

    def seal(self, buffer: memoryview) -> int | None:
        size = buffer.nbytes
        if self.case == "size":
            return _memfd(size, extra=4096)
        if self.case == "unsealed":
            return _memfd(size, sealed=False)
        if self.case == "regular_file":
            with open(self.scratch, "wb") as out:
                out.write(bytes(buffer))
            return os.open(self.scratch, os.O_RDONLY | os.O_CLOEXEC)
        if self.case == "pipe":
            read_end, write_end = os.pipe()
            os.close(write_end)
            return read_end
        return _memfd(size)


class IpcForged(Task):
    """Sends ``before``, a broken frame of the chosen kind, ``after``, then its result."""

    def _run(self) -> None:
        import numpy as np

        case = self._task_parameters.case
        key = bytes.fromhex(os.environ[ENV_KEY])
        path = os.environ[ENV_SOCKET]
        if case.startswith("unauthenticated"):
            self._unauthenticated(path, key, case)
            self._report("after")
            return
        sock, _ = connect_authenticated(path, key)
        with sock:
            send_frame(sock, Message("before", "TASK_LOG"), None)
            big = np.ones(1024 * 1024 // 8)
            forger = _Forger(case, str(self._task_parameters.lute_config.work_dir) + "/forged")
            if case == "missing":
                payload = _payload(Message({"array": big}, "TASK_LOG"), forger)
                sock.sendall(frame_header(payload.length) + payload.head)
                payload.close()
            elif case == "unclaimed":
                self._with_rights(sock, Message("orphan", "TASK_LOG"), [_memfd(4096)])
            elif case == "too_many":
                payload = _payload(Message({"array": big}, "TASK_LOG"), forger)
                fds = [*payload.descriptors, *(_memfd(4096) for _ in range(30))]
                _send_with_rights(sock, frame_header(payload.length) + payload.head, fds)
            else:
                send_frame(sock, Message({"array": big}, "TASK_LOG"), forger)
            send_frame(sock, Message("after", "TASK_LOG"), None)

    def _with_rights(self, sock: socket.socket, msg: Message, fds: list[int]) -> None:
        payload = _payload(msg, None)
        _send_with_rights(sock, frame_header(payload.length) + payload.head, fds)

    def _unauthenticated(self, path: str, key: bytes, case: str) -> None:
        """Offer a memfd before the handshake is done; wait until the Executor has read it."""
        fd = _memfd(4096)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as raw:
            raw.connect(path)
            challenge = _recv_exactly(raw, 32)
            if case == "unauthenticated_wrong_answer":
                _send_with_rights(raw, b"\x00" * 32, [fd])
                with contextlib.suppress(ConnectionResetError):
                    while raw.recv(64):  # the Executor closes the connection once it has read it
                        pass
            else:
                _send_with_rights(raw, handshake_answer(key, challenge), [fd])
                _recv_exactly(raw, 32)  # the welcome: the answer (and what came with it) was read


def _payload(msg: Message, handover: Handover | None) -> Any:
    from lute.ipc.frames import serialise

    return serialise(msg, handover)


def _send_with_rights(sock: socket.socket, data: bytes, fds: list[int]) -> None:
    rights = array.array("i", fds)
    sent = sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, rights)])
    if sent < len(data):
        sock.sendall(data[sent:])
    for fd in fds:
        os.close(fd)


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


ALLOCATED = {
    "whole_float64": ((300_000,), "<f8"),
    "whole_int16_3d": ((64, 128, 96), "<i2"),
    "whole_big_endian": ((200_000,), ">f8"),
    "whole_structured": ((70_000,), [("x", "<f8"), ("y", "<i4"), ("tag", "S3")]),
    "small": ((100,), "<f8"),
}
"""Arrays ``IpcAllocated`` makes in hand-over memory and sends whole: name, shape, dtype."""


class IpcAllocated(Task):
    """Sends arrays made with ``handover_array``, then views of them; zeroes each once sent."""

    def _run(self) -> None:
        import numpy as np

        rng = np.random.default_rng(14)

        def made(shape: tuple[int, ...], dtype: Any) -> Any:
            array = handover_array(shape, dtype)
            array.view(np.uint8).reshape(-1)[:] = rng.integers(0, 255, array.nbytes, np.uint8)
            return array

        def send(name: str, value: Any) -> None:
            self._report({"name": name, "array": value, "sha256": checksum(value)})

        arrays = {name: made(shape, dtype) for name, (shape, dtype) in ALLOCATED.items()}
        for name, value in arrays.items():
            send(name, value)
            value[...] = np.zeros((), value.dtype)  # after it was sent: not what arrives
        square = made((400, 700), "<c8")
        send("transposed_whole", square.T)  # all of its memory, in Fortran order
        square[...] = 0
        long = made((600_000,), "<f8")
        send("strided", long[::3])
        send("slice", long[1:])
        send("column", square[:, 7])
        again = arrays["whole_int16_3d"]
        again += 1
        send("again", again)


class IpcModulesParameters(TaskParameters):
    """Where to write the module names."""

    out_file: str


class IpcModules(Task):
    """Writes the names of the modules its process has imported, one a line."""

    def _run(self) -> None:
        with open(self._task_parameters.out_file, "w", encoding="utf-8") as out:
            out.write("\n".join(sorted(sys.modules)))


MODULES_REPORTER = {"task_name": "IpcModules", "description": "Lists its process's modules."}
