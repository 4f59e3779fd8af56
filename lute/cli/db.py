"""``lute db``: look into the run database, invalidate runs, export, sync the spool.

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

from lute.cli.table import cell, print_json, print_table
from lute.config.loader import load_documents
from lute.config.models.base import AnalysisHeader
from lute.core.analysis import TaskStatus
from lute.core.exceptions import ConfigurationError
from lute.core.exit_codes import EXIT_OK, EXIT_TASK_FAILED
from lute.core.files import umask_mode, write_atomically
from lute.db import results
from lute.db.engine import check_url, database_url
from lute.db.fallback import fallback_dir
from lute.db.location import check_work_dir, url_origin
from lute.db.schema import Database
from lute.db.store import spool_dir, sync_spool

EXPORT_FORMATS = ("csv", "json")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``db`` sub-command and its own sub-commands."""
    where = location_options()

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
    export.add_argument("-t", "--task", help="only runs of this Task")
    export.add_argument("-o", "--output", help="write to this file instead of stdout")
    export.set_defaults(handler=_export)

    sync = actions.add_parser("sync", parents=[where], help="land spooled records")
    sync.set_defaults(handler=_sync)


def location_options() -> argparse.ArgumentParser:
    """A parent parser of the options that say where the database is."""
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--url", help="SQLAlchemy URL of the database (overrides all else)")
    where.add_argument("--work-dir", help="work dir holding lute.db and the spool")
    where.add_argument("-c", "--config", help="take db_url and work_dir from this config")
    return where


def locate(args: argparse.Namespace) -> tuple[str, str]:
    """The database URL and the work dir these arguments name, both checked.

    Raises:
        ConfigurationError: The work dir is not a directory, or no installed
            driver can use the URL; the message names the setting.
    """
    header = AnalysisHeader()
    if args.config:
        document, _tasks = load_documents(args.config)
        known = {k: v for k, v in document.items() if k in AnalysisHeader.model_fields}
        try:
            header = AnalysisHeader.model_validate(known)
        except ValueError as err:
            raise ConfigurationError(f"{args.config}: invalid header: {err}") from err
    work_dir = args.work_dir or header.work_dir
    check_work_dir(work_dir, writable=False)
    url = args.url or database_url(work_dir, header.db_url)
    check_url(url, "--url" if args.url else url_origin(header.db_url, args.config))
    return url, work_dir


def open_database(args: argparse.Namespace) -> Database:
    """The run database the ``location_options`` in ``args`` name."""
    url, _work_dir = locate(args)
    return results.resolve_database(url=url)


def _list(args: argparse.Namespace) -> int:
    database = open_database(args)
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
    return {**fields, "duration": summary.duration}


def _show(args: argparse.Namespace) -> int:
    result = results.load_result(open_database(args), args.run_id)
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


def _history(args: argparse.Namespace) -> int:
    values = results.parameter_history(
        open_database(args), args.task, args.param, valid_only=args.valid_only
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
    result = results.invalidate_run(open_database(args), args.run_id, args.reason)
    print(f"invalidated {result.task_name} run {result.run_id}: {result.invalid_reason}")
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    database = open_database(args)
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
