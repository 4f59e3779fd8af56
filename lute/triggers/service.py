"""The ``lute watch`` service: triggers in, launches out, exactly once, until told to stop.

One thread (the caller's) does all the bookkeeping; triggers watch on their
own threads and only hand events over (a queue and a byte on a wake-up
pipe). The loop waits on one selector for everything at once: the wake-up
pipe (events, signals) and a pidfd per launched process. It never sleeps
to poll.

Each turn of the loop:

1. **Record** the events that arrived in the ledger (one transaction);
   an event seen before (same trigger and key) adds nothing.
2. **Launch** what the ledger holds, oldest first, up to ``max_running``
   launches per trigger: each launch is claimed in the ledger before its
   process starts. Events beyond that wait in the ledger, not in memory and
   not as processes: 10,000 files arriving at once cost 10,000 rows, and at
   most ``max_running`` processes.
3. **Settle** launches whose processes ended: outcome, exit status, the run
   ids or job ids their logs name.

On SIGTERM or SIGINT the triggers stop, events already seen are recorded
(the next watcher launches them), and running launches are left to finish
(``on_stop: wait``) or cancelled (``on_stop: cancel``); a second signal
cancels them all. A cancelled launch that has not ended after
``STOP_GRACE_S`` is killed with its process group. The service returns only
when no process of its launches is left.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import os
import queue
import selectors
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType

import sqlalchemy as sa
import yaml

from lute.db.engine import redacted
from lute.db.errors import DatabaseError, failure_reason
from lute.db.ledger import ClaimedLaunch, EventRecord, LaunchEnd, Ledger
from lute.triggers.actions import launch_files, prepare, read_evidence, trigger_context
from lute.triggers.base import TriggerEvent
from lute.triggers.database import DatabaseTrigger
from lute.triggers.dir import DirTrigger
from lute.triggers.processes import Tracked, identity, kill_group, reap, send, spawn
from lute.triggers.recovery import recover, settled_end
from lute.triggers.spec import TriggerSpec, WatchSpec

logger = logging.getLogger(__name__)

STOP_GRACE_S = 60.0
"""Seconds a cancelled launch has to end before its process group is killed."""
RETRY_S = 1.0
"""Seconds before retrying a ledger write the database refused."""
LAUNCH_DIR = "triggers"
"""Under the work dir: one directory per trigger with each launch's config and log."""


@dataclasses.dataclass
class TriggerStats:
    """What the status line shows for one trigger."""

    seen: int = 0
    queued: int = 0
    launched: int = 0
    running: int = 0
    failed: int = 0


@dataclasses.dataclass
class _Launch:
    """A launch whose processes are being followed."""

    launch_id: int
    spec: TriggerSpec
    processes: dict[int, Tracked]
    log_path: Path
    exit_code: int | None = None
    own: bool = True
    cancelled: bool = False
    kill_at: float | None = None


StatusCallback = Callable[[dict[str, TriggerStats]], None]


class WatchService:
    """Runs the triggers of a trigger file and launches what they fire.

    Args:
        spec: The checked trigger file.
        once: Handle what is pending now (files there, rows matching,
            events queued), wait for those launches, and return.
        on_change: Called with every trigger's stats whenever they change.
    """

    def __init__(
        self, spec: WatchSpec, *, once: bool = False, on_change: StatusCallback | None = None
    ) -> None:
        self.spec = spec
        self.once = once
        self.ledger = Ledger(spec.db_url)
        self.host = socket.gethostname()
        self.stats = {t.name: TriggerStats() for t in spec.triggers}
        self._specs = {t.name: t for t in spec.triggers}
        self._on_change = on_change
        self._inbox: queue.SimpleQueue[tuple[str, TriggerEvent]] = queue.SimpleQueue()
        self._pending: list[EventRecord] = []
        self._started: list[tuple[int, int, str | None, str]] = []
        self._ends: list[LaunchEnd] = []
        self._launches: dict[int, _Launch] = {}
        self._by_fd: dict[int, tuple[_Launch, Tracked]] = {}
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._stop_requests = 0
        self._stopping = False
        self._retry_at: float | None = None
        self._failed_any = False
        self._drawn: dict[str, TriggerStats] = {}
        self._tag = hashlib.sha256(spec.db_url.encode()).hexdigest()[:12]

    # -- the loop

    def run(self) -> int:
        """Watch until stopped (or, with ``once``, until what was pending is done).

        Returns:
            0; with ``once``, 1 if a launch failed.
        """
        try:
            self.ledger.create()
        except sa.exc.SQLAlchemyError as err:
            raise DatabaseError(
                f"cannot open the trigger ledger in {redacted(self.spec.db_url)}:"
                f" {failure_reason(err)}"
            ) from err
        with self._signals():
            try:
                self._recover()
                self._start_triggers()
                launched = 0
                while True:
                    self._handle_stop_requests()
                    self._record()
                    if not self._stopping:
                        launched = self._launch()
                        self._record_started()
                    self._show()
                    if self._finished(launched):
                        break
                    self._wait()
            finally:
                self._stop_triggers()
                self._record()
                self._selector.close()
                os.close(self._wake_r)
                os.close(self._wake_w)
        return 1 if self.once and self._failed_any else 0

    def request_stop(self) -> None:
        """Stop as a first SIGTERM would (from any thread); a second call cancels everything."""
        self._stop_requests += 1
        self._wake()

    @contextlib.contextmanager
    def _signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(_signum: int, _frame: FrameType | None) -> None:
            self.request_stop()

        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError):
            os.write(self._wake_w, b"!")

    def _finished(self, launched: int) -> bool:
        """Stopping with nothing left running, or (``once``) with nothing left to launch.

        Ends not yet in the ledger are written on the way out.
        """
        if self._launches:
            return False
        return self._stopping or (self.once and launched == 0)

    def _wait(self) -> None:
        deadlines = [launch.kill_at for launch in self._launches.values() if launch.kill_at]
        if self._retry_at is not None:
            deadlines.append(self._retry_at)
        timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
        for key, _mask in self._selector.select(timeout):
            if key.fd == self._wake_r:
                with contextlib.suppress(BlockingIOError):
                    while os.read(self._wake_r, 4096):
                        pass
            else:
                self._exited(key.fd)
        self._retry_at = None
        now = time.monotonic()
        for launch in self._launches.values():
            if launch.kill_at is not None and launch.kill_at <= now:
                logger.error(
                    "trigger %s: launch %d did not end %g s after it was cancelled; killing it",
                    launch.spec.name,
                    launch.launch_id,
                    STOP_GRACE_S,
                )
                for process in launch.processes.values():
                    kill_group(process)
                launch.kill_at = None

    # -- triggers

    def _start_triggers(self) -> None:
        for spec in self.spec.triggers:
            trigger = spec.trigger
            if isinstance(trigger, DatabaseTrigger):
                trigger.mark_seen(sorted(self.ledger.known_keys(spec.name)))
            self.stats[spec.name].queued = self.ledger.count_queued(spec.name)
            if self.once:
                self._scan(spec)
                continue
            trigger.watch(lambda event, name=spec.name: self._emit(name, event))
            if spec.catch_up and isinstance(trigger, DirTrigger):
                self._scan(spec)
        if not self.once:
            names = ", ".join(spec.name for spec in self.spec.triggers)
            logger.info("watching: %s (ledger in %s)", names, redacted(self.spec.db_url))

    def _scan(self, spec: TriggerSpec) -> None:
        try:
            for event in spec.trigger.scan():
                self._emit(spec.name, event)
        except (sa.exc.SQLAlchemyError, ValueError, OSError) as err:
            logger.error("trigger %s: catching up failed: %s", spec.name, failure_reason(err))

    def _emit(self, name: str, event: TriggerEvent) -> None:
        self._inbox.put((name, event))
        self._wake()

    def _stop_triggers(self) -> None:
        for spec in self.spec.triggers:
            spec.trigger.stop()

    def _handle_stop_requests(self) -> None:
        """A first request stops watching (and cancels ``on_stop: cancel``); a second, all."""
        if self._stop_requests and not self._stopping:
            self._begin_stop()
        if self._stop_requests > 1:
            for launch in self._launches.values():
                self._cancel(launch)

    def _begin_stop(self) -> None:
        self._stopping = True
        logger.info("stopping: no new launches; %d running", len(self._launches))
        self._stop_triggers()
        for launch in self._launches.values():
            if launch.spec.on_stop == "cancel":
                self._cancel(launch)

    # -- the ledger

    def _record(self) -> None:
        """Move events from the inbox into the ledger; settle ended launches."""
        while True:
            try:
                name, event = self._inbox.get_nowait()
            except queue.Empty:
                break
            self._pending.append(
                EventRecord(name, event.key, event.kind, event.time, event.context())
            )
        with self._ledger_write("recording events"):
            added = self.ledger.enqueue(self._pending)
            self._pending.clear()
            for record in added:
                self.stats[record.trigger].seen += 1
                self.stats[record.trigger].queued += 1
        self._record_started()
        with self._ledger_write("recording ended launches"):
            self.ledger.finish(self._ends)
            self._ends.clear()

    def _record_started(self) -> None:
        """Record the processes just started, so a restarted watcher can tell."""
        with self._ledger_write("recording started launches"):
            self.ledger.started(self._started)
            self._started.clear()

    @contextlib.contextmanager
    def _ledger_write(self, what: str) -> Iterator[None]:
        """Keep what could not be written for the next turn, a second from now."""
        try:
            yield
        except sa.exc.SQLAlchemyError as err:
            logger.error("ledger: %s failed (retrying): %s", what, failure_reason(err))
            self._retry_at = time.monotonic() + RETRY_S

    # -- launching

    def _launch(self) -> int:
        """Claim and start what the ledger holds, within each trigger's limit."""
        launched = 0
        for spec in self.spec.triggers:
            running = sum(1 for launch in self._launches.values() if launch.spec is spec)
            free = spec.max_running - running
            if free <= 0:
                continue
            claimed: list[ClaimedLaunch] = []
            with self._ledger_write(f"claiming events of {spec.name}"):
                claimed = self.ledger.claim(spec.name, spec.trigger.batch_size, free, self.host)
            for claim in claimed:
                self.stats[spec.name].queued -= len(claim.events)
                self._start(spec, claim)
                launched += 1
        return launched

    def _start(self, spec: TriggerSpec, claim: ClaimedLaunch) -> None:
        stats = self.stats[spec.name]
        stats.launched += 1
        launch_dir = self._launch_dir(spec.name)
        context = trigger_context(spec.name, [event.context for event in claim.events])
        what = describe_events(claim.events)
        try:
            prepared = prepare(
                spec.action,
                context,
                launch_dir,
                claim.launch_id,
                marker=self._marker(claim.launch_id),
                environ={**os.environ, **self.spec.launch_env},
            )
            process = spawn(prepared)
        except (OSError, ValueError, yaml.YAMLError) as err:
            _, log_path = launch_files(launch_dir, claim.launch_id)
            logger.error(
                "trigger %s: launch %d for %s could not start: %s",
                spec.name,
                claim.launch_id,
                what,
                err,
            )
            with contextlib.suppress(OSError):
                log_path.parent.mkdir(parents=True, exist_ok=True)
                log_path.write_text(f"could not start: {err}\n", encoding="utf-8")
            stats.failed += 1
            self._failed_any = True
            self._ends.append(LaunchEnd(claim.launch_id, "failed"))
            return
        launch = _Launch(claim.launch_id, spec, {}, prepared.log_path)
        self._follow(launch, [process])
        self._started.append(
            (claim.launch_id, process.pid, identity(process), str(prepared.log_path))
        )
        logger.info(
            "trigger %s: launch %d: %s for %s (pid %d, log %s)",
            spec.name,
            claim.launch_id,
            spec.action.describe(),
            what,
            process.pid,
            prepared.log_path,
        )

    def _follow(self, launch: _Launch, processes: Sequence[Tracked]) -> None:
        self._launches[launch.launch_id] = launch
        self.stats[launch.spec.name].running += 1
        for process in processes:
            launch.processes[process.pidfd] = process
            self._by_fd[process.pidfd] = (launch, process)
            self._selector.register(process.pidfd, selectors.EVENT_READ)
        if self._stopping and (launch.spec.on_stop == "cancel" or self._stop_requests > 1):
            self._cancel(launch)

    def _exited(self, fd: int) -> None:
        launch, process = self._by_fd.pop(fd)
        self._selector.unregister(fd)
        del launch.processes[fd]
        status = reap(process)
        if process.popen is not None:
            launch.exit_code = status
        if not launch.processes:
            self._end(launch)

    def _end(self, launch: _Launch) -> None:
        del self._launches[launch.launch_id]
        stats = self.stats[launch.spec.name]
        stats.running -= 1
        action = launch.spec.action
        evidence = read_evidence(action, launch.log_path)
        if launch.own:
            if launch.exit_code == 0:
                outcome = "submitted" if action.submit else "completed"
            else:
                outcome = "cancelled" if launch.cancelled else "failed"
            end = LaunchEnd(
                launch.launch_id, outcome, launch.exit_code, evidence.run_ids, evidence.job_ids
            )
        else:
            end = settled_end(self.ledger, action, launch.launch_id, evidence)
        if end.outcome == "failed":
            stats.failed += 1
            self._failed_any = True
        self._ends.append(end)
        runs = f"; runs {', '.join(end.run_ids)}" if end.run_ids else ""
        jobs = f"; jobs {', '.join(end.job_ids)}" if end.job_ids else ""
        log = logger.warning if end.outcome in ("failed", "unknown") else logger.info
        log(
            "trigger %s: launch %d ended: %s (exit %s)%s%s",
            launch.spec.name,
            launch.launch_id,
            end.outcome,
            "unknown" if end.exit_code is None else end.exit_code,
            runs,
            jobs,
        )

    def _cancel(self, launch: _Launch) -> None:
        if launch.cancelled:
            return
        launch.cancelled = True
        launch.kill_at = time.monotonic() + STOP_GRACE_S
        signum, group = launch.spec.action.cancel_signal
        logger.info("trigger %s: cancelling launch %d", launch.spec.name, launch.launch_id)
        for process in launch.processes.values():
            send(process, signum, group)

    # -- restart

    def _recover(self) -> None:
        found = recover(
            self.ledger,
            {spec.name: spec.action for spec in self.spec.triggers},
            self.host,
            self._marker,
            lambda name, launch_id: launch_files(self._launch_dir(name), launch_id)[1],
        )
        for record, processes in found.adopted:
            spec = self._specs[record.trigger]
            default_log = launch_files(self._launch_dir(spec.name), record.launch_id)[1]
            log_path = Path(record.log_path or default_log)
            self._follow(_Launch(record.launch_id, spec, {}, log_path, own=False), processes)
            if record.pid is None:
                self._started.append((record.launch_id, processes[0].pid, None, str(log_path)))

    # -- helpers

    def _marker(self, launch_id: int) -> str:
        return f"{self._tag}:{launch_id}"

    def _launch_dir(self, name: str) -> Path:
        return self.spec.work_dir / LAUNCH_DIR / name

    def _show(self) -> None:
        if self._on_change is None:
            return
        snapshot = {name: dataclasses.replace(stats) for name, stats in self.stats.items()}
        if snapshot != self._drawn:
            self._drawn = snapshot
            self._on_change(snapshot)


def describe_events(events: Sequence[EventRecord]) -> str:
    """A short description of the events of a launch, for its log line."""

    def one(event: EventRecord) -> str:
        path = event.context.get("path")
        if path:
            return f"{event.kind} {path}"
        return f"{event.kind} {event.key}"

    if len(events) == 1:
        return one(events[0])
    return f"{len(events)} events ({one(events[0])} ... {one(events[-1])})"
