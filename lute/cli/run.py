"""``lute run``: run one managed task here and now.

Exit status: 0 when the Task completed, 1 when it ended otherwise, 2 when
its input or environment was refused before it ran, 3 when it ran but its
record could be stored nowhere (see ``lute.core.exit_codes``).

stdout holds only the run id (``lute run ... > id.txt``), written when the
run ends; every log line goes to stderr. ``--dry-run`` validates the
configuration and prints the parameters the Task would get, running nothing.

Before it imports the rest of lute, a run starts the Executor's recorder
process (``lute.db.recorder``), which imports the database code
meanwhile: hence the imports inside ``_run``.
"""

from __future__ import annotations

import argparse
import sys

from lute.core.exit_codes import EXIT_NOT_RECORDED, EXIT_OK, EXIT_TASK_FAILED
from lute.db.recorder import start_recorder


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``run`` sub-command."""
    run = commands.add_parser("run", help="run one managed task here and now")
    run.add_argument("-t", "--taskname", required=True, help="managed task, e.g. Tester")
    run.add_argument("-c", "--config", required=True, help="YAML configuration file")
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="validate the config, print the resolved parameters and each Executor"
        " setting with its source; run nothing",
    )
    run.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    if not args.dry_run:
        start_recorder()
    from lute.cli import debug, dry_run  # noqa: PLC0415 (after the recorder started)
    from lute.managed_tasks import get_managed_task  # noqa: PLC0415

    managed = get_managed_task(args.taskname)
    if args.dry_run:
        debug.exit_at_yaml(managed, args.config, why="--dry-run")
        print(dry_run.describe_run(args.taskname, managed, args.config))
        return EXIT_OK
    if debug.requested(debug.ENV_EXIT_AT_YAML):
        debug.exit_at_yaml(managed, args.config)
        return EXIT_OK
    if debug.requested(debug.ENV_BEFORE_TPP_EXEC) and debug.is_third_party(managed):
        debug.before_exec(managed, args.config)
        return EXIT_OK
    executor = managed.build(args.config)
    status = executor.execute_task(args.config)
    sys.stdout.write(f"{executor.analysis.run_id}\n")
    if executor.records_lost:
        # Its own log said where the record was refused; without the record,
        # even a failure could not be told from the database.
        return EXIT_NOT_RECORDED
    return EXIT_OK if status.successful else EXIT_TASK_FAILED
