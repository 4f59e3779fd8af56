"""Secrets planted in the environment, the config and URLs reach no file lute writes.

Runs real managed tasks (a Python Task and a third-party program) against a
PostgreSQL database whose URL carries a password, then once more with the
database unreachable so the records are spooled, and searches every file
under the work dir, every table and everything lute printed. The program's
own environment is checked for lute's channel (IPC key and socket) and
lute's secret-named settings. The user's own variables do reach the user's
program (it may need them to read its data); they are not recorded.
"""

from __future__ import annotations

import secrets
import socket
from pathlib import Path

import sqlalchemy as sa
from conftest import run_lute, write_config


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _everything_in(database_url: str) -> str:
    engine = sa.create_engine(database_url, poolclass=sa.NullPool)
    try:
        metadata = sa.MetaData()
        metadata.reflect(engine)
        with engine.connect() as conn:
            return "\n".join(
                repr(tuple(row))
                for table in metadata.sorted_tables
                for row in conn.execute(table.select())
            )
    finally:
        engine.dispose()


def _files_holding(root: Path, planted: dict[str, str]) -> list[tuple[str, str]]:
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [
                (str(path), name) for name, value in planted.items() if value.encode() in data
            ]
    return found


def test_no_secret_reaches_a_record_a_log_or_another_program(pg_url, lute_env, work_dir, tmp_path):
    planted = {
        name: secrets.token_hex(8) for name in ("aws", "token", "bearer", "db", "pw", "tok", "jid")
    }
    database = sa.engine.make_url(pg_url).set(password=planted["db"])
    env = {
        **lute_env,
        "AWS_SECRET_ACCESS_KEY": planted["aws"],
        "LUTE_API_TOKEN": planted["token"],
        "LUTE_NOTE": f"Authorization: Bearer {planted['bearer']}",
        "LUTE_DB_URL": database.render_as_string(hide_password=False),
        "JID_UPDATE_COUNTERS": f"http://127.0.0.1:{_closed_port()}/jid?token={planted['jid']}",
        "LUTE_ELOG_RETRIES": "0",
        "LUTE_ELOG_FLUSH_TIMEOUT": "5",
    }
    program_env = tmp_path / "program-env.txt"
    config = write_config(
        tmp_path / "c.yaml",
        {
            "Test": {
                "loops": 1,
                "str_var": f"https://me:{planted['pw']}@data.example/x?run=3&token={planted['tok']}",
            },
            "TestBinary": {"p_arg2": f"env > {program_env}; echo done"},
        },
    )
    printed = []
    for args, run_env in (
        (["run", "-t", "Tester", "-c", str(config)], env),
        (["run", "-t", "BinaryTester", "-c", str(config)], env),
        (["db", "list"], env),
        (
            ["run", "-t", "Tester", "-c", str(config)],
            {
                **env,
                "LUTE_DB_URL": f"postgresql://lute:{planted['db']}@127.0.0.1:{_closed_port()}/x",
            },
        ),
    ):
        done = run_lute(args, run_env)
        assert done.returncode == 0, done.stderr
        printed.append(done.stdout + done.stderr)

    assert "spooled it to" in printed[-1]  # the unreachable database: records were spooled
    assert "token=***" in printed[0] and "me:***@data.example" in printed[0]
    assert [name for name, value in planted.items() if any(value in text for text in printed)] == []
    assert _files_holding(work_dir, planted) == []
    stored = _everything_in(pg_url)
    assert [name for name, value in planted.items() if value in stored] == []
    assert "LUTE_NOTE" in stored
    assert "AWS_SECRET_ACCESS_KEY" not in stored

    seen_by_program = dict(
        line.split("=", 1) for line in program_env.read_text().splitlines() if "=" in line
    )
    assert "LUTE_IPC_KEY" not in seen_by_program and "LUTE_SOCKET" not in seen_by_program
    assert "LUTE_API_TOKEN" not in seen_by_program
    assert planted["db"] not in seen_by_program["LUTE_DB_URL"]
    assert seen_by_program["AWS_SECRET_ACCESS_KEY"] == planted["aws"]  # the user's own
