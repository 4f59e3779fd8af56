"""The latest recorded value of a parameter: how downstream Tasks find inputs.

A Task whose input is another Task's output (``TestReadOutput`` reading what
``TestWriteOutput`` wrote) looks it up here while its parameters are
validated. That lookup must never create a database as a side effect, so
it answers ``None`` for "nothing recorded yet" and raises only when a
database exists but cannot be read.
"""

from __future__ import annotations

import os
from typing import Any

import sqlalchemy as sa

from lute.db.engine import database_url, redacted, sqlite_path
from lute.db.errors import DatabaseError, failure_reason
from lute.db.records import lookup_columns
from lute.db.schema import Database, open_database


def read_latest_db_entry(
    db_dir: str | os.PathLike[str],
    task_name: str,
    param: str,
    valid_only: bool = True,
    for_run: int | str | None = None,
    *,
    db_url: str | None = None,
) -> Any:
    """Latest recorded value of one parameter (or result column) of a Task.

    "Latest" is the run that ended last (a spooled run landed later keeps
    its place in time), ties broken by insertion order.

    Args:
        db_dir: Work dir holding ``lute.db`` (ignored if a URL is given or
            ``LUTE_DB_URL`` is set).
        task_name: The Task whose table to read.
        param: A flattened parameter name (``a.b[0]``) or a ``result.*`` column.
        valid_only: Skip runs with ``valid_flag = 0`` (failed or invalidated).
        for_run: Only runs whose header has this run number.
        db_url: The header's ``db_url``, if it has one.

    Returns:
        The value, or ``None`` when there is no such database, table, column
        or matching row.

    Raises:
        DatabaseError: The database exists but cannot be read.
    """
    url = database_url(db_dir, db_url)
    path = sqlite_path(url)
    if path is not None and not path.exists():
        return None
    database = open_database(url, create=False)
    # A parameter may have gained a column since this process cached the
    # table (see lute.db.records.lookup_columns): look again before saying None.
    for refresh in (False, True):
        table = database.task_table(task_name, refresh=refresh)
        columns = [] if table is None else lookup_columns(param, table.c.keys())
        if table is not None and columns:
            value = _latest(database, table, columns, valid_only, for_run)
            if value is not None:
                return value
    return None


def _latest(
    database: Database,
    table: sa.Table,
    columns: list[str],
    valid_only: bool,
    for_run: int | str | None,
) -> Any:
    """The value in the latest matching row, from whichever of ``columns`` it fills."""
    query = (
        sa.select(*(table.c[name] for name in columns))
        .order_by(table.c.end_time.desc().nulls_last(), table.c.id.desc())
        .limit(1)
    )
    if valid_only:
        query = query.where(table.c.valid_flag == 1)
    if for_run is not None:
        gen_cfg = database.gen_cfg
        query = query.join(gen_cfg, table.c.gen_cfg_id == gen_cfg.c.id).where(
            gen_cfg.c.run == str(for_run)
        )
    try:
        with database.engine.connect() as conn:
            row = conn.execute(query).first()
    except sa.exc.SQLAlchemyError as err:
        raise DatabaseError(
            f"cannot read {table.name!r} from {redacted(database.url)}: {failure_reason(err)}"
        ) from err
    # A row fills at most one of the columns.
    return None if row is None else next((v for v in row if v is not None), None)
