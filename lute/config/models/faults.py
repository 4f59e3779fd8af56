"""Parameter models of the fault-injection Tasks, used to test the Executor."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from lute.config.models.base import TaskParameters, ThirdPartyParameters

FaultMode = Literal[
    "sleep",
    "grandchild",
    "sigkill",
    "segfault",
    "raise",
    "flood",
    "fail_times",
    "exit_without_result",
    "undecodable",
    "undecodable_stdout",
    "reconnect",
]


class FaultParameters(TaskParameters):
    """Parameters of ``Fault``: a Task that misbehaves in the way ``mode`` names.

    Every mode first writes the Task's pid (and a grandchild's) to
    ``pid_file`` and announces itself on ``ready_fifo``, so a test knows
    which processes must be gone afterwards and when the Task is running.
    """

    mode: FaultMode = Field("sleep", description="What to do once running.")
    seconds: float = Field(60.0, gt=0, description="How long sleep/grandchild/reconnect wait.")
    pid_file: str | None = Field(None, description="File to write '<pid> [<grandchild>]' to.")
    ready_fifo: str | None = Field(None, description="FIFO to write the pid line to when running.")
    release_fifo: str | None = Field(
        None,
        description="sleep/grandchild/reconnect end when a line arrives here, not after seconds.",
    )
    flood_mb: int = Field(100, ge=1, description="MiB written to stdout and to stderr (flood).")
    fail_times: int = Field(0, ge=0, description="Attempts that fail before one succeeds.")
    counter_file: str | None = Field(None, description="Counts attempts across processes.")


class FaultBinaryParameters(ThirdPartyParameters):
    """Runs ``sh`` with a script that ignores SIGTERM, as some programs do.

    ``p_arg4`` is a file the script writes its pid and its child's pid to.
    """

    executable: str = "sh"
    p_arg1: str = "-c"
    p_arg2: str = 'trap \'\' TERM; sleep 60 & echo "$$ $!" > "$1.tmp" && mv "$1.tmp" "$1"; wait'
    p_arg3: str = "fault-binary"
    p_arg4: str = "/dev/null"
