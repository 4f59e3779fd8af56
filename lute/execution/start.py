"""How a Task process starts: forked from its Executor when that is safe, else a fresh Python.

A fresh interpreter for every Task costs its start-up, the imports of
pydantic, yaml and lute, and a second reading and validation of the
configuration: most of what ``lute run`` of a short Task used to take. The
Executor has all of that already, parameters validated. So by default the
Task process is a fork of the Executor (``fork_task``). In the child it
leads a new process group; gets ``/dev/null`` and the two pipes as its
standard streams (unbuffered, as ``python -u`` makes them); closes every
other descriptor but its start gate; drops the Executor's signal and log
handlers; takes the Task's environment; and runs the Task with the
parameters the Executor validated (``lute.tasks.launch.run_forked``), unless its environment differs
from the Executor's beyond lute's own run variables (``update_environment``,
secrets kept from the Task): then it validates the configuration again in
its own environment, as a fresh interpreter would, which in a fork costs
milliseconds, the imports being done. It
never returns into the Executor's code, and nothing of the Executor is
finalised in it (the descriptors those objects name are closed, and their
numbers reused).

The *start gate* is a pipe: the forked Task imports what it runs, then
waits until the Executor has recorded the run (``ForkedTask.open_gate``)
before it does any work, so a run is on record before it acts, and the
record's write overlaps the Task's own start-up. If the Executor closes the
gate without opening it (it failed, or died), the Task exits unrun.

A fork is safe only from a process with one thread: another thread could
hold a lock the child would wait on forever. So the Executor starts
``python -O -B -u subprocess_task.py -c CONFIG -t TASK`` instead when
``fork_refusal`` gives a reason: more than one thread in the process (a
workflow running Executors in threads, an eLog post in flight, a program
embedding lute); an Executor class that builds its own command line (MPI,
plugins); eLog credentials in the Executor's environment; or
``LUTE_TASK_START=exec``.

Why the credentials: a forked Task gets the Task's environment (the same
one, with the same secrets removed, as a fresh interpreter gets), but its
memory is a copy of the Executor's, and ``/proc/<pid>/environ`` of a forked
process shows the environment its Executor was started with. The eLog
password must not be readable by the Task (``lute.core.redaction``), so
where the Executor holds it the Task is a fresh interpreter.

What a forked Task sees differently: the interpreter's flags are the
Executor's (``-O`` is not applied, so ``assert`` statements run), and its
command line in ``ps`` is the Executor's.
"""

from __future__ import annotations

import contextlib
import faulthandler
import functools
import gc
import io
import logging
import os
import signal
import subprocess
import sys
import traceback
from collections.abc import Callable, Mapping
from typing import IO, TYPE_CHECKING, NoReturn, Union

from lute.core.forking import flush_standard_streams, fork_with, threads_here
from lute.core.redaction import without_secrets
from lute.execution.control import ENV_ASSIGNED_RUN_ID
from lute.execution.process import NEW_PROCESS_GROUP, signal_group
from lute.ipc.frames import ENV_KEY, ENV_SOCKET
from lute.tasks.launch import GATE_FD, GATE_OPEN, run_forked

if TYPE_CHECKING:
    from lute.config.models.base import TaskParameters

logger = logging.getLogger(__name__)

ENV_TASK_START = "LUTE_TASK_START"
"""``exec`` starts every Task in a fresh interpreter; ``fork`` (default) forks when safe."""
START_MODES = ("fork", "exec")
RUN_VARIABLES = frozenset(
    {ENV_SOCKET, ENV_KEY, "LUTE_RUN_ID", "LUTE_CONFIGPATH", ENV_ASSIGNED_RUN_ID}
)
"""What the Executor adds to (or takes from) a Task's environment for the run; validation
reads none of it."""
_DEFAULT_SIGNALS = {
    signal.SIGINT: signal.default_int_handler,
    signal.SIGPIPE: signal.SIG_IGN,
    signal.SIGXFSZ: signal.SIG_IGN,
}
"""What a fresh Python sets; every other signal has its default action."""


class ForkedTask:
    """A Task process forked from the Executor: what the Executor needs of a ``Popen``.

    Attributes:
        pid: The process, also the leader of the Task's process group.
        stdout: Read end of its stdout pipe.
        stderr: Read end of its stderr pipe.
        args: What it runs, for messages.
        returncode: ``None`` while it runs; its exit status, or minus the
            number of the signal that killed it.
    """

    def __init__(
        self, pid: int, stdout: IO[bytes], stderr: IO[bytes], args: list[str], gate: int
    ) -> None:
        self.pid = pid
        self.stdout = stdout
        self.stderr = stderr
        self.args = args
        self.returncode: int | None = None
        self._gate: int | None = gate

    def open_gate(self) -> None:
        """Let the Task begin its work (the run is on record)."""
        if self._gate is not None:
            with contextlib.suppress(OSError):  # it is gone already
                os.write(self._gate, GATE_OPEN)
            self.close_gate()

    def close_gate(self) -> None:
        """Stop waiting to open the gate; a Task still waiting at it exits unrun."""
        if self._gate is not None:
            os.close(self._gate)
            self._gate = None

    def poll(self) -> int | None:
        """The exit status if the process has ended (it is then reaped), else ``None``."""
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                return self.returncode
            if pid == self.pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self) -> int:
        """Wait for the process to end and return its exit status."""
        while self.returncode is None:
            try:
                _, status = os.waitpid(self.pid, 0)
            except ChildProcessError:
                break
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode if self.returncode is not None else 0


TaskProcess = Union[subprocess.Popen[bytes], ForkedTask]  # noqa: UP007 (a runtime alias)
"""A running Task process, however it was started."""


def overrides(cls: type, base: type, *names: str) -> bool:
    """Whether ``cls`` replaces any of the methods ``names`` of ``base``."""
    return any(getattr(cls, name) is not getattr(base, name) for name in names)


def fork_refusal(env: Mapping[str, str], own_command_line: bool) -> str | None:
    """Why the Task must start in a fresh interpreter; ``None`` if it may be forked.

    Args:
        env: The Executor's environment (``LUTE_TASK_START``).
        own_command_line: The Executor class builds its own command line.
    """
    mode = env.get(ENV_TASK_START, "fork")
    if mode not in START_MODES:
        logger.warning(
            "%s=%r is not one of %s; starting the Task in a fresh interpreter",
            ENV_TASK_START,
            mode,
            ", ".join(START_MODES),
        )
        return f"{ENV_TASK_START}={mode!r}"
    if mode == "exec":
        return f"{ENV_TASK_START}=exec"
    if own_command_line:
        return "the Executor builds its own command line"
    if not hasattr(os, "fork"):
        return "this system cannot fork"
    if without_secrets(os.environ) != dict(os.environ):
        return "the Executor's environment holds eLog credentials its Task must not see"
    threads = threads_here()
    if threads > 1:
        return f"{threads} threads run in the Executor's process"
    return None


def abandon(proc: TaskProcess) -> None:
    """End a Task process that will not be supervised after all: kill its group, reap it."""
    if isinstance(proc, ForkedTask):
        proc.close_gate()
    signal_group(proc.pid, signal.SIGKILL)
    proc.wait()


def forked_run(
    task_name: str, params: TaskParameters, config: str, env: Mapping[str, str], *, debug: bool
) -> Callable[[int], int]:
    """What a forked Task runs: ``run_forked``, handed the parameters when that is safe.

    Validating again gives the same parameters unless the Task's environment
    differs from the Executor's (substitutions and ``LUTE_<param>``
    overrides read it), so they are handed over only when it does not.
    """
    same = all(
        os.environ.get(name) == env.get(name)
        for name in {*os.environ, *env}
        if name not in RUN_VARIABLES
    )
    return functools.partial(run_forked, task_name, params if same else None, config, debug=debug)


def exec_task(command: list[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """Start ``command`` as the leader of a new process group, its output on two pipes."""
    return subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        **NEW_PROCESS_GROUP,
    )


def fork_task(env: Mapping[str, str], args: list[str], run: Callable[[int], int]) -> ForkedTask:
    """Fork the Task process, which runs ``run(GATE_FD)`` with ``env`` and exits with its status.

    Args:
        env: The Task's whole environment.
        args: What a fresh interpreter would have been given (``sys.argv``
            of the Task, and for messages).
        run: The Task's work, called in the child with the start gate, which
            it must wait on (``lute.tasks.launch.wait_at_gate``) before it
            does anything.
    """
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    gate_read, gate_write = os.pipe()
    pid = fork_with((out_read, out_write, err_read, err_write, gate_read, gate_write))
    if pid == 0:
        _become_task((out_write, err_write, gate_read), env, args, run)
    for fd in (out_write, err_write, gate_read):
        os.close(fd)
    with contextlib.suppress(OSError):  # the child does it too; whoever is first wins
        os.setpgid(pid, pid)
    return ForkedTask(pid, io.FileIO(out_read), io.FileIO(err_read), args, gate_write)


def _become_task(
    fds: tuple[int, int, int], env: Mapping[str, str], args: list[str], run: Callable[[int], int]
) -> NoReturn:
    """In the child: shed the Executor, run the Task, exit with its status."""
    code = 1
    try:
        gc.freeze()
        os.setpgid(0, 0)
        _reset_signals()
        _standard_streams(*fds)
        _forget_log_handlers()
        os.environ.clear()
        os.environ.update(env)
        sys.argv = list(args)
        code = run(GATE_FD)
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        if not isinstance(stop.code, int) and stop.code is not None:
            sys.stderr.write(f"{stop.code}\n")
    except KeyboardInterrupt:
        flush_standard_streams()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    except BaseException:
        traceback.print_exc()
    flush_standard_streams()
    os._exit(code)


def _reset_signals() -> None:
    """The signal handling of a fresh Python: nothing of the Executor's wake-up."""
    signal.set_wakeup_fd(-1)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    for signum in signal.valid_signals():
        if signum in (signal.SIGKILL, signal.SIGSTOP):
            continue
        with contextlib.suppress(OSError, ValueError):
            signal.signal(signum, _DEFAULT_SIGNALS.get(signum, signal.SIG_DFL))


def _standard_streams(stdout_fd: int, stderr_fd: int, gate_fd: int) -> None:
    """``/dev/null`` and the pipes as fds 0-2, the gate as 3, nothing else; ``-u`` streams."""
    null = os.open(os.devnull, os.O_RDONLY)
    for fd, target in ((null, 0), (stdout_fd, 1), (stderr_fd, 2), (gate_fd, GATE_FD)):
        os.dup2(fd, target, inheritable=target != GATE_FD)
    os.closerange(GATE_FD + 1, os.sysconf("SC_OPEN_MAX"))
    encoding = getattr(sys.__stdout__, "encoding", None) or "utf-8"
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding=encoding)
    sys.stdout = io.TextIOWrapper(
        io.FileIO(1, "w", closefd=False),
        encoding=encoding,
        errors="surrogateescape",
        write_through=True,
    )
    sys.stderr = io.TextIOWrapper(
        io.FileIO(2, "w", closefd=False),
        encoding=encoding,
        errors="backslashreplace",
        write_through=True,
    )
    if faulthandler.is_enabled():
        faulthandler.enable(sys.stderr)


def _forget_log_handlers() -> None:
    """Drop (without closing: their descriptors are gone) every log handler of the Executor."""
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    for each in loggers:
        if isinstance(each, logging.Logger):
            each.handlers = []
