"""Helpers for database tests: parameter models and runs built without running."""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

from lute.config.models.base import AnalysisHeader, TaskParameters
from lute.core.analysis import DescribedAnalysis, TaskResult, TaskStatus


class ScanParameters(TaskParameters):
    """Version 1 of a Task's parameters."""

    energy: float = 9.5
    detector: str = "epix"
    extra: dict[str, Any] = {}


class ScanParametersV2(ScanParameters):
    """Version 2: the model gained a parameter."""

    threshold: int = 4


class HostParameters(TaskParameters):
    """A parameter whose name is also a bookkeeping column."""

    host: str = "here"


class LooseParameters(TaskParameters):
    """Parameters whose types may change between runs (as YAML allows)."""

    value: Any = 3
    flag: Any = True
    weird: dict[str, Any] = {}


def make_run(
    params: TaskParameters,
    task_name: str,
    run_id: str | None = None,
    status: TaskStatus = TaskStatus.COMPLETED,
    end_time: float | None = None,
    payload: Any = "",
) -> DescribedAnalysis:
    """A finished run as the Executor describes it, without running anything."""
    end = time.time() if end_time is None else end_time
    return DescribedAnalysis(
        task_result=TaskResult(
            task_name, status, summary=f"{task_name} {status.value}", payload=payload
        ),
        task_parameters=params,
        task_env={"PATH": "/usr/bin"},
        communicator_desc=["pipes", "socket"],
        start_time=end - 1.5,
        end_time=end,
        exit_code=0 if status.successful else 1,
        host="testhost",
        run_id=run_id or uuid.uuid4().hex,
        log_paths={"stdout": "/tmp/x.out"},
    )


def header(work_dir: Path, run: int | str = 7, experiment: str = "xpptest") -> AnalysisHeader:
    """A config header for records made by tests."""
    return AnalysisHeader(title="t", experiment=experiment, run=run, work_dir=str(work_dir))


def kill_quietly(proc: subprocess.Popen[Any]) -> None:
    """Stop a helper process this test started, if it is still running."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
