"""The ``lute`` command.

Exit status: 0 when the Task completed, 1 when it ended in any other state,
2 for invalid input (configuration, names, arguments).
"""

from __future__ import annotations

import argparse
import logging
import sys

from lute.exceptions import ConfigurationError, LuteError
from lute.managed_tasks import get_managed_task

logger = logging.getLogger("lute.cli")

EXIT_OK = 0
EXIT_TASK_FAILED = 1
EXIT_BAD_INPUT = 2


def _configure_logging(verbose: int, debug: bool) -> None:
    level = logging.DEBUG if debug or verbose > 0 else logging.INFO
    logging.basicConfig(
        level=level,
        format="%(levelname)s:%(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )


def _cmd_run(args: argparse.Namespace) -> int:
    executor = get_managed_task(args.taskname).build()
    status = executor.execute_task(args.config)
    return EXIT_OK if status.successful else EXIT_TASK_FAILED


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``lute`` command."""
    parser = argparse.ArgumentParser(
        prog="lute", description="Run facility data analysis as managed, recorded tasks."
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more output")
    parser.add_argument(
        "--debug", action="store_true", help="debug output; Tasks run without -O"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="run one managed task here and now")
    run.add_argument("-t", "--taskname", required=True, help="managed task, e.g. Tester")
    run.add_argument("-c", "--config", required=True, help="YAML configuration file")
    run.set_defaults(handler=_cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``lute`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose, args.debug)
    try:
        return args.handler(args)
    except ConfigurationError as err:
        for line in str(err).splitlines():
            logger.error("%s", line)
        return EXIT_BAD_INPUT
    except LuteError as err:
        logger.error("%s", err)
        return EXIT_TASK_FAILED
