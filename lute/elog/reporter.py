"""Publishing a run to the eLog without ever making the Executor wait on it.

The Executor tells its ``ElogReporter`` about every hook it ran (``notify``)
and, once the final status is known, asks it to finish (``finish``). The
reporter turns these into logbook posts and hands them to one background
thread, so a slow, failing or absent logbook costs the run nothing but the
bounded wait of ``finish``:

* after a lifecycle hook: ``"<Task> status": <status>`` on the job's status
  counters; the status is whatever the hook left (so a time-out, signalled
  through ``task_cancelled``, posts ``TIMEDOUT``);
* when the payload is an ``ElogSummaryPlots``: the report is written (local
  disk, not the network) and its path replaces the payload, before the run
  is recorded;
* at finish: a ``dict`` summary (or the dicts of a list, which tasklets
  make by adding to the summary) becomes run-table parameters; then the queue
  gets at most ``LUTE_ELOG_FLUSH_TIMEOUT`` seconds to drain.

A failed post (after the client's retries) is logged once per run; the count
and the first reason go to the run's ``executor_errors``, so they are kept
with its record. Posts still queued after the flush are abandoned and
counted as failed.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from lute.core.analysis import DescribedAnalysis, ElogSummaryPlots, TaskStatus
from lute.core.exceptions import ConfigurationError
from lute.core.redaction import redact_value
from lute.elog.settings import ENV_STATUS_URL, ENV_URL, ElogSettings
from lute.elog.summary import ENV_SUMMARY_DIR, report_path, summary_directory, write_report

if TYPE_CHECKING:
    from lute.elog.client import ElogClient

logger = logging.getLogger(__name__)

WORKER_NAME = "lute-elog"
RETRY_LOGGER = "urllib3.connectionpool"
"""Logs a warning on every retry; from the worker that is detail (see ``_RetryDetail``)."""
STATUS_HOOKS = frozenset(
    {"task_started", "task_failed", "task_stopped", "task_done", "task_cancelled"}
)
"""Hooks after which the Task's status is posted."""


class ElogReporter:
    """The Executor's link to the eLog: decides what to post and posts it in the background.

    Args:
        env: Environment to read the eLog settings and ``LUTE_SUMMARY_DIR``
            from. Settings that cannot be used (a credentials file open to
            others, a missing Kerberos package) disable posting with one
            error line; they never stop the Task.
    """

    def __init__(self, env: Mapping[str, str]) -> None:
        self._summary_dir = env.get(ENV_SUMMARY_DIR)
        self._client: ElogClient | None = None
        self._setup_error: str | None = None
        self._flush_timeout = 0.0
        try:
            settings = ElogSettings.from_environment(env)
            if settings.configured:
                # The client brings requests (slow to import): only when there is a logbook.
                from lute.elog.client import ElogClient  # noqa: PLC0415

                self._client = ElogClient(settings)
                self._flush_timeout = settings.flush_timeout
        except ConfigurationError as err:
            self._setup_error = f"eLog disabled: {err}"
            logger.error("%s", self._setup_error)
        self._poster = _BackgroundPoster()
        self._failures = _RunFailures()
        self._skipped: set[str] = set()

    @property
    def enabled(self) -> bool:
        """Whether anything will be posted."""
        return self._client is not None

    def notify(self, hook: str, desc: DescribedAnalysis) -> None:
        """React to a hook the Executor just ran; never raises, never waits on the network.

        Args:
            hook: The hook's name, e.g. ``task_started``.
            desc: The run, as the hook left it.
        """
        if isinstance(desc.task_result.payload, ElogSummaryPlots):
            self._publish_report(desc)
        if hook in STATUS_HOOKS:
            self._post_status(desc.task_result.task_name, desc.task_result.task_status)

    def finish(self, desc: DescribedAnalysis) -> None:
        """Queue the run-table post, wait at most the flush timeout, keep failures with the run.

        Returns once the queue is empty or the deadline passed, whichever is
        first; posts still queued are abandoned (the worker is a daemon
        thread and does not hold the process).
        """
        if self._setup_error is not None:
            desc.executor_errors.append(self._setup_error)
            return
        if self._client is None:
            # Said once per run, at INFO: people who watch the eLog must learn why it is quiet.
            logger.info(
                "eLog not configured (set %s or %s); %s run %s was not posted",
                ENV_URL,
                ENV_STATUS_URL,
                desc.task_result.task_name,
                desc.run_id,
            )
            return
        summary = desc.task_result.summary
        parts = summary if isinstance(summary, list) else [summary]
        table = {k: v for part in parts if isinstance(part, dict) for k, v in part.items()}
        if table:
            self._post_run_parameters(table, desc)
        failures, self._failures = self._failures, _RunFailures()
        pending = self._poster.flush(self._flush_timeout)
        if pending:
            failures.add(
                f"{pending} post(s) still queued after the {self._flush_timeout:g} s flush;"
                " abandoned"
            )
        text = failures.close()
        if text is not None:
            desc.executor_errors.append(text)

    def pending(self) -> int:
        """Posts queued or in flight."""
        return self._poster.pending()

    def _post_status(self, task_name: str, status: TaskStatus) -> None:
        client = self._client
        if client is None:
            return
        if not client.settings.status_url:
            self._skip_once("status", f"no {ENV_STATUS_URL}: Task status is not posted")
            return
        counters = {f"{task_name} status": status.value}
        self._submit(
            f"posting {task_name} status {status.value}", client.update_run_status, counters
        )

    def _post_run_parameters(self, summary: dict[str, Any], desc: DescribedAnalysis) -> None:
        client = self._client
        if client is None:
            return
        header = getattr(desc.task_parameters, "lute_config", None)
        run = getattr(header, "run", "")
        if not client.settings.url or run in ("", None):
            self._skip_once("run_table", f"no {ENV_URL} or no run number: summary not posted")
            return
        experiment = getattr(header, "experiment", "") or None
        self._submit(
            f"adding run parameters of run {run}",
            client.add_run_parameters,
            {name: redact_value(name, value) for name, value in summary.items()},
            run,
            experiment,
        )

    def _publish_report(self, desc: DescribedAnalysis) -> None:
        plots: ElogSummaryPlots = desc.task_result.payload
        header = getattr(desc.task_parameters, "lute_config", None)
        try:
            directory = summary_directory(
                getattr(header, "experiment", ""),
                getattr(header, "work_dir", "."),
                self._summary_dir,
            )
            path = write_report(plots, report_path(directory, plots.display_name))
        except Exception as err:  # a figure's own save() may raise anything
            text = f"eLog summary report {plots.display_name!r} not written: {err}"
            logger.error("%s", text)
            desc.executor_errors.append(text)
            desc.task_result.payload = f"<report not written: {err}>"
            return
        desc.task_result.payload = str(path)

    def _submit(self, what: str, call: Callable[..., Any], *args: Any) -> None:
        failures = self._failures
        failures.posted += 1

        def job() -> None:
            try:
                call(*args)
            except Exception as err:  # any failure of a post is the logbook's, never the Task's
                failures.add(f"{what}: {err}")

        self._poster.submit(job)

    def _skip_once(self, kind: str, text: str) -> None:
        if kind not in self._skipped:
            self._skipped.add(kind)
            logger.debug("eLog: %s", text)


class _RunFailures:
    """Failed posts of one run: the first is logged, all are counted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._first: str | None = None
        self._count = 0
        self._closed = False
        self.posted = 0

    def add(self, reason: str) -> None:
        """Count a failure; log it if it is the run's first."""
        with self._lock:
            self._count += 1
            if self._first is not None or self._closed:
                return
            self._first = reason
        logger.warning(
            "eLog post failed, the Task is unaffected (further eLog failures of this run"
            " are counted, not logged): %s",
            reason,
        )

    def close(self) -> str | None:
        """Stop logging; the run's failures as one line, or ``None`` if there were none."""
        with self._lock:
            self._closed = True
            if self._first is None:
                return None
            return f"eLog: {self._count} failure(s) in {self.posted} post(s); first: {self._first}"


class _BackgroundPoster:
    """One daemon thread running queued calls in order; started by the first call."""

    def __init__(self) -> None:
        self._jobs: collections.deque[Callable[[], None]] = collections.deque()
        self._pending = 0
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def submit(self, job: Callable[[], None]) -> None:
        """Queue ``job``; it must catch its own exceptions."""
        with self._changed:
            self._jobs.append(job)
            self._pending += 1
            if self._thread is None:
                _RetryDetail.install()
                self._thread = threading.Thread(target=self._work, name=WORKER_NAME, daemon=True)
                self._thread.start()
            self._changed.notify_all()

    def pending(self) -> int:
        """Jobs queued or running."""
        with self._changed:
            return self._pending

    def flush(self, timeout: float) -> int:
        """Wait until every job ran or ``timeout`` passed; return how many are left."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
            return self._pending

    def _work(self) -> None:
        while True:
            with self._changed:
                while not self._jobs:
                    self._changed.wait()
                job = self._jobs.popleft()
            try:
                job()
            finally:
                with self._changed:
                    self._pending -= 1
                    self._changed.notify_all()


class _RetryDetail(logging.Filter):
    """Turns urllib3's per-retry warnings from the worker into debug records.

    The reporter logs a run's eLog failure once; a warning for every retry
    of every post would bury that line, so they show with debug output only.
    """

    @classmethod
    def install(cls) -> None:
        """Add the filter to urllib3's pool logger, once."""
        retry_logger = logging.getLogger(RETRY_LOGGER)
        if not any(isinstance(f, cls) for f in retry_logger.filters):
            retry_logger.addFilter(cls())

    def filter(self, record: logging.LogRecord) -> bool:
        """Demote the worker's warnings; keep them only when debug output is on."""
        if record.threadName != WORKER_NAME or record.levelno != logging.WARNING:
            return True
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return logger.isEnabledFor(logging.DEBUG)
