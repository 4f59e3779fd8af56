"""A database as LUTE writes it, made with the standard library for the tests.

The layout is LUTE's (``lute/io/db.py`` and ``lute/io/_sqlite.py`` in
slac-lcls/lute): ``gen_cfg`` without ``work_dir``, ``exec_cfg`` with the
environment as ``NAME=value;...``, one table per Task with ``timestamp``
and no lute bookkeeping, no ``runs`` table, rollback journal (not WAL).
And the queries LUTE's ``read_latest_db_entry`` issues, to read a lute
database as LUTE would.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

SECRET = "hunter2-lute-compat"

TASK_COLUMNS = {
    "TestWriteOutput": {"outfile_name": "TEXT", "num_vals": "INTEGER"},
    "Test": {
        "float_var": "REAL",
        "str_var": "TEXT",
        "compound_var.int_var": "INTEGER",
        "compound_var.dict_var.a": "TEXT",
        "throw_error": "INTEGER",
    },
}
RESULT_COLUMNS = {
    "result.task_status": "TEXT",
    "result.summary": "TEXT",
    "result.payload": "BLOB",
    "result.impl_schemas": "TEXT",
}

RUNS: list[tuple[str, dict[str, Any], str, int, str, int]] = [
    # task, parameters, status, valid_flag, timestamp, gen_cfg id
    ("TestWriteOutput", {"outfile_name": "old.txt", "num_vals": 5}, "COMPLETED", 1,
     "2024-05-01 10:00:00", 1),
    ("Test", {"float_var": 0.5, "str_var": "x", "compound_var.int_var": 3,
              "compound_var.dict_var.a": "b", "throw_error": 0}, "COMPLETED", 1,
     "2024-05-01 10:05:00", 1),
    ("TestWriteOutput", {"outfile_name": "lute_wrote_this.txt", "num_vals": 7}, "COMPLETED", 1,
     "2024-05-01 11:00:00", 2),
    ("TestWriteOutput", {"outfile_name": "failed.txt", "num_vals": 9}, "FAILED", 0,
     "2024-05-01 12:00:00", 2),
]  # fmt: skip


def write_lute_database(path: Path) -> Path:
    """A LUTE database with two headers (runs 12 and 13) and four runs of two Tasks."""
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE gen_cfg(id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT,"
            " experiment TEXT, run INTEGER, date TEXT, lute_version REAL, task_timeout INTEGER)"
        )
        conn.execute(
            "CREATE TABLE exec_cfg(id INTEGER PRIMARY KEY AUTOINCREMENT, env TEXT,"
            " poll_interval REAL, communicator_desc TEXT)"
        )
        for run in (12, 13):
            conn.execute(
                "INSERT INTO gen_cfg(title, experiment, run, date, lute_version, task_timeout)"
                " VALUES ('LUTE Task Configuration', 'mfxp1001', ?, '2024/05/01', 0.1, 600)",
                (run,),
            )
        conn.execute(
            "INSERT INTO exec_cfg(env, poll_interval, communicator_desc) VALUES (?, 0.05, ?)",
            (
                f"LUTE_CONFIGPATH=/sdf/cfg.yaml;LUTE_ELOG_PASSWORD={SECRET};SLURM_JOB_ID=77",
                "PipeCommunicator;SocketCommunicator",
            ),
        )
        for task, columns in TASK_COLUMNS.items():
            declared = ", ".join(f'"{name}" {kind}' for name, kind in columns.items())
            results = ", ".join(f'"{name}" {kind}' for name, kind in RESULT_COLUMNS.items())
            conn.execute(
                f"CREATE TABLE {task}(id INTEGER PRIMARY KEY AUTOINCREMENT,"
                " timestamp DATETIME DEFAULT CURRENT_TIMESTAMP, gen_cfg_id INTEGER,"
                f" exec_cfg_id INTEGER, {declared}, {results}, valid_flag INTEGER)"
            )
        for task, params, status, valid, timestamp, header in RUNS:
            row = {
                "timestamp": timestamp,
                "gen_cfg_id": header,
                "exec_cfg_id": 1,
                **params,
                "result.task_status": status,
                "result.summary": "Completed task successfully." if valid else "Failed",
                "result.payload": f"/sdf/scratch/{params.get('outfile_name', '')}",
                "result.impl_schemas": None,
                "valid_flag": valid,
            }
            names = ", ".join(f'"{name}"' for name in row)
            marks = ", ".join("?" for _ in row)
            conn.execute(f"INSERT INTO {task} ({names}) VALUES ({marks})", list(row.values()))
    return path


def checksum(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def lute_style_latest(db_dir: Path, task: str, param: str, for_run: int | None = None) -> Any:
    """The queries LUTE's ``read_latest_db_entry`` issues, and how it picks the answer.

    LUTE selects ``gen_cfg_id`` and the parameter (double-quoted, so a
    missing column is read as the literal text) from the Task table where
    ``valid_flag = 1``, optionally keeps the rows whose ``gen_cfg`` row has
    the run (compared unquoted), and takes the last row returned.
    """
    with sqlite3.connect(db_dir / "lute.db") as conn:
        entries = conn.execute(
            f'SELECT gen_cfg_id,"{param}" FROM {task} WHERE valid_flag = 1'
        ).fetchall()
        if for_run is None:
            return entries[-1][1] if entries else None
        headers = conn.execute(f"SELECT id FROM gen_cfg WHERE run = {for_run}").fetchall()
        matching = [entry[1] for entry in entries if (entry[0],) in headers]
        return matching[-1] if matching else None
