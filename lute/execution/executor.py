"""Executors: run a Task in a subprocess, listen to it, decide and record the outcome.

``execute_task`` validates the configuration, then runs up to ``retries + 1``
attempts. Each attempt starts the Task process (forked from the Executor
when that is safe, see ``lute.execution.start``) as the leader of a new
process group (which then holds everything it starts; see
``lute.execution.process``) and hands it to a ``Supervisor``
(``lute.execution.supervisor``), which waits without sleeping on its output,
messages, exit and on signals, and leaves none of the group running. This
module decides what the events mean: it keeps the record up to date with
each message before calling the message's hook, decides the final status
from the messages, the exit status and what the Supervisor did (time limit,
cancellation), runs after-tasklets and records the attempt (the first record
in the background, see ``lute.execution.recording``).

What each lifecycle signal becomes (status and hook) is listed in
``lute.execution.supervisor``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lute.config.loader import load_task_parameters
from lute.config.models.base import TaskParameters
from lute.core.analysis import DescribedAnalysis, TaskResult, TaskStatus
from lute.core.exceptions import ConfigurationError
from lute.core.procinfo import process_start_ticks
from lute.core.redaction import without_secrets
from lute.db.location import check_target
from lute.elog.reporter import ElogReporter
from lute.execution.control import RunAdvert, take_run_id
from lute.execution.description import describe_executor, rebuild_executor
from lute.execution.hooks import ExecutorExtensions, Hook, Tasklet
from lute.execution.outcome import decide_outcome, new_attempt, track_message
from lute.execution.process import CANCEL_REQUEST, SignalWakeup
from lute.execution.progress import ProgressRecorder, log_final_line
from lute.execution.recording import record
from lute.execution.run_logs import RunLogs, check_template, log_paths
from lute.execution.start import (
    ForkedTask,
    TaskProcess,
    abandon,
    exec_task,
    fork_refusal,
    fork_task,
    forked_run,
    overrides,
)
from lute.execution.supervisor import RunState, Supervisor
from lute.ipc.executor_side import PipeCommunicator, SocketCommunicator, socket_options
from lute.ipc.frames import new_key
from lute.ipc.message import Message
from lute.tasks import registry

logger = logging.getLogger(__name__)

CANCEL_CODES = (signal.SIGINT, signal.SIGTERM, CANCEL_REQUEST)


class BaseExecutor(ExecutorExtensions):
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
        self.records_lost = 0  # final records stored nowhere: lute run exits 3
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

        Raises:
            ConfigurationError: See ``lute.execution.description.describe_executor``.
        """
        custom_hooks = {
            name: hook
            for name, hook in self._hooks.items()
            if hook is not getattr(type(self), f"_hook_{name}", None)
        }
        return describe_executor(
            type(self),
            self._task_name,
            options=self._options(),
            environment=self._env_steps,
            hooks=custom_hooks,
            tasklets=self._tasklets,
        )

    @classmethod
    def from_dict(cls, description: Mapping[str, Any]) -> BaseExecutor:
        """Build the Executor ``to_dict`` described, e.g. on a batch node.

        Raises:
            ConfigurationError: See ``lute.execution.description.rebuild_executor``.
        """
        return rebuild_executor(cls, description)

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
        params = load_task_parameters(path, self._task_name, model, known_tasks=registry.task_names)
        socket_options(self._env)  # a bad IPC setting is bad input: refuse before any record
        check_target(params.lute_config.work_dir, params.lute_config.db_url, path)  # likewise
        run_id = take_run_id(self._env)
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
            self._analysis_desc = new_attempt(
                self._task_name, params, run_id, 1, {**self._env, "LUTE_CONFIGPATH": config}
            )
            self._record_executor_error(f"{type(self).__name__}.setup raised")
            return self._execute(params, blocked="the Executor's setup failed")
        for attempt in range(1, self._retries + 2):
            self._analysis_desc = new_attempt(
                self._task_name, params, run_id, attempt, {**self._env, "LUTE_CONFIGPATH": config}
            )
            status = self._execute(params)
            if not self._retry_after(status, attempt):
                return status
        return status

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
                        SocketCommunicator(key, **socket_options(self._env))
                    )
                    run_logs = stack.enter_context(RunLogs(self._log_paths(params)))
                    desc.communicator_desc = [str(pipes), str(sockets)]
                    self._socket_path = sockets.path
                    desc.log_paths = run_logs.paths
                    self._run_tasklets("before")
                    self._pre_task()
                    state.proc = self._start(sockets)
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

    def _start(self, sockets: SocketCommunicator) -> TaskProcess:
        """Start the Task process: forked when that is safe (``lute.execution.start``)."""
        desc = self._analysis_desc
        env = {**desc.task_env, **sockets.environment(), "LUTE_RUN_ID": desc.run_id}
        entry = self._task_entry()
        command = self._submit_cmd(entry, desc.task_env["LUTE_CONFIGPATH"])
        own_command_line = overrides(type(self), BaseExecutor, "_submit_cmd", "_task_entry")
        refusal = fork_refusal(self._env, own_command_line)
        proc: TaskProcess
        logger.debug("starting Task process (%s): %s", refusal or "forked", command)
        if refusal is None:
            config, debug = desc.task_env["LUTE_CONFIGPATH"], logger.isEnabledFor(logging.DEBUG)
            run = forked_run(self._task_name, desc.task_parameters, config, env, debug=debug)
            proc = fork_task(env, [*entry, "-c", config, "-t", self._task_name], run)
        else:
            proc = exec_task(command, env)
        try:
            desc.start_time = time.time()
            desc.executor_pid = os.getpid()
            desc.executor_start = process_start_ticks(desc.executor_pid)
            desc.task_pgid = proc.pid
            desc.task_result.task_status = TaskStatus.RUNNING
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
            record(desc)  # on record before the Task acts: a forked one waits at its gate
        except BaseException:
            abandon(proc)
            raise
        if isinstance(proc, ForkedTask):
            proc.open_gate()
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
            on_error=self._analysis_desc.executor_errors.append,
            recorder=ProgressRecorder.for_run(self._analysis_desc),
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
            track_message(self._analysis_desc, msg)
        except Exception:
            self._record_executor_error(f"could not take in the Task's {name} message")
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

    def _finalize_task(self, state: RunState) -> None:
        """Decide the final status, fire its hook, run after-tasklets, record."""
        desc = self._analysis_desc
        code = state.proc.returncode if state.proc is not None else None
        desc.exit_code = code
        outcome = decide_outcome(state, code, desc.task_result.task_status)
        status, hook, reason = outcome.status, outcome.hook, outcome.reason
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
        self.records_lost += not record(desc) and desc.task_result.task_status.final
        log_final_line(desc)

    def _task_entry(self) -> list[str]:
        """Arguments that start the Task side: ``subprocess_task.py`` if present."""
        root = os.environ.get("LUTE_PATH") or str(Path(__file__).resolve().parents[2])
        script = Path(root) / "subprocess_task.py"
        if script.is_file():
            return [str(script)]
        return ["-m", "lute.tasks.launch"]

    def _submit_cmd(self, entry: list[str], config_path: str) -> list[str]:
        """The command that starts the Task process."""
        debugging = logging.getLogger().isEnabledFor(logging.DEBUG)  # --debug, not -v
        flags = ["-B", "-u"] if debugging else ["-O", "-B", "-u"]
        return [sys.executable, *flags, *entry, "-c", config_path, "-t", self._task_name]

    def _pre_task(self) -> None:
        """Called just before the Task process starts."""

    def _process_results(self) -> None:
        """Called once the status is final, just before the attempt is recorded.

        Runs before recording so that what it adds to the result, and any
        exception it raises, is in the record.
        """


class Executor(BaseExecutor):
    """The default Executor: a Python Task process, pipes and a socket."""
