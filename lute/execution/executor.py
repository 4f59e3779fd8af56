"""Executors: run a Task in a subprocess, listen to it, decide and record the outcome.

``execute_task`` validates the configuration, starts the Task process in its
own process group, and then waits, with one selector, on everything that can
happen: output on the child's stdout and stderr, connections and frames on
the private socket, the child's exit (a pidfd), and signals to the Executor
(a wake-up fd). Each message goes to the hook for its signal. When the child
has exited and its channels are drained, the final status is decided from the
messages and the exit status, after-tasklets run, and the run is recorded.
"""

from __future__ import annotations

import contextlib
import logging
import os
import reprlib
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from lute.exceptions import ConfigurationError
from lute.execution.elog_reporter import ElogReporter
from lute.execution.environment import merge_environment, source_script
from lute.execution.ipc import (
    LUTE_SIGNALS,
    Message,
    PipeCommunicator,
    SocketCommunicator,
    TextLine,
    new_key,
)
from lute.io import db
from lute.io.config import load_task_parameters
from lute.io.elog import without_secrets
from lute.io.models.base import TaskParameters
from lute.tasks import registry
from lute.tasks.dataclasses import DescribedAnalysis, TaskResult, TaskStatus

logger = logging.getLogger(__name__)

Hook = Callable[["BaseExecutor", Message], None]
HOOK_NAMES: tuple[str, ...] = tuple(name.lower() for name in LUTE_SIGNALS)
TASKLET_WHEN = ("before", "after")
DRAIN_GRACE_S = 5.0
"""After the Task exits, how long to wait for descendants still holding its pipes."""
STDERR_TAIL_LINES = 20


@dataclass
class Tasklet:
    """A function the Executor runs in its own process before or after the Task.

    Attributes:
        function: What to call.
        args: Positional arguments for it.
        when: ``"before"`` the Task starts, or ``"after"`` it completed.
        set_result: Store the return value as the result payload.
        set_summary: Store the return value as the result summary.
    """

    function: Callable[..., Any]
    args: tuple[Any, ...] = ()
    when: str = "after"
    set_result: bool = False
    set_summary: bool = False


@dataclass
class _RunState:
    """What the wait loop tracks for one Task process."""

    proc: subprocess.Popen[bytes]
    deadline: float | None
    kill_at: float | None = None
    drain_until: float | None = None
    exited: bool = False
    timed_out: bool = False
    cancelled_by: int | None = None
    open_streams: int = 2
    stderr_tail: deque[str] = field(default_factory=lambda: deque(maxlen=STDERR_TAIL_LINES))
    hooks_fired: set[str] = field(default_factory=set)


class BaseExecutor:
    """Runs one Task as a managed subprocess.

    Public methods check their input and delegate to protected hooks that
    subclasses override: ``_submit_cmd`` (the command line), ``_pre_task``,
    ``_finalize_task`` and ``_process_results``.

    Args:
        task_name: Name of the Task to run (its class and config section).
        time_limit: Seconds before the Task is stopped; overrides the
            header's ``task_timeout`` when given.
        kill_grace: Seconds between the polite SIGTERM and SIGKILL.
    """

    def __init__(
        self,
        task_name: str,
        time_limit: float | None = None,
        kill_grace: float = 10.0,
    ) -> None:
        self._task_name = task_name
        self._time_limit = time_limit
        self._kill_grace = kill_grace
        self._hooks: dict[str, Hook] = {}
        self._tasklets: list[Tasklet] = []
        self._env: dict[str, str] = dict(os.environ)
        self._elog = ElogReporter(self._env)
        self._env = without_secrets(self._env)
        self._analysis_desc = DescribedAnalysis(task_result=TaskResult(task_name))
        self._socket_path: str | None = None
        self.add_default_hooks()

    @property
    def task_name(self) -> str:
        """The Task this Executor runs."""
        return self._task_name

    @property
    def socket_path(self) -> str | None:
        """The socket the running Task reports on; ``None`` between runs."""
        return self._socket_path

    @property
    def analysis(self) -> DescribedAnalysis:
        """The record of the current (or last) run."""
        return self._analysis_desc

    def add_default_hooks(self) -> None:
        """Install the hook for every signal; subclasses may add their own."""
        for name in HOOK_NAMES:
            self._hooks[name] = getattr(type(self), f"_hook_{name}")

    def add_hook(self, event: str, hook: Hook) -> None:
        """Replace the function called when the Task sends ``event``.

        Args:
            event: A signal name such as ``task_started`` (any case).
            hook: Called as ``hook(executor, message)``.

        Raises:
            ConfigurationError: ``event`` is not a known signal.
        """
        name = event.lower()
        if name not in HOOK_NAMES:
            raise ConfigurationError(
                f"no event {event!r}; hooks exist for: {', '.join(HOOK_NAMES)}"
            )
        self._hooks[name] = hook

    def add_tasklet(
        self,
        tasklet: Callable[..., Any],
        args: tuple[Any, ...] = (),
        when: str = "after",
        set_result: bool = False,
        set_summary: bool = False,
    ) -> None:
        """Run ``tasklet(*args)`` in the Executor before or after the Task.

        After-tasklets run only when the Task completed. An exception in a
        tasklet is logged and recorded; it does not change the Task's status.
        """
        if when not in TASKLET_WHEN:
            raise ConfigurationError(
                f"tasklet when={when!r} is not valid; choose one of: {', '.join(TASKLET_WHEN)}"
            )
        self._tasklets.append(Tasklet(tasklet, tuple(args), when, set_result, set_summary))

    def update_environment(self, env: dict[str, str], update_path: str = "prepend") -> None:
        """Set variables in the Task's environment; see ``merge_environment``."""
        self._env = merge_environment(self._env, env, update_path)

    def shell_source(self, script: str) -> None:
        """Replace the Task's environment with the one ``script`` sets up."""
        self._env = source_script(script, self._env)

    def execute_task(self, config_path: str | None = None) -> TaskStatus:
        """Run the Task to its end and record it.

        Args:
            config_path: The YAML configuration; defaults to
                ``$LUTE_CONFIGPATH``.

        Returns:
            The final status. Callers exit non-zero unless it is COMPLETED.

        Raises:
            ConfigurationError: The configuration is missing or invalid. Nothing
                was started and nothing was recorded.
        """
        path = config_path or self._env.get("LUTE_CONFIGPATH")
        if not path:
            raise ConfigurationError("no configuration: pass -c CONFIG or set LUTE_CONFIGPATH")
        model = registry.parameter_model(self._task_name)
        params = load_task_parameters(path, self._task_name, model)
        self._analysis_desc = DescribedAnalysis(
            task_result=TaskResult(self._task_name),
            task_parameters=params,
            host=socket.gethostname(),
            run_id=uuid.uuid4().hex,
            slurm_job_id=os.environ.get("SLURM_JOB_ID"),
        )
        self._analysis_desc.task_env = {**self._env, "LUTE_CONFIGPATH": str(Path(path).resolve())}
        return self._execute(params)

    def _execute(self, params: TaskParameters) -> TaskStatus:
        desc = self._analysis_desc
        limit = self._time_limit or params.lute_config.task_timeout
        key = new_key()
        pipes = PipeCommunicator(key)
        with (
            SocketCommunicator(key) as sockets,
            _RunLogs(Path(params.lute_config.work_dir), self._task_name, desc.run_id) as run_logs,
            _SignalWakeup() as wakeup,
        ):
            desc.communicator_desc = [str(pipes), str(sockets)]
            self._socket_path = sockets.path
            desc.log_paths = run_logs.paths
            self._run_tasklets("before")
            self._pre_task()
            env = {**desc.task_env, **sockets.environment(), "LUTE_RUN_ID": desc.run_id}
            command = self._submit_cmd(self._task_entry(), desc.task_env["LUTE_CONFIGPATH"])
            logger.debug("starting Task process: %s", command)
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                start_new_session=True,
            )
            desc.start_time = time.time()
            state = _RunState(proc, deadline=time.monotonic() + limit if limit else None)
            try:
                self._wait(state, pipes, sockets, run_logs, wakeup)
            except Exception:
                self._record_executor_error("the Executor's wait loop failed")
            finally:
                _kill_group(proc, signal.SIGKILL, leftovers_only=True)
                proc.wait()
                self._socket_path = None
        self._finalize_task(state)
        return desc.task_result.task_status

    def _wait(
        self,
        state: _RunState,
        pipes: PipeCommunicator,
        sockets: SocketCommunicator,
        run_logs: _RunLogs,
        wakeup: _SignalWakeup,
    ) -> None:
        proc = state.proc
        streams = {"stdout": proc.stdout, "stderr": proc.stderr}
        with selectors.DefaultSelector() as selector, _exit_notifier(proc) as exit_fd:
            for name, stream in streams.items():
                pipes.watch(name, stream.fileno())
                selector.register(stream, selectors.EVENT_READ, ("pipe", name))
            selector.register(sockets.listener, selectors.EVENT_READ, ("listen", None))
            selector.register(exit_fd, selectors.EVENT_READ, ("exit", None))
            if wakeup.fd is not None:
                selector.register(wakeup.fd, selectors.EVENT_READ, ("signal", None))
            while not self._finished(state, sockets):
                for key, _ in selector.select(self._next_timeout(state)):
                    kind, name = key.data
                    if kind == "pipe":
                        self._on_pipe(state, pipes, key, selector, run_logs)
                    elif kind == "listen":
                        conn = sockets.accept()
                        if conn is not None:
                            selector.register(conn, selectors.EVENT_READ, ("conn", None))
                    elif kind == "conn":
                        open_, messages = sockets.read(key.fd)
                        if not open_:
                            selector.unregister(key.fileobj)
                        for message in messages:
                            self._dispatch(state, message)
                    elif kind == "exit":
                        selector.unregister(exit_fd)
                        proc.wait()
                        state.exited = True
                        state.drain_until = time.monotonic() + DRAIN_GRACE_S
                    elif kind == "signal":
                        self._on_signal(state, wakeup.drain())
                self._check_deadlines(state)

    def _finished(self, state: _RunState, sockets: SocketCommunicator) -> bool:
        if not state.exited:
            return False
        drained = state.open_streams == 0 and not any(True for _ in sockets.connections())
        if drained:
            return True
        if state.drain_until is not None and time.monotonic() >= state.drain_until:
            logger.warning(
                "Task exited but its output streams stayed open %.0fs "
                "(a descendant process holds them); stopping the read",
                DRAIN_GRACE_S,
            )
            return True
        return False

    @staticmethod
    def _next_timeout(state: _RunState) -> float | None:
        moments = [t for t in (state.deadline, state.kill_at, state.drain_until) if t]
        if not moments:
            return None
        return max(0.0, min(moments) - time.monotonic())

    def _check_deadlines(self, state: _RunState) -> None:
        now = time.monotonic()
        if state.exited:
            return
        if state.deadline is not None and now >= state.deadline and not state.timed_out:
            logger.error("Task exceeded its time limit; stopping it")
            state.timed_out = True
            state.deadline = None
            _kill_group(state.proc, signal.SIGTERM)
            state.kill_at = now + self._kill_grace
        elif state.kill_at is not None and now >= state.kill_at:
            logger.error("Task still running %.0fs after SIGTERM; killing it", self._kill_grace)
            _kill_group(state.proc, signal.SIGKILL)
            state.kill_at = None

    def _on_signal(self, state: _RunState, signums: list[int]) -> None:
        for signum in signums:
            if state.exited:
                continue
            logger.warning("Executor received %s; cancelling the Task", signal.Signals(signum).name)
            state.cancelled_by = signum
            _kill_group(state.proc, signal.SIGTERM)
            if state.kill_at is None:
                state.kill_at = time.monotonic() + self._kill_grace

    def _on_pipe(
        self,
        state: _RunState,
        pipes: PipeCommunicator,
        key: selectors.SelectorKey,
        selector: selectors.BaseSelector,
        run_logs: _RunLogs,
    ) -> None:
        data, items = pipes.read(key.fd)
        if not data:
            selector.unregister(key.fileobj)
            key.fileobj.close()
            state.open_streams -= 1
        task_logger = logging.getLogger(f"lute.task.{self._task_name}")
        for item in items:
            if isinstance(item, TextLine):
                run_logs.write(item)
                if item.stream == "stderr":
                    state.stderr_tail.append(item.text)
                task_logger.info("%s", item.text)
            else:
                self._dispatch(state, item)

    def _dispatch(self, state: _RunState, msg: Message) -> None:
        name = (msg.signal or "TASK_LOG").lower()
        state.hooks_fired.add(name)
        self._call_hook(name, msg)

    def _call_hook(self, name: str, msg: Message) -> None:
        try:
            self._hooks[name](self, msg)
        except Exception:
            self._record_executor_error(f"hook {name} raised")
        self._elog.notify(name, self._analysis_desc)

    def _record_executor_error(self, what: str) -> None:
        """Log an Executor-side failure and keep it in the run's record."""
        text = f"{what}:\n{traceback.format_exc()}"
        logger.error("%s", text)
        self._analysis_desc.executor_errors.append(text)

    def _finalize_task(self, state: _RunState) -> None:
        """Decide the final status, fire its hook, run after-tasklets, record."""
        desc = self._analysis_desc
        result = desc.task_result
        code = state.proc.returncode
        desc.exit_code = code
        if state.timed_out:
            result.task_status = TaskStatus.TIMEDOUT
            hook = "task_cancelled"
        elif state.cancelled_by is not None:
            result.task_status = TaskStatus.CANCELLED
            hook = "task_cancelled"
        elif code != 0:
            result.task_status = TaskStatus.FAILED
            hook = "task_failed"
        elif result.task_status is TaskStatus.FAILED:
            hook = "task_failed"
        else:
            if result.task_status is not TaskStatus.COMPLETED:
                logger.debug("Task exited 0 without a result; assuming COMPLETED")
            result.task_status = TaskStatus.COMPLETED
            hook = "task_done"
        if result.task_status is not TaskStatus.COMPLETED and not result.summary:
            result.summary = _failure_summary(result.task_status, code, state.stderr_tail)
        if hook not in state.hooks_fired:
            self._call_hook(hook, Message(result, hook.upper()))
        if result.task_status is TaskStatus.COMPLETED:
            self._run_tasklets("after")
        desc.end_time = time.time()
        self._elog.finish(desc)
        self._store_configuration()
        try:
            self._process_results()
        except Exception:
            self._record_executor_error("result processing raised")
        logger.info("%s finished: %s", self._task_name, result.task_status.value)

    def _run_tasklets(self, when: str) -> None:
        result = self._analysis_desc.task_result
        for tasklet in self._tasklets:
            if tasklet.when != when:
                continue
            name = getattr(tasklet.function, "__name__", repr(tasklet.function))
            try:
                value = tasklet.function(*tasklet.args)
            except Exception:
                self._record_executor_error(f"tasklet {name} raised")
                continue
            logger.info("tasklet %s returned %s", name, reprlib.repr(value))
            if tasklet.set_result:
                result.payload = value
            if tasklet.set_summary:
                result.summary = value

    def _store_configuration(self) -> None:
        """Record the run; if the database refuses it, it is spooled in the work dir."""
        config = self._analysis_desc.task_parameters.lute_config
        url = db.database_url(config.work_dir, config.db_url)
        try:
            db.store_run(self._analysis_desc, url, config.work_dir)
        except Exception:
            self._record_executor_error("could not record the run, nor spool it")

    def _task_entry(self) -> list[str]:
        """Arguments that start the Task side: ``subprocess_task.py`` if present."""
        root = os.environ.get("LUTE_PATH") or str(Path(__file__).resolve().parents[2])
        script = Path(root) / "subprocess_task.py"
        if script.is_file():
            return [str(script)]
        return ["-m", "lute.tasks.launch"]

    def _submit_cmd(self, entry: list[str], config_path: str) -> list[str]:
        """The command that starts the Task process."""
        flags = ["-B", "-u"] if logger.isEnabledFor(logging.DEBUG) else ["-O", "-B", "-u"]
        return [sys.executable, *flags, *entry, "-c", config_path, "-t", self._task_name]

    def _pre_task(self) -> None:
        """Called just before the Task process starts."""

    def _process_results(self) -> None:
        """Called after the run is recorded, e.g. to publish reports."""

    def _hook_task_started(self, msg: Message) -> None:
        desc = self._analysis_desc
        if isinstance(msg.contents, TaskParameters):
            desc.task_parameters = msg.contents
        params = desc.task_parameters
        if params is not None:
            declared = params.result_from_parameters()
            if declared is not None:
                desc.task_result.payload = declared
            desc.task_result.impl_schemas = type(params).impl_schemas
        desc.task_result.task_status = TaskStatus.RUNNING
        logger.info("%s started", self._task_name)

    def _hook_task_failed(self, msg: Message) -> None:
        if isinstance(msg.contents, TaskResult):
            self._adopt_result(msg.contents)
        self._analysis_desc.task_result.task_status = TaskStatus.FAILED
        logger.error("%s failed", self._task_name)

    def _hook_task_stopped(self, msg: Message) -> None:
        self._analysis_desc.task_result.task_status = TaskStatus.STOPPED
        logger.warning("%s stopped", self._task_name)

    def _hook_task_done(self, msg: Message) -> None:
        logger.debug("%s done", self._task_name)

    def _hook_task_cancelled(self, msg: Message) -> None:
        logger.warning(
            "%s ended: %s", self._task_name, self._analysis_desc.task_result.task_status.value
        )

    def _hook_task_result(self, msg: Message) -> None:
        if isinstance(msg.contents, TaskResult):
            self._adopt_result(msg.contents)
        result = self._analysis_desc.task_result
        logger.info("%s result: %s", self._task_name, result.summary)
        if result.payload not in ("", None):
            payload = (
                result.payload if isinstance(result.payload, str) else _describe(result.payload)
            )
            logger.info("%s payload: %s", self._task_name, payload)

    def _hook_task_log(self, msg: Message) -> None:
        text = msg.contents if isinstance(msg.contents, str) else _describe(msg.contents)
        logging.getLogger(f"lute.task.{self._task_name}").info("%s", text)

    def _hook_no_pickle_mode(self, msg: Message) -> None:
        logger.debug("%s asked for text-only messages", self._task_name)

    def _adopt_result(self, reported: TaskResult) -> None:
        """Take the Task's result, keeping a payload declared by its parameters."""
        current = self._analysis_desc.task_result
        if reported.payload in ("", None) and current.payload not in ("", None):
            reported.payload = current.payload
        reported.impl_schemas = reported.impl_schemas or current.impl_schemas
        self._analysis_desc.task_result = reported


class Executor(BaseExecutor):
    """The default Executor: a Python Task process, pipes and a socket."""


def _describe(contents: Any) -> str:
    """A short, bounded description of a message for the log."""
    short = reprlib.Repr()
    short.maxstring = 200
    short.maxother = 200
    if isinstance(contents, dict):
        return "{" + ", ".join(f"{k!r}: {_brief(v, short)}" for k, v in contents.items()) + "}"
    return _brief(contents, short)


def _brief(value: Any, short: reprlib.Repr) -> str:
    shape = getattr(value, "shape", None)
    if shape is not None and hasattr(value, "dtype"):
        return f"<array shape={tuple(shape)} dtype={value.dtype}>"
    return short.repr(value)


def _failure_summary(status: TaskStatus, code: int | None, tail: deque[str]) -> str:
    if status is TaskStatus.TIMEDOUT:
        reason = "exceeded its time limit"
    elif status is TaskStatus.CANCELLED:
        reason = "was cancelled"
    elif code is not None and code < 0:
        reason = f"was killed by {signal.Signals(-code).name}"
    else:
        reason = f"exited with code {code}"
    lines = "\n".join(tail)
    return f"Task {reason}" + (f"; last stderr lines:\n{lines}" if lines else "")


def _kill_group(proc: subprocess.Popen[bytes], signum: int, leftovers_only: bool = False) -> None:
    """Signal the Task's whole process group (it leads its own session)."""
    try:
        os.killpg(proc.pid, signum)
    except (ProcessLookupError, PermissionError):
        return
    if leftovers_only:
        logger.warning("killed processes the Task left running")


@contextlib.contextmanager
def _exit_notifier(proc: subprocess.Popen[bytes]) -> Iterator[int]:
    """A file descriptor that becomes readable when ``proc`` exits."""
    if hasattr(os, "pidfd_open"):
        fd = os.pidfd_open(proc.pid)
        try:
            yield fd
        finally:
            os.close(fd)
        return
    read_fd, write_fd = os.pipe()

    def wait() -> None:
        proc.wait()
        os.close(write_fd)

    threading.Thread(target=wait, daemon=True).start()
    try:
        yield read_fd
    finally:
        os.close(read_fd)


class _SignalWakeup:
    """Turns SIGINT/SIGTERM to the Executor into readable bytes for the selector.

    Handlers are installed only in the main thread (Python's rule); elsewhere
    ``fd`` is ``None`` and signals keep their previous handling.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.fd: int | None = None
        self._pair: tuple[socket.socket, socket.socket] | None = None
        self._previous: dict[int, Any] = {}
        self._previous_fd = -1

    def __enter__(self) -> _SignalWakeup:
        if threading.current_thread() is not threading.main_thread():
            return self
        reader, writer = socket.socketpair()
        reader.setblocking(False)
        writer.setblocking(False)
        self._pair = (reader, writer)
        self._previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        for signum in self.SIGNALS:
            self._previous[signum] = signal.signal(signum, _note_signal)
        self.fd = reader.fileno()
        return self

    def drain(self) -> list[int]:
        """The signals received since the last call."""
        if self._pair is None:
            return []
        try:
            data = self._pair[0].recv(4096)
        except BlockingIOError:
            return []
        return [b for b in data if b in self.SIGNALS]

    def __exit__(self, *exc_info: object) -> None:
        if self._pair is None:
            return
        signal.set_wakeup_fd(self._previous_fd)
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        for sock in self._pair:
            sock.close()


def _note_signal(signum: int, frame: Any) -> None:
    """Signal handler: the byte written to the wake-up fd is the whole job."""


class _RunLogs:
    """The run's stdout and stderr text, kept in files named by run id."""

    def __init__(self, work_dir: Path, task_name: str, run_id: str) -> None:
        directory = work_dir / "logs" / task_name
        self.paths = {
            "stdout": str(directory / f"{run_id}.out"),
            "stderr": str(directory / f"{run_id}.err"),
        }
        self._directory = directory
        self._files: dict[str, IO[str]] = {}

    def __enter__(self) -> _RunLogs:
        self._directory.mkdir(parents=True, exist_ok=True)
        for stream, path in self.paths.items():
            self._files[stream] = open(path, "w", encoding="utf-8")
        return self

    def write(self, line: TextLine) -> None:
        self._files[line.stream].write(line.text + "\n")

    def __exit__(self, *exc_info: object) -> None:
        for handle in self._files.values():
            handle.close()
