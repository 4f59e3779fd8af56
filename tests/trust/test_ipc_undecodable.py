"""A message the Executor cannot unpickle is recorded; it does not end the run.

The frame is authenticated, so it comes from the run's own Task: a bug (an
object that fails to rebuild, a module the Executor cannot import), not an
attack. Its bounds are sound, so the channel carries on: what came with it
and after it is delivered, the failure is logged and kept in the run's
``executor_errors``, and the run ends as the Task ends.
"""

from __future__ import annotations

import json
import re
import sys
import types

import pytest
from conftest import run_lute, task_rows
from faultkit import assert_gone, fault_config, read_pids

from lute.ipc import FrameDecoder, Message, TextLine, encode_frame
from lute.ipc.message import DecodeFailure
from lute.tasks.faults import AFTER_UNDECODABLE, Unpicklable

KEY = b"k" * 32


@pytest.mark.parametrize(
    ("mode", "where"),
    [
        ("undecodable", r"message 1 on socket connection \d+"),  # message 0 was TASK_STARTED
        ("undecodable_stdout", "message 0 on stdout"),
    ],
)
def test_an_undecodable_message_is_recorded_and_the_run_completes(
    lute_env, work_dir, tmp_path, mode, where
):
    config = fault_config(tmp_path, work_dir, {"mode": mode})

    done = run_lute(["run", "-t", "FaultTester", "-c", str(config)], lute_env)

    assert done.returncode == 0, done.stderr
    assert re.search(f"{where} could not be decoded: ValueError: Unpicklable", done.stderr)
    assert AFTER_UNDECODABLE in done.stderr  # the message after it was not lost
    assert "Fault finished: COMPLETED" in done.stderr
    [row] = task_rows(work_dir / "lute.db", "Fault")
    assert row["result.task_status"] == "COMPLETED"
    assert row["result.summary"].startswith("sent one undecodable message")  # TASK_RESULT came
    assert row["exit_code"] == 0
    [error] = json.loads(row["executor_errors"])
    assert re.match(f"{where} could not be decoded: ValueError: Unpicklable", error)
    assert "in __setstate__" in error  # the traceback is kept for whoever debugs the Task
    assert_gone(read_pids(tmp_path / "pids"))
    assert list((work_dir / "runs").glob("*.json")) == []


def _undecodable_frame(kind: str, context: bytes, seq: int) -> bytes:
    """Frame ``seq`` of a channel, authenticated, that cannot become a Message."""
    if kind == "raises_in_setstate":
        return encode_frame(KEY, context, seq, Message(Unpicklable(), "TASK_LOG"))
    if kind == "missing_module":
        module = types.ModuleType("lute_module_only_the_task_has")
        exec("class Gone:\n    pass\n", module.__dict__)
        sys.modules[module.__name__] = module
        try:
            return encode_frame(KEY, context, seq, Message(module.Gone(), "TASK_LOG"))
        finally:
            del sys.modules[module.__name__]
    return encode_frame(KEY, context, seq, ["not", "a", "Message"])  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["raises_in_setstate", "missing_module", "not_a_message"])
@pytest.mark.parametrize("text", [True, False], ids=["pipe", "socket"])
@pytest.mark.parametrize("piece", [None, 7], ids=["one_read", "in_pieces"])
def test_decoder_reports_an_undecodable_frame_and_loses_nothing_around_it(kind, text, piece):
    context = b"stdout" if text else b"challenge"
    between = b"text between\n" if text else b""
    data = (
        encode_frame(KEY, context, 0, Message("before", "TASK_LOG"))
        + between
        + _undecodable_frame(kind, context, 1)
        + encode_frame(KEY, context, 2, Message("after", "TASK_RESULT"))
    )
    decoder = FrameDecoder(KEY, context, "channel", text=text)

    size = piece or len(data)
    items = []
    for at in range(0, len(data), size):
        items += decoder.feed(data[at : at + size])
    items += decoder.close()

    text_lines = [TextLine("channel", "text between")] if text else []
    *start, failure, last = items
    assert start == [Message("before", "TASK_LOG"), *text_lines]
    assert isinstance(failure, DecodeFailure)
    assert (failure.stream, failure.seq) == ("channel", 1)
    assert last == Message("after", "TASK_RESULT")
    assert decoder.frames_rejected == 0
