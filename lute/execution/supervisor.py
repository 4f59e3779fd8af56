"""Watch one Task process from start to exit: the Executor's wait loop.

A ``Supervisor`` waits, with one selector and without sleeping, on the
child's stdout and stderr, the private socket and its connections, the
child's exit (a pidfd) and the Executor's wake-up fd (signals and cancel
requests). It enforces the time limit, forwards signals to the Task's
process group, notices the Task stopping and continuing, keeps the run's
log files, shows the Task's progress and a heartbeat while it is silent
(``lute.execution.progress``), and when it returns nothing of the process
group is left running.

What the events mean for the run (status, hooks, the record) is the
Executor's business: the Supervisor reports messages, undecodable messages,
stops and continues through callbacks, and leaves its conclusions in a
``RunState``. The socket's own deadlines (handshakes, a paused accept) are
woken up for by the same clock as the time limit.

Lifecycle signals and what they become:

* time limit reached: SIGTERM (and SIGCONT, in case it is stopped) to the
  group, SIGKILL after ``kill_grace``; status TIMEDOUT, hook ``task_cancelled``;
* SIGTERM/SIGINT to the Executor, ``lute cancel`` or ``cancel()``: the same
  to the group; status CANCELLED, hook ``task_cancelled``; a second request
  kills at once;
* the Task stopped (SIGTSTP/SIGSTOP): status STOPPED, hook ``task_stopped``;
  continued: back to RUNNING, hook ``task_started`` with the ``TaskResult``
  as contents (a first start carries the parameters instead);
* SIGTSTP/SIGCONT to the Executor: forwarded to the group; after SIGTSTP the
  Executor stops itself once the Task has stopped, so shell job control works.
"""

from __future__ import annotations

import functools
import gc
import logging
import os
import selectors
import signal
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from lute.core.logformat import relayed_level
from lute.core.procinfo import live_group_members
from lute.core.progress import TaskProgress
from lute.execution.process import (
    CANCEL_REQUEST,
    SignalWakeup,
    end_group,
    exit_notifier,
    job_control_events,
    signal_group,
    signal_name,
)
from lute.execution.progress import ProgressRecorder, ProgressView, heartbeat_interval
from lute.execution.run_logs import RunLogs
from lute.execution.start import TaskProcess
from lute.ipc.executor_side import PipeCommunicator, SocketCommunicator
from lute.ipc.message import DecodeFailure, Message, Received, TextLine

logger = logging.getLogger(__name__)

DRAIN_GRACE_S = 5.0
"""After the Task exits, how long to wait for descendants still holding its pipes."""
STDERR_TAIL_LINES = 20
STDERR_TAIL_CHARS = 500

_Handler = Callable[[selectors.SelectorKey, selectors.BaseSelector], None]
"""What a selector registration carries: called with the ready key and the selector."""


@dataclass
class RunState:
    """One attempt as the Supervisor saw it, for the Executor to conclude from.

    Attributes:
        proc: The Task process; ``None`` if it never started.
        start_error: Why it never started.
        limit: The time limit in seconds, if any.
        timed_out: The time limit ended it.
        cancelled_by: The signal number that cancelled it, or
            ``CANCEL_REQUEST`` for ``Executor.cancel()``.
        stderr_tail: Its last stderr lines, shortened, for a failure summary.
        hooks_fired: Hooks already called for the Task's own messages.
        progress: The Task's last progress report (``Task._report_progress``).
        signals: The signals of the messages the Task sent (those decoded):
            whether it reported a result, or announced that a program takes
            its place (``NO_PICKLE_MODE``, sent just before ``exec``).
    """

    proc: TaskProcess | None = None
    start_error: str | None = None
    limit: float | None = None
    timed_out: bool = False
    cancelled_by: int | None = None
    stderr_tail: deque[str] = field(default_factory=lambda: deque(maxlen=STDERR_TAIL_LINES))
    hooks_fired: set[str] = field(default_factory=set)
    signals: set[str] = field(default_factory=set)
    progress: TaskProgress | None = None


@dataclass
class _Clock:
    """The moments the loop must wake up for even if nothing happens."""

    deadline: float | None = None
    kill_at: float | None = None
    drain_until: float | None = None

    def timeout(self, *others: float | None) -> float | None:
        """Seconds until the first of these moments and ``others``; ``None``: no moment."""
        moments = [t for t in (self.deadline, self.kill_at, self.drain_until, *others) if t]
        if not moments:
            return None
        return max(0.0, min(moments) - time.monotonic())


class Supervisor:
    """The wait loop of one attempt.

    Args:
        state: Where to leave what happened; ``state.proc`` is running.
        pipes: Decoder of the child's stdout and stderr.
        sockets: The private socket the child reports on.
        run_logs: The attempt's log files.
        wakeup: Signals and cancel requests to the Executor.
        kill_grace: Seconds between SIGTERM and SIGKILL.
        task_name: For log messages; the child's text goes to ``lute.task.<name>``.
        on_message: Called with each message from the Task.
        on_stopped: Called when the Task stopped (returns nothing).
        on_continued: Called when a stopped Task continued.
        on_error: Called with the description (and traceback) of an
            authenticated message that could not be decoded, for the run's
            record; the run goes on. It is logged either way.
        recorder: Keeps the Task's progress reports in the run database.
    """

    def __init__(
        self,
        state: RunState,
        pipes: PipeCommunicator,
        sockets: SocketCommunicator,
        run_logs: RunLogs,
        *,
        wakeup: SignalWakeup | None,
        kill_grace: float,
        task_name: str,
        on_message: Callable[[Message], None],
        on_stopped: Callable[[], None],
        on_continued: Callable[[], None],
        on_error: Callable[[str], None] | None = None,
        recorder: ProgressRecorder | None = None,
    ) -> None:
        if state.proc is None:
            raise ValueError("Supervisor needs a started process")
        self._state = state
        self._proc = state.proc
        self._pipes = pipes
        self._sockets = sockets
        self._run_logs = run_logs
        self._wakeup = wakeup
        self._kill_grace = kill_grace
        self._task_name = task_name
        self._task_logger = logging.getLogger(f"lute.task.{task_name}")
        self._on_message = on_message
        self._on_stopped = on_stopped
        self._on_continued = on_continued
        self._on_error = on_error
        self._clock = _Clock()
        self._exited = False
        self._open_streams = 2
        self._stop_self_pending = False
        self._view = ProgressView(task_name, heartbeat_interval(), recorder=recorder)

    def run(self) -> None:
        """Wait until the Task has exited and its output is read.

        However the loop ends, even by an exception (which propagates), the
        process is reaped and its whole group is gone afterwards.

        While it waits, what the process held before (modules, the
        configuration: hundreds of thousands of objects that live as long as
        the run) is kept out of the garbage collector's sight (``gc.freeze``):
        a full collection walking them all stalls the delivery of messages
        for tens of milliseconds, and it finds nothing there to free.
        """
        if self._state.limit:
            self._clock.deadline = time.monotonic() + self._state.limit
        gc.freeze()
        try:
            self._loop()
        finally:
            gc.unfreeze()
            self._view.close()
            if self._proc.poll() is None:
                signal_group(self._proc.pid, signal.SIGKILL)
            self._proc.wait()
            leftovers = end_group(self._proc.pid)
            if leftovers:
                logger.warning("killed processes the Task left running: %s", leftovers)
            for stream in (self._proc.stdout, self._proc.stderr):
                if stream is not None:
                    stream.close()

    def _loop(self) -> None:
        """Wait on every channel at once; each registration carries its handler."""
        proc = self._proc
        with selectors.DefaultSelector() as selector, exit_notifier(proc) as exit_fd:
            for name, stream in (("stdout", proc.stdout), ("stderr", proc.stderr)):
                self._pipes.watch(name, stream.fileno())
                selector.register(
                    stream, selectors.EVENT_READ, functools.partial(self._on_pipe, name)
                )
            self._sockets.attach(selector, self._on_socket)
            selector.register(exit_fd, selectors.EVENT_READ, self._on_exit)
            if self._wakeup is not None:
                selector.register(self._wakeup.fd, selectors.EVENT_READ, self._on_wakeup_fd)
            while not self._finished():
                for key, _ in selector.select(
                    self._clock.timeout(self._sockets.next_deadline(), self._view.next_beat())
                ):
                    handler: _Handler = key.data
                    handler(key, selector)
                self._check_clock()

    def _on_socket(self, key: selectors.SelectorKey, _selector: selectors.BaseSelector) -> None:
        """The listener or a connection is ready; the communicator (un)registers its sockets."""
        self._deliver(self._sockets.on_ready(key.fileobj))

    def _deliver(self, items: list[Received]) -> None:
        """Log text, report messages and undecodable ones, in the order they came."""
        for item in items:
            self._view.activity()
            if isinstance(item, TextLine):
                if item.stream == "stderr":
                    self._state.stderr_tail.append(item.text[:STDERR_TAIL_CHARS])
                self._task_logger.log(relayed_level(item.text), "%s", item.text)
            elif isinstance(item, DecodeFailure):
                logger.error("%s: %s", self._task_name, item)
                if self._on_error is not None:
                    self._on_error(f"{item}:\n{item.detail}")
            else:
                if item.signal is not None:
                    self._state.signals.add(item.signal)
                if isinstance(item.contents, TaskProgress):
                    self._state.progress = item.contents
                    self._view.update(item.contents)
                self._on_message(item)

    def _on_exit(self, key: selectors.SelectorKey, selector: selectors.BaseSelector) -> None:
        selector.unregister(key.fileobj)
        self._proc.wait()
        self._exited = True
        self._clock.drain_until = time.monotonic() + DRAIN_GRACE_S

    def _on_wakeup_fd(self, _key: selectors.SelectorKey, _selector: selectors.BaseSelector) -> None:
        if self._wakeup is not None:
            for code in self._wakeup.drain():
                self._on_wakeup(code)

    def _finished(self) -> bool:
        if not self._exited:
            return False
        if self._open_streams == 0 and self._sockets.open_connections() == 0:
            return True
        drain_until = self._clock.drain_until
        if drain_until is not None and time.monotonic() >= drain_until:
            logger.warning(
                "Task exited but its output streams stayed open %.0fs "
                "(a descendant process holds them); stopping the read",
                DRAIN_GRACE_S,
            )
            return True
        return False

    def _check_clock(self) -> None:
        now = time.monotonic()
        self._sockets.on_clock(now)
        self._view.tick(now)
        clock = self._clock
        if not self._exited and clock.deadline is not None and now >= clock.deadline:
            logger.error(
                "%s exceeded its time limit of %gs; stopping it", self._task_name, self._state.limit
            )
            self._state.timed_out = True
            clock.deadline = None
            self._terminate()
        if clock.kill_at is not None and now >= clock.kill_at:
            clock.kill_at = None
            if live_group_members(self._proc.pid):
                logger.error("Task still running %gs after SIGTERM; killing it", self._kill_grace)
                signal_group(self._proc.pid, signal.SIGKILL)

    def _terminate(self) -> None:
        """SIGTERM to the group (continued, so a stopped Task can act on it), SIGKILL later."""
        signal_group(self._proc.pid, signal.SIGTERM)
        signal_group(self._proc.pid, signal.SIGCONT)
        self._clock.kill_at = time.monotonic() + self._kill_grace

    def _on_wakeup(self, code: int) -> None:
        if code == signal.SIGCHLD:
            self._on_job_control()
        elif code in (signal.SIGTSTP, signal.SIGCONT):
            if not self._exited:
                logger.warning("Executor received %s; passing it to the Task", signal_name(code))
                self._stop_self_pending = code == signal.SIGTSTP
                signal_group(self._proc.pid, code)
        else:
            self._on_cancel(code)

    def _on_cancel(self, code: int) -> None:
        state = self._state
        why = "cancel() was called" if code == CANCEL_REQUEST else f"received {signal_name(code)}"
        if self._exited:
            logger.warning("Executor %s after the Task ended; killing what it left", why)
            if self._proc.returncode != 0 and state.cancelled_by is None:
                # scancel and Ctrl-C signal the Task and the Executor at once; a
                # Task that died first was still cancelled, not failed.
                state.cancelled_by = code
            signal_group(self._proc.pid, signal.SIGKILL)
            self._clock.drain_until = time.monotonic()
        elif state.cancelled_by is not None or state.timed_out:
            logger.warning("Executor %s again; killing the Task now", why)
            signal_group(self._proc.pid, signal.SIGKILL)
            self._clock.kill_at = None
        else:
            logger.warning("Executor %s; cancelling the Task", why)
            state.cancelled_by = code
            self._terminate()

    def _on_job_control(self) -> None:
        """Report the Task stopping and continuing; after a forwarded SIGTSTP, stop too."""
        if self._exited:
            return
        for event in job_control_events(self._proc.pid):
            if event == os.CLD_STOPPED:
                self._on_stopped()
                if self._stop_self_pending:
                    self._stop_self_pending = False
                    logger.warning("Task stopped; stopping the Executor too (SIGCONT resumes both)")
                    os.kill(os.getpid(), signal.SIGSTOP)
            elif event == os.CLD_CONTINUED:
                self._on_continued()

    def _on_pipe(
        self, stream: str, key: selectors.SelectorKey, selector: selectors.BaseSelector
    ) -> None:
        data, items = self._pipes.read(key.fd)
        if data:
            self._run_logs.write(stream, data)
        else:
            selector.unregister(key.fileobj)
            key.fileobj.close()
            self._open_streams -= 1
        self._deliver(items)
