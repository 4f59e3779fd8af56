"""Schema changes: creating tables, adding columns, widening a column to text.

A parameter seen for the first time adds a column; nothing is ever dropped,
so older rows read back with ``NULL`` there. A value that does not fit its
column's type (a parameter that was an integer and is now a string) widens
the column to text; the values already there are converted by the
database's own cast, so no row is lost and every value still reads back.

Names reach SQL only as SQLAlchemy identifiers, quoted by the dialect's
preparer: the statements SQLAlchemy Core does not provide (``ADD COLUMN``,
``DROP COLUMN``, ``RENAME COLUMN``, ``ALTER COLUMN ... TYPE``) are small DDL
elements compiled here for each dialect, never strings pasted together.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateColumn, CreateIndex, CreateTable, ExecutableDDLElement

from lute.db.columns import column_kind

logger = logging.getLogger(__name__)


class _AddColumn(ExecutableDDLElement):
    inherit_cache = False

    def __init__(self, table: sa.Table, column: sa.Column[Any]) -> None:
        self.table = table
        self.column = column


class _DropColumn(ExecutableDDLElement):
    inherit_cache = False

    def __init__(self, table: sa.Table, name: str) -> None:
        self.table = table
        self.name = name


class _RenameColumn(ExecutableDDLElement):
    inherit_cache = False

    def __init__(self, table: sa.Table, old: str, new: str) -> None:
        self.table = table
        self.old = old
        self.new = new


class _AlterColumnToText(ExecutableDDLElement):
    inherit_cache = False

    def __init__(self, table: sa.Table, name: str) -> None:
        self.table = table
        self.name = name


@compiles(_AddColumn)
def _compile_add_column(element: _AddColumn, compiler: Any, **kw: Any) -> str:
    column = compiler.process(CreateColumn(element.column), **kw)
    guard = "IF NOT EXISTS " if compiler.dialect.name == "postgresql" else ""
    return f"ALTER TABLE {compiler.preparer.format_table(element.table)} ADD COLUMN {guard}{column}"


@compiles(_DropColumn)
def _compile_drop_column(element: _DropColumn, compiler: Any, **kw: Any) -> str:
    preparer = compiler.preparer
    return (
        f"ALTER TABLE {preparer.format_table(element.table)} "
        f"DROP COLUMN {preparer.quote_identifier(element.name)}"
    )


@compiles(_RenameColumn)
def _compile_rename_column(element: _RenameColumn, compiler: Any, **kw: Any) -> str:
    preparer = compiler.preparer
    return (
        f"ALTER TABLE {preparer.format_table(element.table)} RENAME COLUMN "
        f"{preparer.quote_identifier(element.old)} TO {preparer.quote_identifier(element.new)}"
    )


@compiles(_AlterColumnToText, "postgresql")
def _compile_alter_to_text(element: _AlterColumnToText, compiler: Any, **kw: Any) -> str:
    preparer = compiler.preparer
    name = preparer.quote_identifier(element.name)
    return (
        f"ALTER TABLE {preparer.format_table(element.table)} "
        f"ALTER COLUMN {name} TYPE TEXT USING {name}::text"
    )


def create_table(conn: Connection, table: sa.Table) -> None:
    """Create ``table`` and its indexes unless they exist."""
    conn.execute(CreateTable(table, if_not_exists=True))
    for index in table.indexes:
        conn.execute(CreateIndex(index, if_not_exists=True))


def add_column(conn: Connection, table: sa.Table, column: sa.Column[Any]) -> None:
    """Add ``column`` to ``table`` (on PostgreSQL, unless it is there already)."""
    conn.execute(_AddColumn(table, column))


def widen_to_text(conn: Connection, table: sa.Table, name: str) -> None:
    """Make column ``name`` TEXT, keeping every value (as the database casts it)."""
    kind = column_kind(table.c[name].type)
    logger.warning(
        "table %r: a value of %r does not fit its %s column; widening it to text",
        table.name,
        name,
        kind,
    )
    if conn.dialect.name == "postgresql":
        conn.execute(_AlterColumnToText(table, name))
        return
    # SQLite cannot change a column's type: copy into a new text column, then
    # swap it in under the old name (all inside this one transaction).
    scratch = f"lute_widen_{uuid.uuid4().hex}"
    add_column(conn, table, sa.Column(scratch, sa.Text()))
    target = sa.table(table.name, sa.column(name), sa.column(scratch))
    source = target.c[name]
    if kind == "bool":
        text = sa.case((source.is_(None), sa.null()), (source != 0, "true"), else_="false")
    else:
        text = sa.cast(source, sa.Text())
    conn.execute(sa.update(target).values({scratch: text}))
    conn.execute(_DropColumn(table, name))
    conn.execute(_RenameColumn(table, scratch, name))
