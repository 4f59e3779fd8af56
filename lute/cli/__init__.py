"""The ``lute`` command.

Each sub-command lives in its own module of this package and exposes
``register(commands)``, which adds its parser and sets ``handler``; a
handler returns the exit status. Only the module of the sub-command being
run is imported (``lute run`` need not import SQLAlchemy or the SLURM code
before its Task starts); ``lute --help`` imports them all. Exit status: 0
when the Task completed, 1 when it ended in any other state, 2 for invalid
input or an unusable environment (configuration, names, arguments, a work
dir or database URL that cannot be used, a file that cannot be written), 3
when a Task ran but its record could be stored nowhere. Errors lute expects
are one line saying what and where; ``-v`` or ``--debug`` adds the traceback.

Output has three levels besides the default (lute's INFO lines): ``-q``
shows only warnings, errors and the final line of a run; ``-v`` adds lute's
DEBUG lines; ``--debug`` adds the DEBUG lines of every library too, and runs
Tasks without ``-O`` (so their own DEBUG lines and asserts count). Every line carries a timestamp
(``lute.core.logformat``), coloured only on a terminal. A sub-command that hands unknown
options on to another program (``sbatch``) sets the default
``pass_through=[]``; unknown options are then stored there instead of being
an error.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
from collections.abc import Iterator

import lute
from lute.core.exceptions import ConfigurationError, LuteError
from lute.core.exit_codes import EXIT_BAD_INPUT, EXIT_TASK_FAILED
from lute.core.logformat import SUMMARY_LOGGER, colour_wanted, current_stderr_handler
from lute.core.redaction import install_log_redaction

__all__ = ["build_parser", "main", "sub_commands"]

logger = logging.getLogger("lute.cli")

COMMANDS: dict[str, str] = {
    "run": "lute.cli.run",
    "tasks": "lute.cli.tasks",
    "submit": "lute.cli.submit",
    "status": "lute.cli.jobs",
    "workflow": "lute.cli.workflow",
    "cancel": "lute.cli.cancel",
    "db": "lute.cli.db",
    "watch": "lute.cli.watch",
    "ps": "lute.cli.ps",
    "logs": "lute.cli.logs",
    "report": "lute.cli.report",
}
"""Sub-command name -> the module that registers it."""
COMMAND_MODULES = tuple(dict.fromkeys(COMMANDS.values()))


def _configure_logging(quiet: bool, verbose: int, debug: bool) -> None:
    """Send log lines to stderr at the level the flags ask for, the final line always."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(current_stderr_handler(colour_wanted(sys.stderr)))
    root.setLevel(logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO)
    lute_level = logging.DEBUG if debug or verbose > 0 else logging.NOTSET
    logging.getLogger("lute").setLevel(lute_level)
    # The final line of a run is shown even with -q: it says how the run ended.
    logging.getLogger(SUMMARY_LOGGER).setLevel(logging.INFO)
    install_log_redaction(os.environ)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of the ``lute`` command.

    Args:
        command: Register only this sub-command (it must be in ``COMMANDS``);
            ``None`` registers every one.
    """
    parser = argparse.ArgumentParser(
        prog="lute", description="Run facility data analysis as managed, recorded tasks."
    )
    parser.add_argument("--version", action="version", version=f"lute {lute.__version__}")
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="only warnings, errors and the final line"
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="lute's debug lines too")
    parser.add_argument(
        "--debug", action="store_true", help="every library's debug lines; Tasks run without -O"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    modules = COMMAND_MODULES if command is None else (COMMANDS[command],)
    for module in modules:
        importlib.import_module(module).register(commands)
    _accept_verbosity_anywhere(parser)
    _describe_sub_commands(parser)
    return parser


def sub_commands(
    parser: argparse.ArgumentParser, name: str = "lute"
) -> Iterator[tuple[str, argparse.ArgumentParser, str]]:
    """``(full name, parser, one-line help)`` of every sub-command below ``parser``, depth first."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
            for sub_name, sub in action.choices.items():
                full_name = f"{name} {sub_name}"
                yield full_name, sub, helps.get(sub_name, "")
                yield from sub_commands(sub, full_name)


def _describe_sub_commands(parser: argparse.ArgumentParser) -> None:
    """Give each sub-command without a description its one-line help as one.

    ``lute run --help`` would otherwise open with a bare usage line: the
    sentence saying what the command does is shown only in the parent's list.
    """
    for _, sub, one_line in sub_commands(parser):
        if sub.description is None and one_line:
            sub.description = one_line[0].upper() + one_line[1:] + "."


def _accept_verbosity_anywhere(parser: argparse.ArgumentParser) -> None:
    """Let ``-q``, ``-v`` and ``--debug`` follow any sub-command too (``lute run ... -v``).

    A sub-command that defines one of these flags itself keeps its own.
    """
    for _, sub, _ in sub_commands(parser):
        with contextlib.suppress(argparse.ArgumentError):
            sub.add_argument(
                "-q",
                "--quiet",
                action="store_true",
                default=argparse.SUPPRESS,
                help="only warnings, errors and the final line",
            )
        with contextlib.suppress(argparse.ArgumentError):
            sub.add_argument(
                "-v", "--verbose", action="count", default=argparse.SUPPRESS, help="more output"
            )
        with contextlib.suppress(argparse.ArgumentError):
            sub.add_argument(
                "--debug", action="store_true", default=argparse.SUPPRESS, help="debug output"
            )


def _requested_command(argv: list[str]) -> str | None:
    """The sub-command ``argv`` asks for, if it is a known one.

    The global options (``-q``, ``-v``, ``--debug``, ``-h``, ``--version``) take no values, so the
    first other word is the sub-command.
    """
    first = next((word for word in argv if not word.startswith("-")), None)
    return first if first in COMMANDS else None


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``lute`` console script."""
    parser = build_parser(_requested_command(sys.argv[1:] if argv is None else argv))
    args, extra = parser.parse_known_args(argv)
    if extra:
        if not hasattr(args, "pass_through"):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.pass_through = extra
    _configure_logging(args.quiet, args.verbose, args.debug)
    try:
        return args.handler(args)
    except (LuteError, OSError) as err:
        status = _report(err)
        logger.debug("the error above, in full:", exc_info=True)
        return status


def _report(err: LuteError | OSError) -> int:
    """Log an error lute expects in as few lines as it has; return the exit status."""
    if isinstance(err, ConfigurationError):
        for line in str(err).splitlines():
            logger.error("%s", line)
        return EXIT_BAD_INPUT
    logger.error("%s", err)
    # An OSError is the environment refusing: a path, a permission, a full disk.
    return EXIT_BAD_INPUT if isinstance(err, OSError) else EXIT_TASK_FAILED
