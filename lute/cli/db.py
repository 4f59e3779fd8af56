"""``lute db``: look into the run database, invalidate runs, export, sync the spool, import LUTE's.

The database is found as a run would find it: ``--url``, else
``$LUTE_DB_URL``, else the config header's ``db_url`` (``-c CONFIG``), else
``lute.db`` in the work dir (``--work-dir``, the header's ``work_dir``,
``$LUTE_WORK_DIR`` or ``./lute_work``). A URL no installed driver can use,
or a work dir that is not a directory, is refused in one line naming the
setting (exit status 2). Times are shown in UTC.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import json
import sys
from pathlib import Path
from typing import Any

from lute.cli.locate import database_options, locate, open_located
from lute.cli.table import cell, print_json, print_table
from lute.core.analysis import TaskStatus
from lute.core.exceptions import ConfigurationError
from lute.core.exit_codes import EXIT_OK, EXIT_TASK_FAILED
from lute.core.files import umask_mode, write_atomically
from lute.db import results
from lute.db.fallback import fallback_dir
from lute.db.store import spool_dir, sync_spool

EXPORT_FORMATS = ("csv", "json")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``db`` sub-command and its own sub-commands."""
    where = database_options()

    parser = commands.add_parser("db", help="query and maintain the run database")
    actions = parser.add_subparsers(dest="db_command", required=True, metavar="ACTION")

    listing = actions.add_parser("list", parents=[where], help="recorded runs, newest first")
    listing.add_argument("-t", "--task", help="only runs of this Task")
    listing.add_argument(
        "-s",
        "--status",
        type=str.upper,
        choices=[s.value for s in TaskStatus],
        help="only runs that ended so",
    )
    listing.add_argument("-r", "--run", help="only runs of this run number")
    listing.add_argument("-e", "--experiment", help="only runs of this experiment")
    listing.add_argument("-n", "--limit", type=int, default=50, help="at most N runs (0: all)")
    listing.add_argument("--json", action="store_true", help="as JSON")
    listing.set_defaults(handler=_list)

    show = actions.add_parser("show", parents=[where], help="one run in full")
    show.add_argument("run_id", help="run id or a unique prefix of it")
    show.add_argument("--json", action="store_true", help="as JSON")
    show.set_defaults(handler=_show)

    history = actions.add_parser("history", parents=[where], help="one parameter across runs")
    history.add_argument("task", help="the Task")
    history.add_argument("param", help="flattened parameter name (a.b[0]) or result.* column")
    history.add_argument("--valid-only", action="store_true", help="skip invalid runs")
    history.add_argument("--json", action="store_true", help="as JSON")
    history.set_defaults(handler=_history)

    invalidate = actions.add_parser(
        "invalidate", parents=[where], help="mark a run invalid so downstream Tasks skip it"
    )
    invalidate.add_argument("run_id", help="run id or a unique prefix of it")
    invalidate.add_argument("--reason", required=True, help="why (kept in the record)")
    invalidate.set_defaults(handler=_invalidate)

    export = actions.add_parser("export", parents=[where], help="runs as CSV or JSON")
    export.add_argument(
        "-f",
        "--format",
        choices=EXPORT_FORMATS,
        help="default: from the extension of -o (.csv, .json), else json",
    )
    export.add_argument(
        "--json", dest="format", action="store_const", const="json", help="the same as -f json"
    )
    export.add_argument("-t", "--task", help="only runs of this Task")
    export.add_argument("-o", "--output", help="write to this file instead of stdout")
    export.set_defaults(handler=_export)

    sync = actions.add_parser("sync", parents=[where], help="land spooled records")
    sync.set_defaults(handler=_sync)

    imported = actions.add_parser(
        "import", parents=[where], help="copy the runs of a LUTE database into this database"
    )
    imported.add_argument("lute_db", help="a lute.db written by LUTE (only read)")
    imported.set_defaults(handler=_import)


def _list(args: argparse.Namespace) -> int:
    database = open_located(args)
    runs = results.list_runs(
        database,
        task=args.task,
        status=args.status,
        run=args.run,
        experiment=args.experiment,
        limit=args.limit or None,
    )
    if args.json:
        print_json([_summary_json(r) for r in runs])
        return EXIT_OK
    if not runs:
        print("no matching runs")
        return EXIT_OK
    headers = ["RUN ID", "TASK", "STATUS", "VALID", "STARTED (UTC)", "SECONDS", "EXPERIMENT", "RUN"]
    rows = [
        [
            r.run_id,
            r.task_name,
            r.status,
            r.valid,
            r.start_time,
            None if r.duration is None else f"{r.duration:.2f}",
            r.experiment,
            r.run,
        ]
        for r in runs
    ]
    print_table(headers, rows)
    return EXIT_OK


def _summary_json(summary: results.RunSummary) -> dict[str, Any]:
    """One listed run as JSON-ready values (times in ISO 8601, UTC)."""
    fields = {
        name: value.isoformat() if hasattr(value, "isoformat") else value
        for name, value in dataclasses.asdict(summary).items()
    }
    progress = summary.progress.to_json() if summary.progress is not None else None
    return {**fields, "duration": summary.duration, "progress": progress}


def _show(args: argparse.Namespace) -> int:
    result = results.load_result(open_located(args), args.run_id)
    if args.json:
        print_json(result.to_json())
        return EXIT_OK
    fields: list[tuple[str, Any]] = [
        ("run id", result.run_id),
        ("attempt", result.attempt),
        ("task", result.task_name),
        ("status", result.status.value),
        ("valid", result.valid),
        ("invalid reason", result.invalid_reason),
        ("started (UTC)", result.start_time),
        ("ended (UTC)", result.end_time),
        ("duration (s)", result.duration),
        ("progress", _progress_text(result.progress)),
        ("exit code", result.exit_code),
        ("host", result.host),
        ("SLURM job", result.slurm_job_id),
        ("summary", result.summary),
        ("payload", result.payload),
        ("impl schemas", result.impl_schemas),
        ("error", result.error),
        *((f"log {stream}", path) for stream, path in result.log_paths.items()),
        *((f"header {name}", value) for name, value in result.header.items()),
    ]
    width = max(len(name) for name, _ in fields)
    for name, value in fields:
        print(f"{name.ljust(width)}  {cell(value, limit=10_000)}")
    for error in result.executor_errors:
        print(f"{'executor error'.ljust(width)}  {error.splitlines()[0]}")
    if result.parameters:
        print()
        print_table(["PARAMETER", "VALUE"], sorted(result.parameters.items()))
    return EXIT_OK


def _progress_text(progress: results.RecordedProgress | None) -> str | None:
    """The last progress report and when it came (``None``: the Task reported none)."""
    if progress is None:
        return None
    when = f" (at {progress.time:%Y-%m-%d %H:%M:%S})" if progress.time is not None else ""
    return f"{progress}{when}"


def _history(args: argparse.Namespace) -> int:
    values = results.parameter_history(
        open_located(args), args.task, args.param, valid_only=args.valid_only
    )
    if args.json:
        print_json([{**_summary_json(r), "value": value} for r, value in values])
        return EXIT_OK
    headers = ["RUN ID", "STARTED (UTC)", "STATUS", "VALID", "EXPERIMENT", "RUN", args.param]
    rows = [
        [r.run_id, r.start_time, r.status, r.valid, r.experiment, r.run, value]
        for r, value in values
    ]
    print_table(headers, rows)
    return EXIT_OK


def _invalidate(args: argparse.Namespace) -> int:
    result = results.invalidate_run(open_located(args), args.run_id, args.reason)
    print(f"invalidated {result.task_name} run {result.run_id}: {result.invalid_reason}")
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    database = open_located(args)
    summaries = results.list_runs(database, task=args.task)
    exported = results.export_results(database, summaries)
    if _export_format(args) == "json":
        text = json.dumps([r.to_json() for r in exported], indent=2, default=str) + "\n"
    else:
        columns, rows = results.result_rows(exported)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        text = buffer.getvalue()
    if args.output:
        # For colleagues in the experiment directory: as readable as the umask allows.
        write_atomically(args.output, text, mode=umask_mode())
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _import(args: argparse.Namespace) -> int:
    from lute.db.import_lute import import_lute_database  # noqa: PLC0415 (this action only)

    url, _work_dir = locate(args)
    report = import_lute_database(args.lute_db, url)
    print(
        f"imported {report.imported} run(s) from {report.source} into {report.target}"
        f" ({report.already_there} already there)"
    )
    return EXIT_OK


def _export_format(args: argparse.Namespace) -> str:
    """``--format``, else the extension of ``--output``, else JSON.

    Raises:
        ConfigurationError: ``--output`` has an extension of no known format.
    """
    if args.format:
        return str(args.format)
    suffix = Path(args.output).suffix.lower().lstrip(".") if args.output else ""
    if not suffix:
        return "json"
    if suffix not in EXPORT_FORMATS:
        raise ConfigurationError(
            f"-o {args.output}: cannot tell the format from '.{suffix}';"
            f" use .csv or .json, or give -f {{{','.join(EXPORT_FORMATS)}}}"
        )
    return suffix


def _sync(args: argparse.Namespace) -> int:
    url, work_dir = locate(args)
    report = sync_spool(url, work_dir)
    others = f", {report.elsewhere} for other databases" if report.elsewhere else ""
    print(
        f"landed {len(report.landed)}, already recorded {len(report.already_recorded)}, "
        f"failed {len(report.failed)} (spool: {spool_dir(work_dir)}; "
        f"fallback spool: {fallback_dir()}{others})"
    )
    for path, reason in report.failed:
        print(f"  {path}: {reason}")
    return EXIT_TASK_FAILED if report.failed else EXIT_OK
