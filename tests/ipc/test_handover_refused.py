"""The descriptor hand-over cannot be abused, and a refused one never stops the run.

A descriptor is accepted only with a frame on an authenticated Unix-socket
connection, only if it is a memfd of the size its frame declares, sealed
against shrinking, growing and writing, and only as many as one frame may
carry. A real Task (``IpcForged``, a plugin) breaks each rule on a
connection of its own, between two good messages; the real Executor must
refuse the frame (recorded with the run), deliver the messages around it,
hold none of the descriptors afterwards, and end the run COMPLETED.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from conftest import write_config

from lute.core.analysis import TaskStatus
from lute.execution.executor import Executor
from lute.ipc import Message
from tests.ipc.conftest import memfds

FORGED = "lute-test-forged"

CASES = {
    "size": "descriptor 0 refused: it holds 1052672 bytes, the frame says 1048576",
    "unsealed": "descriptor 0 refused: it is not sealed against shrinking, growing and writing",
    "regular_file": "descriptor 0 refused: it is not sealed against shrinking",
    "pipe": "descriptor 0 refused: it is not a regular file",
    "missing": "the frame declares 1 descriptor(s) and 0 came with it",
    "too_many": "the frame declares 1 descriptor(s) and 0 came with it",
    "unclaimed": "1 descriptor(s) came with no message that declares them; they were closed",
}


def run_forged(
    work_dir: Any, tmp_path: Any, case: str
) -> tuple[Executor, list[Any], list[list[str]]]:
    """Run IpcForged; the messages its hook saw, and the forged memfds held at each."""
    config = write_config(
        tmp_path / "c.yaml", {"IpcForged": {"case": case}}, {"work_dir": str(work_dir)}
    )
    seen: list[Any] = []
    held: list[list[str]] = []

    def note(_executor: Any, msg: Message) -> None:
        seen.append(msg.contents)
        held.append(memfds(FORGED))

    executor = Executor("IpcForged")
    executor.add_hook("task_log", note)
    assert executor.execute_task(str(config)) is TaskStatus.COMPLETED
    return executor, seen, held


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_broken_handover_is_refused_and_the_run_goes_on(probe, tmp_path, case, caplog):
    with caplog.at_level(logging.WARNING):
        executor, seen, held = run_forged(probe, tmp_path, case)
    around = ["before", "orphan", "after"] if case == "unclaimed" else ["before", "after"]
    assert seen == around
    (error,) = executor.analysis.executor_errors
    assert "could not be decoded" in error
    assert CASES[case] in error
    assert held == [[]] * len(seen), "the Executor kept a descriptor it was sent"
    assert memfds(FORGED) == []
    if case == "too_many":
        assert "more descriptors than one message may carry (16); refused" in caplog.text


@pytest.mark.parametrize("case", ["unauthenticated_wrong_answer", "unauthenticated_with_answer"])
def test_a_descriptor_before_the_handshake_never_reaches_the_executor(
    probe, tmp_path, case, caplog
):
    with caplog.at_level(logging.WARNING, logger="lute.ipc"):
        executor, seen, held = run_forged(probe, tmp_path, case)
    assert seen == ["after"]
    assert held == [[]]
    assert executor.analysis.executor_errors == []
    if case == "unauthenticated_wrong_answer":
        assert "handshake failed authentication" in caplog.text
