"""The recorder process: run records written by a fork that imported the database code early.

Writing a record imports SQLAlchemy, which takes longer than starting
Python and importing pydantic and yaml together: for a short Task, most of
``lute run``'s time. ``lute run`` therefore starts a *recorder*
(``start_recorder``) before it imports the rest of lute: a fork of itself,
made while it has one thread, that imports the database code at once, on
another core, while ``lute run`` imports lute and validates the
configuration. ``send`` hands it a run's record (``describe_run``: plain JSON
values, so it needs none of the Task's classes) and waits until it says the
record is written or spooled; the caller's guarantees are unchanged (see
``lute.execution.recording``). The recorder writes exactly what ``store_run``
would (``store_record``), with the same spool fallback, and logs to the same
stderr.

It ignores the signals a terminal or a batch system sends to the whole
process group (the Executor decides what they mean, and its final record
must still be written) and exits when its parent closes its end of the pipe:
at exit (the parent waits for it) or when the parent dies. If the recorder
is gone or fails, ``send`` says so (``None``) and the caller writes the
record itself (a record written twice is stored once). ``LUTE_RECORDER=0``
turns it off.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import signal
import struct
from typing import TYPE_CHECKING

from lute.core.forking import fork_with, threads_here
from lute.db.records import RunRecord, describe_run

if TYPE_CHECKING:
    from lute.core.analysis import DescribedAnalysis

logger = logging.getLogger(__name__)

ENV_RECORDER = "LUTE_RECORDER"
"""``0``: write records in the Executor's own process (no recorder process)."""
_LENGTH = struct.Struct("!I")
_STORED, _NOT_STORED = b"1", b"0"
_IGNORED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGTSTP)


class _Recorder:
    """The Executor's end of the recorder process: a pipe each way."""

    def __init__(self, pid: int, requests: int, answers: int) -> None:
        self.pid = pid
        self.owner = os.getpid()
        self._requests: int | None = requests
        self._answers = answers

    def store(self, request: bytes) -> bool:
        """Send one record; whether it was kept. Raises ``OSError`` if the recorder is gone."""
        if self._requests is None:
            raise OSError("the recorder was closed")
        data = _LENGTH.pack(len(request)) + request
        view = memoryview(data)
        while view:
            view = view[os.write(self._requests, view) :]
        answer = os.read(self._answers, 1)
        if answer not in (_STORED, _NOT_STORED):
            raise OSError("the recorder ended without answering")
        return answer == _STORED

    def close(self) -> None:
        """Let the recorder finish (end of its input), and reap it."""
        if self._requests is None:
            return
        os.close(self._requests)
        self._requests = None
        os.close(self._answers)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


_recorder: _Recorder | None = None


def start_recorder() -> None:
    """Start the recorder process, if it is on, not started yet, and safe to fork now.

    Call it as early as possible in a process that will run an Executor:
    its import of the database code then overlaps everything that follows.
    """
    global _recorder  # noqa: PLW0603 (one recorder per process)
    if _recorder is not None or os.environ.get(ENV_RECORDER, "1") == "0":
        return
    if not hasattr(os, "fork") or threads_here() != 1:
        return
    requests_read, requests_write = os.pipe()
    answers_read, answers_write = os.pipe()
    try:
        pid = fork_with((requests_read, requests_write, answers_read, answers_write))
    except OSError as err:  # no process to spare: the Executor records itself
        logger.debug("no recorder process: %s", err)
        return
    if pid == 0:
        code = 1
        try:
            os.close(requests_write)
            os.close(answers_read)
            _serve(requests_read, answers_write)
            code = 0
        finally:
            os._exit(code)
    os.close(requests_read)
    os.close(answers_write)
    _recorder = _Recorder(pid, requests_write, answers_read)
    atexit.register(_recorder.close)


def send(desc: DescribedAnalysis) -> bool | None:
    """Have the recorder write ``desc``: whether it was kept; ``None`` if there is no recorder.

    ``None`` also when the recorder is gone or failed, or the run cannot be
    described: the caller then records the run itself.
    """
    global _recorder  # noqa: PLW0603
    if _recorder is None or _recorder.owner != os.getpid():
        return None
    config = desc.task_parameters.lute_config
    try:
        request = json.dumps(
            {
                "record": describe_run(desc).to_json(),
                "work_dir": str(config.work_dir),
                "db_url": config.db_url,
            }
        ).encode()
    except Exception:  # store_run will say what is wrong with it
        logger.debug("the record cannot go to the recorder", exc_info=True)
        return None
    try:
        return _recorder.store(request)
    except OSError:
        logger.debug("the recorder is gone; recording here", exc_info=True)
        with contextlib.suppress(OSError):
            _recorder.close()
        _recorder = None
        return None


def _serve(requests: int, answers: int) -> None:
    """The recorder: import the database code, then write each record sent until the end."""
    for signum in _IGNORED_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    from lute.db.store import database_url, store_record  # noqa: PLC0415 (the point of it)

    with os.fdopen(requests, "rb") as incoming:
        while True:
            head = incoming.read(_LENGTH.size)
            if len(head) < _LENGTH.size:
                return
            (length,) = _LENGTH.unpack(head)
            request = json.loads(incoming.read(length))
            work_dir = request["work_dir"]
            url = database_url(work_dir, request["db_url"])
            try:
                stored = store_record(RunRecord.from_json(request["record"]), url, work_dir).stored
            except Exception:  # a bug: say so, and let the Executor record it itself
                logger.exception("the recorder could not store a record")
                return
            os.write(answers, _STORED if stored else _NOT_STORED)
