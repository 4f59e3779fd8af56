"""A Task that runs an external program in place of the Task process.

Sequence: announce ``TASK_STARTED`` (the Executor reads the declared result
and the command from the parameters), render the config template if the
model has one, switch to the program's environment, log and report the exact
command, send ``NO_PICKLE_MODE`` (no message follows: the program's exit
status is the result), close the channel, then ``exec``. The program's output
reaches the Executor on the same pipes and its exit status is the process's.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from lute.config.models.base import ThirdPartyParameters
from lute.config.models.command import build_command, stdin_file
from lute.core.exceptions import ConfigurationError
from lute.core.redaction import program_environment
from lute.ipc.message import Message
from lute.tasks.base import Task
from lute.tasks.environment import ProgramEnvironment
from lute.tasks.templates import render_template

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreparedCommand:
    """Everything ``exec`` needs.

    Attributes:
        argv: The argument vector, as recorded (``argv[0]`` as configured).
        program: The resolved path of the executable.
        env: The environment the program runs with.
        stdin: A file the program reads on its standard input, if any.
    """

    argv: list[str]
    program: str
    env: dict[str, str]
    stdin: str | None = None

    def __str__(self) -> str:
        command = shlex.join(self.argv)
        return f"{command} < {shlex.quote(self.stdin)}" if self.stdin else command


class ThirdPartyTask(Task):
    """Runs ``executable`` with a command line built from the parameters."""

    def prepare(self, environ: Mapping[str, str] | None = None) -> PreparedCommand:
        """Render the config template and resolve the program, short of running it.

        Args:
            environ: The Task's environment, holding the program-environment
                spec an Executor passed; defaults to ``os.environ``.

        Raises:
            ConfigurationError: The parameters are not third-party ones, the
                template cannot be rendered, or the executable is not found.
        """
        params = self._task_parameters
        if not isinstance(params, ThirdPartyParameters):
            raise ConfigurationError(
                f"{self.name}: parameters must derive from ThirdPartyParameters,"
                f" not {type(params).__name__}"
            )
        base = dict(os.environ if environ is None else environ)
        template = params.lute_template_cfg
        if template is not None:
            render_template(
                template.template_name,
                str(template.output_path),
                params.template_context(),
                template.template_dir,
            )
        env = program_environment(ProgramEnvironment.from_task_variables(base).apply(base))
        argv = build_command(params)
        program = shutil.which(argv[0], path=env.get("PATH", os.defpath))
        if program is None:
            raise ConfigurationError(
                f"{self.name}: executable '{argv[0]}' not found or not executable"
                f" (searched PATH={env.get('PATH', '')})"
            )
        return PreparedCommand(argv, program, env, stdin_file(params))

    def _run(self) -> None:
        prepared = self.prepare()
        stdin = self._open_stdin(prepared)
        logger.debug("exec %s as: %s", prepared.program, prepared.argv)
        self._report(f"Running: {prepared}")
        self._report_to_executor(Message(str(prepared), "NO_PICKLE_MODE"))
        self._close_channel()
        sys.stdout.flush()
        sys.stderr.flush()
        if stdin is not None:
            os.dup2(stdin, 0)
        os.execve(prepared.program, prepared.argv, prepared.env)

    def _open_stdin(self, prepared: PreparedCommand) -> int | None:
        """Open the standard input file first, so a missing one fails the run cleanly."""
        if prepared.stdin is None:
            return None
        try:
            return os.open(prepared.stdin, os.O_RDONLY)
        except OSError as err:
            raise ConfigurationError(
                f"{self.name}: cannot read {prepared.stdin} for the program's standard input:"
                f" {err.strerror}"
            ) from err
