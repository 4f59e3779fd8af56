"""What a run's record is: flattened parameters and plain values, ready to store.

Secrets never reach a record: only an allowlist of the environment is kept
and secret-looking names and values are redacted (``lute.core.redaction``).

A ``RunRecord`` is built once from the Executor's ``DescribedAnalysis`` and
then either written to the database or, when that fails, to a spool file,
so what a later ``lute db sync`` replays is exactly what would have been
written. Parameters are flattened to ``a.b[0]``-style names, each in a
column of its own name; a name that cannot have that column (a bookkeeping
column's, one SQLite would confuse with another because it ignores case,
an empty one) is stored in an escaped column ``param.NAME`` that reads back
as the same name. No two values of a record ever share a column.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import string
import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from lute.core.analysis import DescribedAnalysis
from lute.core.progress import TaskProgress
from lute.core.redaction import recordable_environment, redact_text, redact_value

HEADER_FIELDS = (
    "title",
    "experiment",
    "run",
    "date",
    "lute_version",
    "task_timeout",
    "work_dir",
)
RESULT_COLUMNS = (
    "result.task_status",
    "result.summary",
    "result.payload",
    "result.impl_schemas",
)
TIME_COLUMNS = ("start_time", "end_time", "progress_time")
PROCESS_COLUMNS = ("executor_pid", "executor_start", "task_pgid")
"""Who runs a run: a RUNNING row whose Executor is gone can then be settled."""
PROGRESS_COLUMNS = ("progress_done", "progress_total", "progress_text", "progress_time")
"""How far the Task said it got (``Task._report_progress``), and when it said so."""
PROGRESS_TEXT_CHARS = 200
"""A progress text is for a person glancing at a listing: longer ones are cut."""
RESERVED_COLUMNS = frozenset(
    {
        "id",
        "run_id",
        "attempt",
        "start_time",
        "end_time",
        "duration",
        "exit_code",
        "host",
        "slurm_job_id",
        "log_stdout",
        "log_stderr",
        "gen_cfg_id",
        "exec_cfg_id",
        "valid_flag",
        "invalid_reason",
        "executor_errors",
        *PROCESS_COLUMNS,
        *PROGRESS_COLUMNS,
        *RESULT_COLUMNS,
    }
)
ESCAPE_PREFIX = "param."
"""Start of every column whose name is not the parameter's own (see ``parameter_columns``)."""
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_RESERVED_FOLDED = frozenset(name.translate(_ASCII_LOWER) for name in RESERVED_COLUMNS)
_SPECIAL = frozenset('.[]"')
"""Characters that make a dict key ambiguous in a flattened name."""

_Segment = str | int
"""A step of a path into the parameters: a dict key or a list index."""


def flatten(value: Any) -> dict[str, Any]:
    """Flatten nested dicts and lists into ``a.b[0]``-style names, one per value.

    Empty containers below the top are kept as JSON text so they are not
    silently lost; an empty top level has no values at all. A dict key
    holding ``.``, ``[``, ``]`` or ``"`` can spell the same name as a
    nested path (``{"a.b": 1, "a": {"b": 2}}``); only when that happens do
    the names involved quote such keys (``["a.b"]``), so every value keeps
    a name of its own and plain names stay as LUTE wrote them.
    """
    leaves = list(_leaves(value, ()))
    names = [_name(path, quoted=False) for path, _ in leaves]
    quoted = [False] * len(leaves)
    while len(set(names)) < len(names):
        counts = collections.Counter(names)
        for index, (path, _) in enumerate(leaves):
            if counts[names[index]] > 1 and not quoted[index]:
                names[index], quoted[index] = _name(path, quoted=True), True
    return {name: leaf for name, (_, leaf) in zip(names, leaves, strict=True)}


def _leaves(value: Any, path: tuple[_Segment, ...]) -> Iterator[tuple[tuple[_Segment, ...], Any]]:
    if isinstance(value, Mapping) and value:
        for key, item in value.items():
            yield from _leaves(item, (*path, str(key)))
    elif isinstance(value, (list, tuple)) and value:
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    elif isinstance(value, (Mapping, list, tuple)):
        if path:
            yield path, json.dumps(value)
    else:
        yield path, value


def _name(path: tuple[_Segment, ...], quoted: bool) -> str:
    """``a.b[0]``; with ``quoted``, keys that could be misread as ``["a.b"]``.

    The quoted form is a grammar (bare keys never hold ``.[]"``), so two
    different paths never get the same quoted name.
    """
    parts = []
    for segment in path:
        if isinstance(segment, int):
            parts.append(f"[{segment}]")
        elif quoted and (not segment or _SPECIAL.intersection(segment)):
            parts.append(f"[{json.dumps(segment)}]")
        else:
            parts.append(f".{segment}" if parts else segment)
    return "".join(parts)


def parameter_columns(names: Iterable[str]) -> dict[str, str]:
    """The column of each parameter of one record: its own name where that is free.

    A name keeps its own column unless it is empty, is a bookkeeping
    column's, starts with ``param.`` (where escaped names live) or another
    name of the record already took it; all of that ignoring ASCII case,
    because SQLite does. Such a name is stored as ``escape(name)``
    instead. The result is one-to-one, also ignoring case, and disjoint
    from the bookkeeping columns, so no two values can land in one column.
    """
    taken = set(_RESERVED_FOLDED)
    columns = {}
    for name in names:
        folded = fold(name)
        if name and folded not in taken and not folded.startswith(ESCAPE_PREFIX):
            columns[name] = name
            taken.add(folded)
        else:
            columns[name] = escape(name)
    return columns


def fold(name: str) -> str:
    """``name`` as SQLite compares column names: ASCII letters in lower case."""
    return name.translate(_ASCII_LOWER)


def escape(name: str) -> str:
    """The escaped column of a parameter: ``param.`` then the name, case spelled out.

    An upper-case ASCII letter becomes ``^`` and the letter in lower case,
    ``^`` becomes ``^^``; so an escaped column has no upper-case ASCII
    letter and differs from every other escaped column even to SQLite,
    which ignores case. ``id`` is ``param.id``, as before this scheme.
    """
    spelled = "".join(
        f"^{char.lower()}" if "A" <= char <= "Z" else "^^" if char == "^" else char for char in name
    )
    return f"{ESCAPE_PREFIX}{spelled}"


def _unescape(spelled: str) -> str | None:
    """The name ``escape`` spelled so (a trailing ``^~N`` copy mark ignored), else None."""
    name = []
    chars = iter(spelled)
    for char in chars:
        if char != "^":
            name.append(char)
            continue
        following = next(chars, "")
        if following == "^":
            name.append("^")
        elif "a" <= following <= "z":
            name.append(following.upper())
        elif following == "~" and "".join(chars).isdigit():
            break
        else:
            return None
    return "".join(name)


def parameter_name(column: str) -> str:
    """The parameter a Task-table column holds (inverse of the mapping)."""
    if column.startswith(ESCAPE_PREFIX):
        name = _unescape(column[len(ESCAPE_PREFIX) :])
        if name is not None:
            return name
    return column


def fit_columns(existing: Iterable[str], row: Mapping[str, Any]) -> dict[str, Any]:
    """``row`` with each parameter column that would clash with another escaped anew.

    ``parameter_columns`` keeps one record clear of clashes; this keeps it
    clear of the table too. A column SQLite would take for an existing one
    of another spelling (``Energy`` where ``energy`` exists), or for another
    column of the row (records spooled by older versions), or an empty
    name, moves to its escaped form, with a ``^~N`` copy mark if even that
    is taken. Columns that exist as spelled keep their place.

    Args:
        existing: The columns the table has.
        row: Column -> value, as in ``RunRecord.row``.
    """
    exact = set(existing)
    taken = {fold(column) for column in exact}
    fitted = {column: value for column, value in row.items() if column in exact}
    for column, value in row.items():
        if column in exact:
            continue
        candidate = column
        if is_parameter_column(column) and (not column or fold(column) in taken):
            candidate = escape(parameter_name(column))
            copy = 1
            while fold(candidate) in taken:
                copy += 1
                candidate = f"{escape(parameter_name(column))}^~{copy}"
        taken.add(fold(candidate))
        fitted[candidate] = value
    return fitted


def lookup_columns(param: str, columns: Iterable[str]) -> list[str]:
    """Which of a table's ``columns`` hold what a reader calls ``param``.

    A ``result.*`` column is itself; a parameter may live in its own column
    in some rows and in an escaped one in others (a name that clashed
    later), never in two in one row.
    """
    if param in RESULT_COLUMNS:
        return [param] if param in columns else []
    return [c for c in columns if is_parameter_column(c) and parameter_name(c) == param]


def is_parameter_column(column: str) -> bool:
    """Whether a Task-table column holds a parameter (not bookkeeping)."""
    return column not in RESERVED_COLUMNS


def storable(value: Any) -> Any:
    """A value a database column can hold: scalars as they are, enums by value, else JSON."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "value") and hasattr(value, "name"):
        return value.value
    return json.dumps(value, default=repr)


@dataclasses.dataclass(frozen=True)
class RunRecord:
    """One run as the database stores it: plain JSON values only.

    The same object is written to the database or, when that fails, to a
    spool file; so what is replayed later is exactly what would have been
    written. Times are POSIX seconds.

    Attributes:
        task_name: The Task, which names its table.
        run_id: Unique id of the run; with ``attempt``, the idempotency key.
        attempt: 1 for the first attempt, higher for retries.
        header: The ``gen_cfg`` values.
        execution: The ``exec_cfg`` values.
        row: The Task-table values, parameters flattened.
    """

    task_name: str
    run_id: str
    attempt: int
    header: dict[str, Any]
    execution: dict[str, Any]
    row: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict (see ``from_json``)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> RunRecord:
        """Rebuild a record from ``to_json`` output.

        Raises:
            ValueError: ``data`` is not a record.
        """
        fields = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(data, dict) or set(data) != fields:
            raise ValueError(f"not a run record: expected the keys {sorted(fields)}")
        for name in ("header", "execution", "row"):
            if not isinstance(data[name], dict):
                raise ValueError(f"not a run record: {name} is not a mapping")
        if not isinstance(data["attempt"], int) or not all(
            isinstance(data[n], str) for n in ("task_name", "run_id")
        ):
            raise ValueError("not a run record: bad task_name, run_id or attempt")
        return cls(**data)


def describe_run(desc: DescribedAnalysis) -> RunRecord:
    """Turn an Executor's description of a run into the record to store."""
    params = desc.task_parameters
    dumped: dict[str, Any] = params.model_dump(mode="json") if params is not None else {}
    header = dumped.pop("lute_config", {}) or {}
    header_values = {name: storable(header.get(name)) for name in HEADER_FIELDS}
    header_values = {
        k: None if v is None else redact_text(str(v)) for k, v in header_values.items()
    }
    execution = {
        "env": json.dumps(recordable_environment(desc.task_env), sort_keys=True),
        "communicator_desc": json.dumps(desc.communicator_desc),
    }
    result = desc.task_result
    run_id = desc.run_id or uuid.uuid4().hex
    flat = flatten(dumped)
    columns = parameter_columns(flat)
    row: dict[str, Any] = {
        columns[name]: storable(redact_value(name, value)) for name, value in flat.items()
    }
    row.update(
        {
            "run_id": run_id,
            "attempt": desc.attempt,
            "start_time": desc.start_time,
            "end_time": desc.end_time,
            "duration": desc.duration,
            "exit_code": desc.exit_code,
            "host": desc.host,
            "slurm_job_id": desc.slurm_job_id,
            "log_stdout": desc.log_paths.get("stdout"),
            "log_stderr": desc.log_paths.get("stderr"),
            "result.task_status": result.task_status.value,
            "result.summary": _redacted(storable(result.summary)),
            "result.payload": _redacted(storable(result.payload)),
            "result.impl_schemas": result.impl_schemas,
            "valid_flag": 1 if result.task_status.successful else 0,
            "executor_errors": (
                redact_text(json.dumps(desc.executor_errors)) if desc.executor_errors else None
            ),
            "executor_pid": desc.executor_pid,
            "executor_start": desc.executor_start,
            "task_pgid": desc.task_pgid,
            **progress_values(desc.progress, desc.progress_time),
        }
    )
    return RunRecord(result.task_name, run_id, desc.attempt, header_values, execution, row)


def progress_values(progress: TaskProgress | None, when: float | None) -> dict[str, Any]:
    """The ``PROGRESS_COLUMNS`` of a progress report (all ``None`` without one).

    Amounts are stored as floats whatever the Task sent, so the column's type
    does not depend on whether the first report happened to be a whole number.
    """
    if progress is None:
        return dict.fromkeys(PROGRESS_COLUMNS)
    return {
        "progress_done": _amount(progress.done),
        "progress_total": _amount(progress.total),
        "progress_text": redact_text(str(progress.text)[:PROGRESS_TEXT_CHARS]) or None,
        "progress_time": when,
    }


def _amount(value: Any) -> float | None:
    """A reported amount as a float; one that is no number is not kept (nor fatal)."""
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _redacted(value: Any) -> Any:
    """A stored text with secret-looking values (URL passwords, tokens) replaced."""
    return redact_text(value) if isinstance(value, str) else value
