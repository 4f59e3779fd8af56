"""What a person watching a run sees of it: progress, heartbeats, the final line.

Progress is also kept with the run's record: ``ProgressRecorder`` writes the
latest report into the run's ``runs`` row while it runs (so ``lute ps`` and
``lute db show`` say how far it is), at most once a second and from a thread
of its own, so a slow or locked database never holds up the wait loop and a
failed write never fails the run. The final record carries the last report
(``DescribedAnalysis.progress``).

The final line of every attempt goes to ``lute.core.logformat.SUMMARY_LOGGER``
so the ``lute`` command shows it even with ``-q``: it says how the attempt
ended, how long it took and which run it was, which is all a script or a
person needs to find the rest (``lute logs RUN_ID``, ``lute db show RUN_ID``).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Mapping
from typing import Any

from lute.core.analysis import DescribedAnalysis
from lute.core.logformat import SUMMARY_LOGGER
from lute.core.progress import TaskProgress

logger = logging.getLogger(__name__)

summary_logger = logging.getLogger(SUMMARY_LOGGER)


def format_duration(seconds: float | None) -> str:
    """``seconds`` as a person reads it: ``0.4 s``, ``12 min 05 s``, ``2 h 03 min``."""
    if seconds is None:
        return "an unknown time"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def log_final_line(desc: DescribedAnalysis) -> None:
    """Log the attempt's status, duration and run id as its last line."""
    summary_logger.log(
        logging.INFO if desc.task_result.task_status.value == "COMPLETED" else logging.WARNING,
        "%s finished: %s in %s (run %s, attempt %d)",
        desc.task_result.task_name,
        desc.task_result.task_status.value,
        format_duration(desc.duration),
        desc.run_id,
        desc.attempt,
    )


ENV_HEARTBEAT = "LUTE_HEARTBEAT_S"
DEFAULT_HEARTBEAT_S = 60.0
LINE_STEP = 0.1
"""Without a terminal, a progress line each time another tenth of the work is done."""


def heartbeat_interval(env: Mapping[str, str] = os.environ) -> float | None:
    """Seconds of silence before a heartbeat line (``$LUTE_HEARTBEAT_S``; ``0``: never).

    A value that is not a number is reported and the default used: a
    cosmetic setting must not stop a run.
    """
    text = env.get(ENV_HEARTBEAT, "")
    try:
        value = float(text) if text else DEFAULT_HEARTBEAT_S
    except ValueError:
        logger.warning(
            "%s=%r is not a number of seconds; using %g", ENV_HEARTBEAT, text, DEFAULT_HEARTBEAT_S
        )
        value = DEFAULT_HEARTBEAT_S
    return value if value > 0 else None


class ProgressView:
    """What the person watching one attempt sees of its progress and its silence.

    A ``TaskProgress`` is drawn as a ``rich`` progress bar when stderr is a
    terminal, else logged as a line each time another 10 % is done. A Task
    that says nothing for ``heartbeat`` seconds gets a line with the elapsed
    time, so a long computation is visibly alive. The Supervisor drives it
    from its one selector loop (``next_beat`` is one of its wake-up times),
    so it needs no thread of its own.

    Args:
        task_name: Named in the lines.
        heartbeat: Seconds of silence before a heartbeat line; ``None``: never.
        terminal: Draw a bar; default: whether stderr is a terminal. Never
            when this module's INFO lines are off (``-q``: only warnings and
            the final line).
        recorder: Keeps each report in the run database too.
    """

    def __init__(
        self,
        task_name: str,
        heartbeat: float | None,
        terminal: bool | None = None,
        recorder: ProgressRecorder | None = None,
    ) -> None:
        self._task_name = task_name
        self._recorder = recorder
        self._heartbeat = heartbeat
        on_terminal = sys.stderr.isatty() if terminal is None else terminal
        self._terminal = on_terminal and logger.isEnabledFor(logging.INFO)
        self._started = time.monotonic()
        self._last_activity = self._started
        self._last_step = -1
        self._bar: Any = None
        self._bar_task: Any = None
        self.last: TaskProgress | None = None

    def next_beat(self) -> float | None:
        """When the next heartbeat is due (``time.monotonic`` clock), if ever."""
        return None if self._heartbeat is None else self._last_activity + self._heartbeat

    def activity(self) -> None:
        """The Task said something: the heartbeat waits again."""
        self._last_activity = time.monotonic()

    def tick(self, now: float) -> None:
        """Log a heartbeat if the Task has been silent long enough."""
        due = self.next_beat()
        if due is not None and now >= due:
            self._last_activity = now
            progress = f"; last progress {self.last}" if self.last is not None else ""
            logger.info(
                "%s still running, %s elapsed%s",
                self._task_name,
                format_duration(now - self._started),
                progress,
            )

    def update(self, progress: TaskProgress) -> None:
        """Show a progress report and keep it as the attempt's last."""
        self.activity()
        self.last = progress
        if self._recorder is not None:
            self._recorder.offer(progress)
        if self._terminal:
            self._draw(progress)
            return
        fraction = progress.fraction
        step = -1 if fraction is None else int(fraction / LINE_STEP + 1e-9)
        if step > self._last_step:
            self._last_step = step
            logger.info("%s progress: %s", self._task_name, progress)

    def _draw(self, progress: TaskProgress) -> None:
        if self._bar is None:
            from rich.console import Console  # noqa: PLC0415 (only a terminal needs it)
            from rich.progress import Progress  # noqa: PLC0415

            self._bar = Progress(console=Console(file=sys.stderr), redirect_stdout=False)
            self._bar.start()
            self._bar_task = self._bar.add_task(self._task_name, total=progress.total or None)
        self._bar.update(
            self._bar_task,
            completed=progress.done,
            total=progress.total or None,
            description=f"{self._task_name} {progress.text}".strip(),
        )

    def close(self) -> None:
        """Take the bar down (it stays on screen as drawn last); stop recording."""
        if self._recorder is not None:
            self._recorder.close()
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


RECORD_INTERVAL_S = 1.0
"""Least time between two writes of a live run's progress to the database."""


class ProgressRecorder:
    """Keeps a live run's latest progress in its ``runs`` row, throttled and harmless.

    ``offer`` only leaves the report for a writer thread, which writes the
    latest one it finds and then waits ``interval`` seconds before the next
    write: a Task reporting thousands of steps a second costs one small
    update a second, and the first report is written at once. A write that
    fails is logged (the first as a warning, later ones at debug level) and
    the run goes on; the final record keeps the last report anyway.

    Nothing of the database is imported until the first write: the
    Executor of ``lute run`` leaves SQLAlchemy to its recorder process
    (``lute.db.recorder``), and a Task that reports no progress must not
    bring it back.

    Args:
        work_dir: The run's work dir (where its SQLite database is by default).
        db_url: The database URL its header names, if any.
        run_id: The run.
        attempt: Its attempt.
        interval: Seconds between writes.
    """

    def __init__(
        self,
        work_dir: str,
        db_url: str | None,
        run_id: str,
        attempt: int,
        interval: float = RECORD_INTERVAL_S,
    ) -> None:
        self._work_dir = work_dir
        self._db_url = db_url
        self._run_id = run_id
        self._attempt = attempt
        self._interval = interval
        self._pending: tuple[TaskProgress, float] | None = None
        self._closed = False
        self._failures = 0
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    @classmethod
    def for_run(cls, desc: DescribedAnalysis) -> ProgressRecorder | None:
        """The recorder of the attempt ``desc`` describes; ``None`` (logged) if there is none.

        Never raises: without a recorder the run goes on, its progress shown
        but kept only in its final record.
        """
        try:
            header = desc.task_parameters.lute_config
            return cls(str(header.work_dir), header.db_url, desc.run_id, desc.attempt)
        except Exception:
            logger.warning("cannot record the progress of run %s as it goes", desc.run_id)
            logger.debug("the reason:", exc_info=True)
            return None

    def offer(self, progress: TaskProgress) -> None:
        """Have ``progress`` written soon (a later offer replaces one not yet written)."""
        with self._wake:
            if self._closed:
                return
            self._pending = (progress, time.time())
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._write_loop, name="lute-progress", daemon=True
                )
                self._thread.start()
            self._wake.notify()

    def close(self) -> None:
        """Stop writing; a report not yet written is left to the final record."""
        with self._wake:
            self._closed = True
            self._wake.notify()

    def _write_loop(self) -> None:
        while True:
            with self._wake:
                while self._pending is None and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                progress, when = self._pending
                self._pending = None
            self._write(progress, when)
            with self._wake:
                self._wake.wait_for(lambda: self._closed, timeout=self._interval)

    def _write(self, progress: TaskProgress, when: float) -> None:
        try:
            from lute.db.engine import database_url  # noqa: PLC0415 (SQLAlchemy)
            from lute.db.records import progress_values  # noqa: PLC0415
            from lute.db.schema import open_database  # noqa: PLC0415

            url = database_url(self._work_dir, self._db_url)
            written = open_database(url).record_progress(
                self._run_id, self._attempt, progress_values(progress, when)
            )
            logger.debug("recorded progress %s of run %s: %s", progress, self._run_id, written)
        except Exception as err:  # any failure: the run matters more than its progress
            self._failures += 1
            logger.log(
                logging.WARNING if self._failures == 1 else logging.DEBUG,
                "could not record the progress of run %s (the run goes on): %s",
                self._run_id,
                err,
            )
