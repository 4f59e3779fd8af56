"""Reach a running managed task from outside: the run file and ``cancel_run``.

While it runs, an Executor advertises itself in ``<work_dir>/runs/<run_id>.json``:
host, Executor pid and start time, the Task's process group, the attempt and
when it started. The file is written atomically (a temporary file renamed
over it), rewritten for each attempt and removed when the run ends, so a
reader never sees half of it and a listing of ``runs/`` is the set of live
runs (plus the file of an Executor that was killed outright, which
``cancel_run`` recognises as stale).

Cancelling sends SIGTERM to the Executor, which forwards it to the Task's
group, records the run as CANCELLED and exits, exactly as for ``scancel``.
When the Executor is already gone, ``cancel_run`` does its work instead: it
kills what is left of the Task's group and settles the run's record.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import time
import uuid
from pathlib import Path
from typing import Any

from lute.core.exceptions import ControlError, LuteError, UnknownNameError
from lute.core.names import check_name
from lute.core.procinfo import process_start_ticks
from lute.execution.process import end_group
from lute.tasks.registry import unknown_name

logger = logging.getLogger(__name__)

RUNS_DIR = "runs"
ENV_ASSIGNED_RUN_ID = "LUTE_ASSIGNED_RUN_ID"
"""Set by a workflow runner: the run id a node's run is to be recorded under."""


def take_run_id(env: dict[str, str]) -> str:
    """A new run id, or the one a workflow runner chose for this run.

    A local workflow names each node's run before it starts
    (``$LUTE_ASSIGNED_RUN_ID``), so it can follow and cancel the node by it.
    The assignment is removed from ``env``, the environment the Task will
    inherit, so a ``lute run`` the Task itself starts cannot reuse it.

    Raises:
        ConfigurationError: The assigned id is not a plain name (it names
            the run's log directory and run file).
    """
    assigned = env.pop(ENV_ASSIGNED_RUN_ID, None)
    return uuid.uuid4().hex if assigned is None else check_name("run id", assigned)


MIN_PREFIX = 4
"""The shortest run-id prefix taken for the whole id, as in ``lute db show``."""


def run_file(work_dir: str | os.PathLike[str], run_id: str) -> Path:
    """Where run ``run_id`` is advertised."""
    return Path(work_dir) / RUNS_DIR / f"{run_id}.json"


class RunAdvert:
    """The run file of one run, from the first attempt to the end of the run.

    Args:
        work_dir: The run's work directory.
        run_id: The run's id.
        task_name: The Task it runs, for listings.
    """

    def __init__(self, work_dir: str, run_id: str, task_name: str) -> None:
        self.path = run_file(work_dir, run_id)
        self._info: dict[str, Any] = {
            "run_id": run_id,
            "task": task_name,
            "work_dir": str(work_dir),
            "host": socket.gethostname(),
            "executor_pid": os.getpid(),
            "executor_start_ticks": process_start_ticks(os.getpid()),
        }

    def publish(self, task_pgid: int, attempt: int) -> None:
        """Advertise the attempt now running; failures are logged, never raised.

        A run that cannot be advertised still runs: it just cannot be
        cancelled by id.
        """
        info = {
            **self._info,
            "task_pgid": task_pgid,
            "task_start_ticks": process_start_ticks(task_pgid),
            "attempt": attempt,
            "start": time.time(),
        }
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(info, indent=1), encoding="utf-8")
            tmp.replace(self.path)
        except OSError as err:
            logger.warning(
                "cannot advertise run in %s (lute cancel will not find it): %s", self.path, err
            )

    def __enter__(self) -> RunAdvert:
        return self

    def __exit__(self, *exc_info: object) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def running_ids(work_dir: str | os.PathLike[str]) -> list[str]:
    """Ids of the runs advertised in ``work_dir``."""
    directory = Path(work_dir) / RUNS_DIR
    if not directory.is_dir():
        return []
    return sorted(path.stem for path in directory.glob("*.json"))


def _full_run_id(run_id: str, work_dir: str | os.PathLike[str]) -> str:
    """The advertised run ``run_id`` starts, when it is a prefix of exactly one.

    A shorter prefix than ``MIN_PREFIX``, or one several runs share, is left
    as it is (and then not found), so a typo never cancels the wrong run.

    Raises:
        UnknownNameError: The prefix starts several advertised run ids (bad
            input, as an unknown id is).
    """
    if run_file(work_dir, run_id).exists() or len(run_id) < MIN_PREFIX:
        return run_id
    matches = [known for known in running_ids(work_dir) if known.startswith(run_id)]
    if len(matches) > 1:
        raise UnknownNameError(
            f"run {run_id!r} is ambiguous: it starts {len(matches)} running run ids"
            f" ({', '.join(matches[:5])}); give more characters"
        )
    return matches[0] if matches else run_id


def read_run(run_id: str, work_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The advertisement of run ``run_id`` (or of the one run it is a prefix of).

    Raises:
        ConfigurationError: ``run_id`` is not a plain name.
        UnknownNameError: No run with that id is advertised in ``work_dir``.
        ControlError: The run file cannot be read.
    """
    check_name("run id", run_id)
    path = run_file(work_dir, _full_run_id(run_id, work_dir))
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise unknown_name(
            f"run id (in {Path(work_dir) / RUNS_DIR})", run_id, running_ids(work_dir)
        ) from None
    except (OSError, ValueError) as err:
        raise ControlError(f"{path}: cannot read the run file: {err}") from err


def cancel_run(run_id: str, work_dir: str) -> None:
    """Cancel a running managed task by its run id or a unique prefix of it.

    Signals the run's Executor (SIGTERM), which stops the Task's process
    group and records the run as CANCELLED. Returns once the signal is sent.

    If the Executor is gone (killed outright), the Task's group is killed
    here, the run's record settled as FAILED and the stale run file removed.

    Raises:
        UnknownNameError: No such run is advertised in ``work_dir``.
        ControlError: The run is on another host, or it belongs to another user.
    """
    info = read_run(run_id, work_dir)
    run_id = str(info.get("run_id", run_id))
    here = socket.gethostname()
    if info.get("host") != here:
        raise ControlError(
            f"run {run_id} runs on host {info.get('host')!r}, not on {here!r}; "
            "run `lute cancel` there"
        )
    pid = int(info["executor_pid"])
    if process_start_ticks(pid) != info.get("executor_start_ticks"):
        _end_abandoned_run(run_id, work_dir, info)
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError as err:
        raise ControlError(f"run {run_id}: its Executor (pid {pid}) has just exited") from err
    except PermissionError as err:
        raise ControlError(f"run {run_id}: not allowed to signal its Executor (pid {pid})") from err
    logger.info("asked run %s (%s, Executor pid %d) to cancel", run_id, info.get("task"), pid)


def _end_abandoned_run(run_id: str, work_dir: str, info: dict[str, Any]) -> None:
    """Do what a dead Executor can no longer do: end its Task's group, settle its record."""
    group = info.get("task_pgid")
    killed: list[int] = []
    if isinstance(group, int) and _group_is_the_runs(group, info.get("task_start_ticks")):
        killed = end_group(group)
    settled = _settle_record(work_dir)
    with contextlib.suppress(FileNotFoundError):
        run_file(work_dir, run_id).unlink()
    logger.warning(
        "run %s: its Executor (pid %s) had died; %s, %s",
        run_id,
        info.get("executor_pid"),
        f"killed {len(killed)} processes it left" if killed else "nothing of it was running",
        "recorded it FAILED" if run_id in settled else "its record was already final",
    )


def _group_is_the_runs(group: int, leader_ticks: str | None) -> bool:
    """Whether process group ``group`` is still the Task's, not a reuse of its number.

    While any member lives the kernel does not hand the number out again; a
    leader that runs under it but started at another time is a new group.
    """
    current = process_start_ticks(group)
    return current is None or current == leader_ticks


def _settle_record(work_dir: str) -> list[str]:
    """Settle the runs of dead Executors in the work dir's database; their ids."""
    from lute.db.engine import database_url  # noqa: PLC0415 (SQLAlchemy only when needed)
    from lute.db.orphans import settle_orphans  # noqa: PLC0415
    from lute.db.schema import open_database  # noqa: PLC0415

    try:
        database = open_database(database_url(work_dir), create=False)
    except LuteError as err:
        logger.warning("could not open the run database to settle the run: %s", err)
        return []
    return [run.run_id for run in settle_orphans(database)]
