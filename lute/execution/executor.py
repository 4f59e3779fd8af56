"""Executors: run a Task in a subprocess, listen to it, decide and record the outcome.

``execute_task`` validates the configuration, then runs up to ``retries + 1``
attempts. Each attempt starts the Task process as the leader of a new
process group (which then holds everything it starts; see
``lute.execution.process``) and hands it to a ``Supervisor``
(``lute.execution.supervisor``), which waits without sleeping on its output,
messages, exit and on signals, and leaves none of the group running. This
module decides what the events mean: it keeps the record up to date with
each message before calling the message's hook, decides the final status
from the messages, the exit status and what the Supervisor did (time limit,
cancellation), runs after-tasklets and records the attempt.

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

import contextlib
import functools
import importlib
import json
import logging
import os
import reprlib
import signal
import socket
import subprocess
import sys
import time
import traceback
import types
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lute.core.exceptions import ConfigurationError
from lute.execution.control import RunAdvert
from lute.elog.reporter import ElogReporter
from lute.tasks.environment import merge_environment, source_script
from lute.ipc.frames import (
    LUTE_SIGNALS,
    Message,
    PipeCommunicator,
    SocketCommunicator,
    new_key,
    tcp_host,
)
from lute.execution.plugins import callable_path, executor_class, import_path
from lute.execution.process import (
    CANCEL_REQUEST,
    NEW_PROCESS_GROUP,
    SignalWakeup,
    signal_name,
)
from lute.execution.run_logs import RunLogs, check_template, log_paths
from lute.execution.supervisor import RunState, Supervisor
from lute.config.loader import load_task_parameters
from lute.core.redaction import without_secrets
from lute.config.models.base import TaskParameters
from lute.tasks import registry
from lute.core.analysis import DescribedAnalysis, TaskResult, TaskStatus

logger = logging.getLogger(__name__)

Hook = Callable[["BaseExecutor", Message], None]
HOOK_NAMES: tuple[str, ...] = tuple(name.lower() for name in LUTE_SIGNALS)
TASKLET_WHEN = ("before", "after")
CANCEL_CODES = (signal.SIGINT, signal.SIGTERM, CANCEL_REQUEST)


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


class BaseExecutor:
    """Runs one Task as a managed subprocess.

    Public methods check their input and delegate to protected hooks that
    subclasses override: ``_submit_cmd`` (the command line), ``_pre_task``,
    ``_finalize_task``, ``_process_results`` and ``_options`` (constructor
    arguments, for ``to_dict``). ``setup`` and ``teardown`` run once per
    ``execute_task``, around all attempts.

    Args:
        task_name: Name of the Task to run (its class and config section).
        time_limit: Seconds before the Task is stopped; overrides the
            header's ``task_timeout`` when given.
        kill_grace: Seconds between the polite SIGTERM and SIGKILL.
        retries: How many times a FAILED attempt is run again. CANCELLED and
            TIMEDOUT attempts are not retried: a cancel is the user's intent,
            and a Task that used up its time would most likely use it up again.
        log_dir: Directory of the log files (template; default
            ``logs/{task}`` in the work dir); see ``lute.execution.run_logs``.
        log_stdout: File for the Task's stdout (template, relative to
            ``log_dir`` or absolute).
        log_stderr: File for the Task's stderr (template, as ``log_stdout``).

    Raises:
        ConfigurationError: An option is out of range or a template is invalid.
    """

    def __init__(
        self,
        task_name: str,
        *,
        time_limit: float | None = None,
        kill_grace: float = 10.0,
        retries: int = 0,
        log_dir: str | None = None,
        log_stdout: str | None = None,
        log_stderr: str | None = None,
    ) -> None:
        if time_limit is not None and time_limit <= 0:
            raise ConfigurationError(f"time_limit={time_limit!r}: must be a positive number")
        if kill_grace < 0:
            raise ConfigurationError(f"kill_grace={kill_grace!r}: must not be negative")
        if not isinstance(retries, int) or retries < 0:
            raise ConfigurationError(f"retries={retries!r}: must be a whole number >= 0")
        for option, template in (
            ("log_dir", log_dir),
            ("log_stdout", log_stdout),
            ("log_stderr", log_stderr),
        ):
            if template is not None:
                check_template(option, template)
        self._task_name = task_name
        self._time_limit = time_limit
        self._kill_grace = kill_grace
        self._retries = retries
        self._log_templates = {
            "log_dir": log_dir,
            "log_stdout": log_stdout,
            "log_stderr": log_stderr,
        }
        self._hooks: dict[str, Hook] = {}
        self._tasklets: list[Tasklet] = []
        self._env: dict[str, str] = dict(os.environ)
        self._env_steps: list[dict[str, Any]] = []
        self._wakeup: SignalWakeup | None = None
        self._advert: RunAdvert | None = None
        self._status_before_stop = TaskStatus.RUNNING
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
        """The record of the current (or last) attempt."""
        return self._analysis_desc

    def add_default_hooks(self) -> None:
        """Install the hook for every signal; subclasses may add their own."""
        for name in HOOK_NAMES:
            self._hooks[name] = getattr(type(self), f"_hook_{name}")

    def add_hook(self, event: str, hook: Hook) -> None:
        """Replace the function called when the Task sends ``event``.

        The Executor keeps the run's status and result itself, so a hook is
        free to do anything (or nothing) with the message.

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

        Before-tasklets run before every attempt; after-tasklets only when
        the Task completed. An exception in a tasklet is logged and recorded;
        it does not change the Task's status.
        """
        if when not in TASKLET_WHEN:
            raise ConfigurationError(
                f"tasklet when={when!r} is not valid; choose one of: {', '.join(TASKLET_WHEN)}"
            )
        self._tasklets.append(Tasklet(tasklet, tuple(args), when, set_result, set_summary))

    def update_environment(self, env: dict[str, str], update_path: str = "prepend") -> None:
        """Set variables in the Task's environment; see ``merge_environment``."""
        self._env = merge_environment(self._env, env, update_path)
        self._env_steps.append({"update": dict(env), "update_path": update_path})

    def shell_source(self, script: str) -> None:
        """Replace the Task's environment with the one ``script`` sets up."""
        self._env = source_script(script, self._env)
        self._env_steps.append({"source": str(script)})

    def setup(self) -> None:
        """Prepare executor-specific resources; runs once before the first attempt.

        An exception here is recorded as a FAILED run; the Task is not started.
        """

    def teardown(self) -> None:
        """Release what ``setup`` prepared; runs once after the last attempt is recorded.

        An exception here is logged; the run's record is already written.
        """

    def cancel(self) -> bool:
        """Ask the running Task to end, as a SIGTERM to the Executor would.

        Safe to call from another thread or from a hook. The attempt ends
        CANCELLED and no retry follows.

        Returns:
            Whether a run was in progress to receive the request.
        """
        wakeup = self._wakeup
        if wakeup is None:
            return False
        wakeup.notify(CANCEL_REQUEST)
        return True

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable description that ``from_dict`` turns back into this Executor.

        Environment changes are kept as the steps that made them (replayed
        on the new host's environment, not copied); hooks and tasklets by
        import path; default hooks are implied by the class.

        Raises:
            ConfigurationError: A hook or tasklet has no import path (a
                lambda, a nested function, code in ``__main__``) or an option
                or tasklet argument is not JSON-serialisable.
        """
        hooks = {
            name: callable_path(hook, f"hook {name}")
            for name, hook in self._hooks.items()
            if hook is not getattr(type(self), f"_hook_{name}", None)
        }
        tasklets = [
            {
                "function": callable_path(tasklet.function, "tasklet"),
                "args": list(tasklet.args),
                "when": tasklet.when,
                "set_result": tasklet.set_result,
                "set_summary": tasklet.set_summary,
            }
            for tasklet in self._tasklets
        ]
        cls = type(self)
        description = {
            "executor": f"{cls.__module__}:{cls.__qualname__}",
            "task_name": self._task_name,
            "options": self._options(),
            "environment": [dict(step) for step in self._env_steps],
            "hooks": hooks,
            "tasklets": tasklets,
        }
        try:
            json.dumps(description)
        except (TypeError, ValueError) as err:
            raise ConfigurationError(
                f"{cls.__name__}.to_dict: not JSON-serialisable: {err}"
            ) from err
        return description

    @classmethod
    def from_dict(cls, description: Mapping[str, Any]) -> BaseExecutor:
        """Build the Executor ``to_dict`` described, e.g. on a batch node.

        Raises:
            ConfigurationError: The description is incomplete, names an
                unknown class, hook or tasklet, or a class that is not ``cls``
                or a subclass of it.
        """
        try:
            executor_cls = executor_class(description["executor"])
            if not issubclass(executor_cls, cls):
                raise ConfigurationError(
                    f"{description['executor']} is not a {cls.__name__}; cannot rebuild it as one"
                )
            executor = executor_cls(description["task_name"], **description.get("options", {}))
            for step in description.get("environment", []):
                if "source" in step:
                    executor.shell_source(step["source"])
                else:
                    executor.update_environment(step["update"], step["update_path"])
            for name, path in description.get("hooks", {}).items():
                executor.add_hook(name, import_path(path))
            for tasklet in description.get("tasklets", []):
                executor.add_tasklet(
                    import_path(tasklet["function"]),
                    tuple(tasklet["args"]),
                    tasklet["when"],
                    tasklet["set_result"],
                    tasklet["set_summary"],
                )
        except (KeyError, TypeError) as err:
            raise ConfigurationError(f"invalid executor description: {err!r}") from err
        return executor

    def _options(self) -> dict[str, Any]:
        """The constructor's keyword arguments; subclasses add theirs."""
        return {
            "time_limit": self._time_limit,
            "kill_grace": self._kill_grace,
            "retries": self._retries,
            **self._log_templates,
        }

    def execute_task(self, config_path: str | None = None) -> TaskStatus:
        """Run the Task to its end, retrying failures, and record every attempt.

        Args:
            config_path: The YAML configuration; defaults to
                ``$LUTE_CONFIGPATH``.

        Returns:
            The last attempt's status. Callers exit non-zero unless it is
            COMPLETED.

        Raises:
            ConfigurationError: The configuration is missing or invalid. Nothing
                was started and nothing was recorded.
        """
        path = config_path or self._env.get("LUTE_CONFIGPATH")
        if not path:
            raise ConfigurationError("no configuration: pass -c CONFIG or set LUTE_CONFIGPATH")
        model = registry.parameter_model(self._task_name)
        params = load_task_parameters(path, self._task_name, model)
        tcp_host(self._env)  # a bad IPC setting is bad input: refuse before any record
        run_id = uuid.uuid4().hex
        config = str(Path(path).resolve())
        work_dir = params.lute_config.work_dir
        logger.info(
            "%s: run %s (cancel with: lute cancel %s --work-dir %s)",
            self._task_name,
            run_id,
            run_id,
            work_dir,
        )
        with SignalWakeup() as wakeup, RunAdvert(work_dir, run_id, self._task_name) as advert:
            self._wakeup, self._advert = wakeup, advert
            try:
                status = self._attempts(params, config, run_id)
            finally:
                self._wakeup = self._advert = None
                try:
                    self.teardown()
                except Exception:
                    logger.exception(
                        "%s.teardown raised (the run is recorded)", type(self).__name__
                    )
        return status

    def _attempts(self, params: TaskParameters, config: str, run_id: str) -> TaskStatus:
        try:
            self.setup()
        except Exception:
            self._analysis_desc = self._describe_attempt(params, config, run_id, 1)
            self._record_executor_error(f"{type(self).__name__}.setup raised")
            return self._execute(params, blocked="the Executor's setup failed")
        for attempt in range(1, self._retries + 2):
            self._analysis_desc = self._describe_attempt(params, config, run_id, attempt)
            status = self._execute(params)
            if not self._retry_after(status, attempt):
                return status
        return status

    def _describe_attempt(
        self, params: TaskParameters, config: str, run_id: str, attempt: int
    ) -> DescribedAnalysis:
        desc = DescribedAnalysis(
            task_result=TaskResult(self._task_name),
            task_parameters=params,
            host=socket.gethostname(),
            run_id=run_id,
            attempt=attempt,
            slurm_job_id=os.environ.get("SLURM_JOB_ID"),
        )
        desc.task_env = {**self._env, "LUTE_CONFIGPATH": config}
        return desc

    def _retry_after(self, status: TaskStatus, attempt: int) -> bool:
        if status is not TaskStatus.FAILED or attempt > self._retries:
            return False
        wakeup = self._wakeup
        if wakeup is not None and any(code in CANCEL_CODES for code in wakeup.drain()):
            logger.warning("%s: cancelled after attempt %d; not retrying", self._task_name, attempt)
            return False
        logger.warning(
            "%s: attempt %d of %d failed; retrying", self._task_name, attempt, self._retries + 1
        )
        return True

    def _execute(self, params: TaskParameters, blocked: str | None = None) -> TaskStatus:
        """Run one attempt; ``blocked`` says why it must not start at all."""
        desc = self._analysis_desc
        state = RunState(start_error=blocked)
        key = new_key()
        pipes = PipeCommunicator(key)
        with contextlib.ExitStack() as stack:
            if blocked is None:
                try:
                    sockets = stack.enter_context(
                        SocketCommunicator(key, tcp_host=tcp_host(self._env))
                    )
                    run_logs = stack.enter_context(RunLogs(self._log_paths(params)))
                    desc.communicator_desc = [str(pipes), str(sockets)]
                    self._socket_path = sockets.path
                    desc.log_paths = run_logs.paths
                    self._run_tasklets("before")
                    self._pre_task()
                    state.proc = self._start(sockets)
                    _database_module()  # imported while the Task process starts up
                except Exception as err:
                    self._record_executor_error("could not start the Task process")
                    state.start_error = f"{type(err).__name__}: {err}"
                else:
                    self._supervise(state, pipes, sockets, run_logs)
            self._socket_path = None
        self._finalize_task(state)
        return desc.task_result.task_status

    def _log_paths(self, params: TaskParameters) -> dict[str, Path]:
        desc = self._analysis_desc
        return log_paths(
            params.lute_config.work_dir,
            self._task_name,
            desc.run_id,
            desc.attempt,
            **self._log_templates,
        )

    def _start(self, sockets: SocketCommunicator) -> subprocess.Popen[bytes]:
        desc = self._analysis_desc
        env = {**desc.task_env, **sockets.environment(), "LUTE_RUN_ID": desc.run_id}
        command = self._submit_cmd(self._task_entry(), desc.task_env["LUTE_CONFIGPATH"])
        logger.debug("starting Task process: %s", command)
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            **NEW_PROCESS_GROUP,
        )
        desc.start_time = time.time()
        logger.info(
            "%s: attempt %d of run %s started (pid %d); logs: %s",
            self._task_name,
            desc.attempt,
            desc.run_id,
            proc.pid,
            ", ".join(desc.log_paths.values()),
        )
        if self._advert is not None:
            self._advert.publish(proc.pid, desc.attempt)
        return proc

    def _supervise(
        self,
        state: RunState,
        pipes: PipeCommunicator,
        sockets: SocketCommunicator,
        run_logs: RunLogs,
    ) -> None:
        """Wait for the attempt to end; the Supervisor leaves no process behind."""
        header = self._analysis_desc.task_parameters.lute_config
        state.limit = self._time_limit or header.task_timeout
        supervisor = Supervisor(
            state,
            pipes,
            sockets,
            run_logs,
            wakeup=self._wakeup,
            kill_grace=self._kill_grace,
            task_name=self._task_name,
            on_message=lambda msg: self._dispatch(state, msg),
            on_stopped=self._on_stopped,
            on_continued=self._on_continued,
        )
        try:
            supervisor.run()
        except Exception:
            self._record_executor_error("the Executor's wait loop failed")

    def _on_stopped(self) -> None:
        result = self._analysis_desc.task_result
        if result.task_status is TaskStatus.STOPPED:
            return
        self._status_before_stop = result.task_status
        result.task_status = TaskStatus.STOPPED
        self._call_hook("task_stopped", Message(result, "TASK_STOPPED"))

    def _on_continued(self) -> None:
        result = self._analysis_desc.task_result
        if result.task_status is not TaskStatus.STOPPED:
            return
        result.task_status = self._status_before_stop
        self._call_hook("task_started", Message(result, "TASK_STARTED"))

    def _dispatch(self, state: RunState, msg: Message) -> None:
        name = (msg.signal or "TASK_LOG").lower()
        # A message proves the Task runs, even if its SIGCHLD is not read yet.
        self._on_continued()
        try:
            self._track(msg)
        except Exception:
            self._record_executor_error(f"could not take in the Task's {name} message")
        state.hooks_fired.add(name)
        self._call_hook(name, msg)

    def _track(self, msg: Message) -> None:
        """Keep the record up to date with a Task's message, before any hook runs."""
        desc = self._analysis_desc
        if msg.signal == "TASK_STARTED":
            if isinstance(msg.contents, TaskParameters):
                desc.task_parameters = msg.contents
                declared = msg.contents.result_from_parameters()
                if declared is not None:
                    desc.task_result.payload = declared
                desc.task_result.impl_schemas = type(msg.contents).impl_schemas
            desc.task_result.task_status = TaskStatus.RUNNING
        elif msg.signal in ("TASK_FAILED", "TASK_RESULT"):
            if isinstance(msg.contents, TaskResult):
                self._adopt_result(msg.contents)
            if msg.signal == "TASK_FAILED":
                desc.task_result.task_status = TaskStatus.FAILED

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

    def _finalize_task(self, state: RunState) -> None:
        """Decide the final status, fire its hook, run after-tasklets, record."""
        desc = self._analysis_desc
        code = state.proc.returncode if state.proc is not None else None
        desc.exit_code = code
        status, hook, reason = self._outcome(state, code)
        result = desc.task_result
        result.task_status = status
        if reason is not None and isinstance(result.summary, str):
            detail = result.summary or "\n".join(state.stderr_tail)
            result.summary = f"Task {reason}" + (f"\n{detail}" if detail else "")
        if hook not in state.hooks_fired:
            self._call_hook(hook, Message(result, hook.upper()))
        if result.task_status is TaskStatus.COMPLETED:
            self._run_tasklets("after")
        try:
            self._process_results()
        except Exception:
            self._record_executor_error("result processing raised")
        desc.end_time = time.time()
        self._elog.finish(desc)
        self._store_configuration()
        logger.info(
            "%s finished: %s (run %s, attempt %d)",
            self._task_name,
            result.task_status.value,
            desc.run_id,
            desc.attempt,
        )

    def _outcome(self, state: RunState, code: int | None) -> tuple[TaskStatus, str, str | None]:
        """Final status, the hook that announces it, and why it is not COMPLETED."""
        if state.proc is None:
            return TaskStatus.FAILED, "task_failed", f"could not start: {state.start_error}"
        if state.timed_out:
            return (
                TaskStatus.TIMEDOUT,
                "task_cancelled",
                f"exceeded its time limit of {state.limit:g}s",
            )
        if state.cancelled_by is not None:
            why = (
                "Executor.cancel() was called"
                if state.cancelled_by == CANCEL_REQUEST
                else f"the Executor received {signal_name(state.cancelled_by)}"
            )
            return TaskStatus.CANCELLED, "task_cancelled", f"was cancelled ({why})"
        if code is not None and code < 0:
            return TaskStatus.FAILED, "task_failed", f"was killed by {signal_name(-code)}"
        if code:
            return TaskStatus.FAILED, "task_failed", f"exited with code {code}"
        if self._analysis_desc.task_result.task_status is TaskStatus.FAILED:
            return TaskStatus.FAILED, "task_failed", "reported a failure"
        return TaskStatus.COMPLETED, "task_done", None

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
        db = _database_module()
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
        """Called once the status is final, just before the attempt is recorded.

        Runs before recording so that what it adds to the result, and any
        exception it raises, is in the record.
        """

    def _hook_task_started(self, msg: Message) -> None:
        if isinstance(msg.contents, TaskResult):
            logger.info("%s resumed", self._task_name)
        else:
            logger.info("%s started", self._task_name)

    def _hook_task_failed(self, msg: Message) -> None:
        logger.error("%s failed", self._task_name)

    def _hook_task_stopped(self, msg: Message) -> None:
        logger.warning("%s stopped", self._task_name)

    def _hook_task_done(self, msg: Message) -> None:
        logger.debug("%s done", self._task_name)

    def _hook_task_cancelled(self, msg: Message) -> None:
        logger.warning(
            "%s ended: %s", self._task_name, self._analysis_desc.task_result.task_status.value
        )

    def _hook_task_result(self, msg: Message) -> None:
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


@functools.cache
def _database_module() -> types.ModuleType:
    """``lute.db.store``, imported on first use.

    SQLAlchemy takes about 100 ms to import; importing it just after the Task
    process has started overlaps that with the Task's own start-up instead of
    delaying it.
    """
    return importlib.import_module("lute.db.store")
