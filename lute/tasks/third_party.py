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
from lute.config.models.command import build_command
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
    """

    argv: list[str]
    program: str
    env: dict[str, str]

    def __str__(self) -> str:
        return shlex.join(self.argv)


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
        return PreparedCommand(argv, program, env)

    def _run(self) -> None:
        prepared = self.prepare()
        logger.debug("exec %s as: %s", prepared.program, prepared.argv)
        self._report(f"Running: {prepared}")
        self._report_to_executor(Message(str(prepared), "NO_PICKLE_MODE"))
        self._close_channel()
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(prepared.program, prepared.argv, prepared.env)
