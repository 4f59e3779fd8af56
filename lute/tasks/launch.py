"""Entry point of a Task process: validate the config, then run the Task.

Kept light on purpose: it imports only the Task it runs.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from lute.config.loader import load_task_parameters
from lute.core.analysis import TaskResult, TaskStatus
from lute.core.exceptions import ConfigurationError, LuteError
from lute.core.exit_codes import EXIT_BAD_INPUT, EXIT_TASK_FAILED
from lute.core.logformat import DATE_FORMAT, LOG_FORMAT
from lute.core.redaction import install_log_redaction
from lute.ipc.message import Message
from lute.ipc.task_side import task_channel
from lute.tasks import registry
from lute.tasks.base import build_task
from lute.tasks.watchdog import guard_process_group


def main(argv: list[str] | None = None) -> int:
    """Run one Task in this process and return the exit status."""
    parser = argparse.ArgumentParser(description="Run one lute Task (Task side).")
    parser.add_argument("-c", "--config", required=True, help="YAML configuration")
    parser.add_argument("-t", "--taskname", required=True, help="Task to run")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if __debug__ else logging.INFO,
        format=LOG_FORMAT,
        datefmt=DATE_FORMAT,
    )
    install_log_redaction(os.environ)
    try:
        model = registry.parameter_model(args.taskname)
        params = load_task_parameters(args.config, args.taskname, model)
        task_cls = registry.task_class(args.taskname)
    except ConfigurationError as err:
        sys.stderr.write(f"lute: error: {err}\n")
        result = TaskResult(args.taskname, TaskStatus.FAILED, summary=str(err))
        channel = task_channel()
        channel.write(Message(result, "TASK_FAILED"))
        channel.close()
        return EXIT_BAD_INPUT
    guard_process_group()
    try:
        build_task(task_cls, params, args.taskname).run()
    except LuteError as err:
        sys.stderr.write(f"lute: error: {err}\n")
        return EXIT_BAD_INPUT if isinstance(err, ConfigurationError) else EXIT_TASK_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main())
