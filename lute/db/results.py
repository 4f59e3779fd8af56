"""Reading runs back: one run as a ``Result``, listings, histories, invalidation.

A ``Result`` is to a lute run what Covalent's result object is to a
dispatch: its status, when it started and ended, the error if it failed,
what it produced (payload and summary) and the parameters it ran with, all
read from the run database by run id::

    from lute.db.results import get_result

    result = get_result("3f2a...", "/path/to/work_dir")
    if result.status is TaskStatus.COMPLETED:
        use(result.payload)

Run ids may be abbreviated to any unique prefix, as with git commits.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row

from lute.core.analysis import TaskStatus
from lute.core.exceptions import ConfigurationError, UnknownNameError
from lute.core.progress import TaskProgress
from lute.core.workdir import default_work_dir
from lute.db.columns import as_utc
from lute.db.engine import database_url, redacted, write_transaction
from lute.db.orphans import settle_orphans
from lute.db.records import (
    HEADER_FIELDS,
    RESULT_COLUMNS,
    is_parameter_column,
    lookup_columns,
    parameter_name,
)
from lute.db.schema import Database, open_database

MIN_PREFIX = 4
"""Shortest run-id prefix accepted, so a typo does not match by accident."""
_STRUCTURED_FIELDS = ("executor_errors", "parameters", "header", "log_paths", "progress")
"""Result fields that are not one CSV cell (parameters and header get columns of their own)."""
_PROGRESS_CSV = ("done", "total", "text", "time")
"""The progress fields exported as ``progress.*`` CSV columns."""
_BATCH = 500
"""Rows fetched per query when loading many results (bound-parameter limits)."""


class UnknownRunError(UnknownNameError):
    """No run with the given id (or id prefix) is recorded."""


@dataclasses.dataclass(frozen=True)
class RecordedProgress:
    """How far a run had got by its last recorded progress report.

    Attributes:
        report: What the Task reported (done, total, text).
        time: When the report arrived (UTC).
    """

    report: TaskProgress
    time: dt.datetime | None

    def to_json(self) -> dict[str, Any]:
        """``done``, ``total``, ``fraction`` (``None``: total unknown), ``text``, ``time``."""
        return {
            "done": self.report.done,
            "total": self.report.total,
            "fraction": self.report.fraction,
            "text": self.report.text,
            "time": self.time.isoformat() if self.time is not None else None,
        }

    def __str__(self) -> str:
        return str(self.report)


@dataclasses.dataclass(frozen=True)
class RunSummary:
    """One line of a run listing (from the ``runs`` table).

    ``progress`` is the latest report while the run goes, the last one once
    it has ended, ``None`` if the Task reported none.
    """

    run_id: str
    attempt: int
    task_name: str
    status: str
    valid: bool
    start_time: dt.datetime | None
    end_time: dt.datetime | None
    experiment: str | None
    run: str | None
    progress: RecordedProgress | None = None

    @property
    def duration(self) -> float | None:
        """Wall time in seconds, when both ends are known."""
        if self.start_time is None or self.end_time is None:
            return None
        return (self.end_time - self.start_time).total_seconds()


@dataclasses.dataclass(frozen=True)
class Result:
    """Everything recorded about one run of a managed task.

    Attributes:
        run_id: Unique id of the run (also names its log files).
        attempt: 1 for the first attempt, higher for retries.
        task_name: The Task that ran.
        status: Final status.
        valid: False when the run failed or was invalidated; downstream
            Tasks ignore invalid runs.
        invalid_reason: Why the run was invalidated, if it was.
        start_time: When the Task process started (UTC).
        end_time: When the run was finalised (UTC).
        duration: Wall time in seconds.
        exit_code: Exit status of the Task process.
        host: Host the Task ran on.
        slurm_job_id: Batch job id under SLURM.
        summary: The Task's short outcome.
        payload: What the Task produced, e.g. a path (structured payloads
            come back as the JSON text they were stored as).
        impl_schemas: Schemas the payload follows.
        error: The failure summary when the run did not complete, else None.
        executor_errors: Failures on the Executor's side during the run.
        parameters: Flattened parameters (``a.b[0]``) the run used; a
            parameter added to the model after this run is absent.
        header: The configuration header (experiment, run, ...).
        log_paths: Where the Task's stdout and stderr were written.
        progress: The Task's last recorded progress report (see ``RunSummary``).
    """

    run_id: str
    attempt: int
    task_name: str
    status: TaskStatus
    valid: bool
    invalid_reason: str | None
    start_time: dt.datetime | None
    end_time: dt.datetime | None
    duration: float | None
    exit_code: int | None
    host: str | None
    slurm_job_id: str | None
    summary: Any
    payload: Any
    impl_schemas: str | None
    error: str | None
    executor_errors: tuple[str, ...]
    parameters: dict[str, Any]
    header: dict[str, Any]
    log_paths: dict[str, str]
    progress: RecordedProgress | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values: times in ISO 8601, the status by name."""
        data = dataclasses.asdict(self)
        data["status"] = self.status.value
        data["progress"] = self.progress.to_json() if self.progress is not None else None
        data["executor_errors"] = list(self.executor_errors)
        for name in ("start_time", "end_time"):
            value = data[name]
            data[name] = value.isoformat() if value is not None else None
        return data


def resolve_database(
    db_dir: str | os.PathLike[str] | None = None, url: str | None = None
) -> Database:
    """The existing database named by ``url``, else found from a work dir.

    Runs of this host whose Executor died are settled first
    (``lute.db.orphans``), so no reader is shown a dead run as RUNNING.

    Raises:
        UnknownNameError: There is no database file at that place.
        DatabaseError: The database cannot be opened.
    """
    database = open_database(url or database_url(db_dir or default_work_dir()), create=False)
    settle_orphans(database)
    return database


def get_result(
    run_id: str,
    db_dir: str | os.PathLike[str] | None = None,
    *,
    url: str | None = None,
    attempt: int | None = None,
) -> Result:
    """The recorded result of one run.

    Args:
        run_id: The run's id, or a unique prefix of it.
        db_dir: Work dir holding ``lute.db`` (default: ``$LUTE_WORK_DIR`` or
            ``./lute_work``; ignored when ``url`` or ``$LUTE_DB_URL`` is set).
        url: SQLAlchemy URL of the database.
        attempt: Which attempt; default the latest.

    Raises:
        UnknownRunError: No such run.
    """
    return load_result(resolve_database(db_dir, url), run_id, attempt)


def load_result(database: Database, run_id: str, attempt: int | None = None) -> Result:
    """The result of one run in an open database (see ``get_result``)."""
    return _load_results(database, [find_run(database, run_id, attempt)])[0]


def find_run(database: Database, run_id: str, attempt: int | None = None) -> RunSummary:
    """The run with this id (or unique id prefix), latest attempt unless given.

    Raises:
        UnknownRunError: No run matches, or a prefix matches several runs.
    """
    runs = database.runs
    query = sa.select(runs).order_by(runs.c.attempt.desc())
    if attempt is not None:
        query = query.where(runs.c.attempt == attempt)
    with database.engine.connect() as conn:
        rows = conn.execute(query.where(runs.c.run_id == run_id)).all()
        if not rows and len(run_id) >= MIN_PREFIX:
            escaped = run_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            rows = conn.execute(query.where(runs.c.run_id.like(f"{escaped}%", escape="\\"))).all()
    ids = sorted({row.run_id for row in rows})
    what = f"run {run_id!r}" + (f" attempt {attempt}" if attempt is not None else "")
    if not ids:
        raise UnknownRunError(f"no {what} in the database {redacted(database.url)}")
    if len(ids) > 1:
        raise UnknownRunError(
            f"{what} is ambiguous: it starts {len(ids)} run ids ({', '.join(ids[:5])}"
            f"{', ...' if len(ids) > 5 else ''}); give more characters"
        )
    return _summary(rows[0])


def list_runs(
    database: Database,
    *,
    task: str | None = None,
    status: str | None = None,
    run: str | int | None = None,
    experiment: str | None = None,
    limit: int | None = None,
) -> list[RunSummary]:
    """Recorded runs, newest first, optionally filtered.

    Raises:
        UnknownNameError: ``task`` has no runs in this database, or
            ``status`` is not a status.
    """
    runs = database.runs
    query = sa.select(runs).order_by(*_newest_first(runs))
    if task is not None:
        check_task(database, task)
        query = query.where(runs.c.task_name == task)
    if status is not None:
        query = query.where(runs.c.status == _status(status).value)
    if run is not None:
        query = query.where(runs.c.run == str(run))
    if experiment is not None:
        query = query.where(runs.c.experiment == experiment)
    if limit is not None:
        query = query.limit(limit)
    with database.engine.connect() as conn:
        return [_summary(row) for row in conn.execute(query)]


def check_task(database: Database, task: str) -> None:
    """Raise ``UnknownNameError`` naming the known Tasks unless ``task`` is one."""
    known = database.task_names()
    if task not in known:
        raise UnknownNameError(
            f"no runs of Task {task!r} in the database {redacted(database.url)}; "
            f"Tasks with runs: {', '.join(known) or 'none'}"
        )


def parameter_history(
    database: Database, task: str, param: str, valid_only: bool = False
) -> list[tuple[RunSummary, Any]]:
    """The value of one parameter (or ``result.*`` column) in every run, newest first.

    Raises:
        UnknownNameError: No such Task, or no such parameter of it.
    """
    check_task(database, task)
    table = database.task_table(task, refresh=True)
    columns = [] if table is None else lookup_columns(param, table.c.keys())
    if table is None or not columns:
        present = table.c.keys() if table is not None else []
        known = {parameter_name(c) for c in present if is_parameter_column(c)}
        raise UnknownNameError(
            f"Task {task!r} has no parameter {param!r}; it has: "
            f"{', '.join(sorted(known) + list(RESULT_COLUMNS))}"
        )
    runs = database.runs
    labels = [f"lute_value_{index}" for index in range(len(columns))]
    query = (
        sa.select(runs, *(table.c[c].label(n) for c, n in zip(columns, labels, strict=True)))
        .join(table, sa.and_(runs.c.task_row_id == table.c.id, runs.c.task_name == task))
        .order_by(*_newest_first(runs))
    )
    if valid_only:
        query = query.where(runs.c.valid_flag == 1)
    with database.engine.connect() as conn:
        return [(_summary(row), _filled(row, labels)) for row in conn.execute(query)]


def invalidate_run(
    database: Database, run_id: str, reason: str, attempt: int | None = None
) -> Result:
    """Mark a run invalid (``valid_flag = 0``) so downstream Tasks skip it.

    Raises:
        ConfigurationError: ``reason`` is empty.
        UnknownRunError: No such run.
    """
    if not reason.strip():
        raise ConfigurationError("invalidating a run needs a reason (--reason TEXT)")
    found = find_run(database, run_id, attempt)
    table = database.task_table(found.task_name, refresh=True)
    if table is None:
        raise UnknownRunError(f"the table of Task {found.task_name!r} is missing")
    runs = database.runs
    key = sa.and_(runs.c.run_id == found.run_id, runs.c.attempt == found.attempt)
    with write_transaction(database.engine) as conn:
        row_id = conn.execute(sa.select(runs.c.task_row_id).where(key)).scalar_one()
        conn.execute(sa.update(runs).where(key).values(valid_flag=0))
        conn.execute(
            sa.update(table)
            .where(table.c.id == row_id)
            .values(valid_flag=0, invalid_reason=reason.strip())
        )
    return load_result(database, found.run_id, found.attempt)


def export_results(database: Database, summaries: Sequence[RunSummary]) -> list[Result]:
    """Full results of the listed runs, in the same order."""
    return _load_results(database, summaries)


def _load_results(database: Database, summaries: Sequence[RunSummary]) -> list[Result]:
    by_key: dict[tuple[str, int], Result] = {}
    gen_cfg = database.gen_cfg
    for task in sorted({s.task_name for s in summaries}):
        wanted = [s.run_id for s in summaries if s.task_name == task]
        table = database.task_table(task, refresh=True)
        if table is None:
            raise UnknownRunError(f"the table of Task {task!r} is missing")
        for start in range(0, len(wanted), _BATCH):
            with database.engine.connect() as conn:
                rows = [
                    row._mapping
                    for row in conn.execute(
                        sa.select(table).where(table.c.run_id.in_(wanted[start : start + _BATCH]))
                    )
                ]
                header_ids = {row["gen_cfg_id"] for row in rows} - {None}
                headers = {
                    header.id: {f: header._mapping[f] for f in HEADER_FIELDS}
                    for header in conn.execute(
                        sa.select(gen_cfg).where(gen_cfg.c.id.in_(header_ids))
                    )
                }
            for row in rows:
                result = _result(task, row, headers.get(row["gen_cfg_id"], {}))
                by_key[(result.run_id, result.attempt)] = result
    return [
        dataclasses.replace(by_key[(s.run_id, s.attempt)], progress=s.progress)
        for s in summaries
        if (s.run_id, s.attempt) in by_key
    ]


def _result(task: str, row: Any, header: dict[str, Any]) -> Result:
    status = _status(row["result.task_status"] or TaskStatus.PENDING.value)
    parameters = {
        parameter_name(name): value
        for name, value in row.items()
        if is_parameter_column(name) and value is not None
    }
    errors = row["executor_errors"]
    summary = row["result.summary"]
    return Result(
        run_id=row["run_id"],
        attempt=row["attempt"],
        task_name=task,
        status=status,
        valid=bool(row["valid_flag"]),
        invalid_reason=row["invalid_reason"],
        start_time=as_utc(row["start_time"]),
        end_time=as_utc(row["end_time"]),
        duration=row["duration"],
        exit_code=row["exit_code"],
        host=row["host"],
        slurm_job_id=row["slurm_job_id"],
        summary=summary,
        payload=row["result.payload"],
        impl_schemas=row["result.impl_schemas"],
        error=None if status.successful else (summary or status.value),
        executor_errors=tuple(json.loads(errors)) if errors else (),
        parameters=parameters,
        header=header,
        log_paths={
            stream: path
            for stream, path in (("stdout", row["log_stdout"]), ("stderr", row["log_stderr"]))
            if path
        },
    )


def _summary(row: Row[Any]) -> RunSummary:
    return RunSummary(
        run_id=row.run_id,
        attempt=row.attempt,
        task_name=row.task_name,
        status=row.status or "",
        valid=bool(row.valid_flag),
        start_time=as_utc(row.start_time),
        end_time=as_utc(row.end_time),
        experiment=row.experiment,
        run=row.run,
        progress=_progress(row),
    )


def _progress(row: Row[Any]) -> RecordedProgress | None:
    """The progress columns of a ``runs`` row, if the Task ever reported any."""
    values = row._mapping
    if values.get("progress_done") is None:
        return None
    report = TaskProgress(
        values["progress_done"],
        values.get("progress_total") or 0.0,
        values.get("progress_text") or "",
    )
    return RecordedProgress(report, as_utc(values.get("progress_time")))


def _filled(row: Row[Any], labels: Sequence[str]) -> Any:
    """The value in whichever of ``labels`` the row fills (see ``lookup_columns``)."""
    return next((row._mapping[n] for n in labels if row._mapping[n] is not None), None)


def _newest_first(runs: sa.Table) -> tuple[sa.UnaryExpression[Any], ...]:
    """Newest first: by start time (runs without one last), then latest recorded."""
    return runs.c.start_time.desc().nulls_last(), runs.c.id.desc()


def _status(name: str) -> TaskStatus:
    try:
        return TaskStatus(name.upper())
    except ValueError:
        raise UnknownNameError(
            f"no status {name!r}; statuses: {', '.join(s.value for s in TaskStatus)}"
        ) from None


def result_rows(results: Iterable[Result]) -> tuple[list[str], list[dict[str, Any]]]:
    """Flat rows for CSV: fixed fields, then ``header.*``, then ``param.*`` columns.

    Runs of different Tasks have different parameters; the columns are the
    union, and a run without a parameter leaves its cell empty.
    """
    fixed = [f.name for f in dataclasses.fields(Result) if f.name not in _STRUCTURED_FIELDS]
    rows: list[dict[str, Any]] = []
    params: dict[str, None] = {}
    for result in results:
        data = result.to_json()
        row = {name: data[name] for name in fixed}
        progress = data["progress"] or {}
        row.update({f"progress.{k}": progress.get(k) for k in _PROGRESS_CSV})
        row.update({f"header.{k}": v for k, v in result.header.items()})
        for name, value in result.parameters.items():
            params.setdefault(f"param.{name}")
            row[f"param.{name}"] = value
        rows.append(row)
    columns = fixed + [f"progress.{k}" for k in _PROGRESS_CSV]
    columns += [f"header.{f}" for f in HEADER_FIELDS] + list(params)
    return columns, rows
