"""What a run's record is: flattened parameters and plain values, ready to store.

Secrets never reach a record: only an allowlist of the environment is kept
and secret-looking names and values are redacted (``lute.core.redaction``).

A ``RunRecord`` is built once from the Executor's ``DescribedAnalysis`` and
then either written to the database or, when that fails, to a spool file,
so what a later ``lute db sync`` replays is exactly what would have been
written. Parameters are flattened to ``a.b[0]``-style names; a parameter
whose name collides with a bookkeeping column is stored as ``param.NAME``.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Mapping
from typing import Any

from lute.core.analysis import DescribedAnalysis
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
TIME_COLUMNS = ("start_time", "end_time")
PROCESS_COLUMNS = ("executor_pid", "executor_start", "task_pgid")
"""Who runs a run: a RUNNING row whose Executor is gone can then be settled."""
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
        *RESULT_COLUMNS,
    }
)
_PARAM_PREFIX = "param."


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Flatten nested dicts and lists into ``a.b[0]``-style keys.

    Empty containers are kept as JSON text so they are not silently lost.
    """
    if isinstance(value, Mapping) and value:
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(value, (list, tuple)) and value:
        flat = {}
        for index, item in enumerate(value):
            flat.update(flatten(item, f"{prefix}[{index}]"))
        return flat
    if isinstance(value, (Mapping, list, tuple)):
        return {prefix: json.dumps(value)}
    return {prefix: value}


def parameter_column(name: str) -> str:
    """Column holding parameter ``name``; bookkeeping names get a prefix."""
    return f"{_PARAM_PREFIX}{name}" if name in RESERVED_COLUMNS else name


def parameter_name(column: str) -> str:
    """The parameter a column holds (inverse of ``parameter_column``)."""
    if column.startswith(_PARAM_PREFIX) and column[len(_PARAM_PREFIX) :] in RESERVED_COLUMNS:
        return column[len(_PARAM_PREFIX) :]
    return column


def lookup_column(param: str) -> str:
    """The column a reader's ``param`` names: a ``result.*`` column, else a parameter's."""
    return param if param in RESULT_COLUMNS else parameter_column(param)


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
    row: dict[str, Any] = {
        parameter_column(name): storable(redact_value(name, value))
        for name, value in flatten(dumped).items()
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
        }
    )
    return RunRecord(result.task_name, run_id, desc.attempt, header_values, execution, row)


def _redacted(value: Any) -> Any:
    """A stored text with secret-looking values (URL passwords, tokens) replaced."""
    return redact_text(value) if isinstance(value, str) else value
