"""Entry point of a Task process: validate the config (unless done already), run the Task.

A Task process starts in one of two ways (``lute.execution.start``): as a
fresh interpreter running ``main`` (``subprocess_task.py -c CONFIG -t
TASK``), which reads and validates the configuration itself; or forked from
its Executor, which calls ``run_forked`` with the parameters it validated
already. Either way this module imports only the Task it runs.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from lute.config.models.base import TaskParameters
    from lute.tasks.base import Task

GATE_FD = 3
"""The start gate's descriptor in a Task forked from its Executor (``lute.execution.start``)."""
GATE_OPEN = b"g"
"""What the Executor writes into the gate once the run is on record."""


def main(argv: list[str] | None = None) -> int:
    """Run one Task in this process and return the exit status."""
    parser = argparse.ArgumentParser(description="Run one lute Task (Task side).")
    parser.add_argument("-c", "--config", required=True, help="YAML configuration")
    parser.add_argument("-t", "--taskname", required=True, help="Task to run")
    args = parser.parse_args(argv)
    _configure_logging(logging.DEBUG if __debug__ else logging.INFO)
    try:
        model = registry.parameter_model(args.taskname)
        params = load_task_parameters(args.config, args.taskname, model)
        task_cls = registry.task_class(args.taskname)
    except ConfigurationError as err:
        return _refuse(args.taskname, err)
    return _run(task_cls, params, args.taskname)


def run_forked(
    task_name: str, params: TaskParameters | None, config: str, gate: int, *, debug: bool
) -> int:
    """Run ``task_name`` in this process, a fork of its Executor.

    Args:
        task_name: The Task to run (its class and config section).
        params: Its parameters as the Executor validated them, or ``None``
            to validate ``config`` again here, in the Task's environment.
        config: The configuration file.
        gate: The start gate: the Task imports what it runs, then waits
            until the Executor has recorded the run (``wait_at_gate``).
        debug: Log at DEBUG level (the Executor's ``--debug``); else INFO, as
            a Task started with ``python -O`` does.
    """
    _configure_logging(logging.DEBUG if debug else logging.INFO)
    try:
        if params is None:
            params = load_task_parameters(config, task_name, registry.parameter_model(task_name))
        task_cls = registry.task_class(task_name)
    except ConfigurationError as err:
        wait_at_gate(gate)
        return _refuse(task_name, err)
    if not wait_at_gate(gate):
        sys.stderr.write("lute: error: the Executor ended before the run was recorded\n")
        return EXIT_TASK_FAILED
    return _run(task_cls, params, task_name)


def wait_at_gate(gate: int) -> bool:
    """Wait until the Executor opens the start gate; ``False`` if it closed it instead."""
    try:
        opened = os.read(gate, len(GATE_OPEN)) == GATE_OPEN
    finally:
        os.close(gate)
    return opened


def _configure_logging(level: int) -> None:
    logging.basicConfig(level=level, format=LOG_FORMAT, datefmt=DATE_FORMAT)
    install_log_redaction(os.environ)


def _refuse(task_name: str, err: ConfigurationError) -> int:
    """Report input that cannot run, on stderr and to the Executor."""
    sys.stderr.write(f"lute: error: {err}\n")
    result = TaskResult(task_name, TaskStatus.FAILED, summary=str(err))
    channel = task_channel()
    channel.write(Message(result, "TASK_FAILED"))
    channel.close()
    return EXIT_BAD_INPUT


def _run(task_cls: type[Task], params: TaskParameters, task_name: str) -> int:
    guard_process_group()
    try:
        build_task(task_cls, params, task_name).run()
    except LuteError as err:
        sys.stderr.write(f"lute: error: {err}\n")
        return EXIT_BAD_INPUT if isinstance(err, ConfigurationError) else EXIT_TASK_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main())
