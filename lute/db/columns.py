"""Which column type a value needs, and how a value is stored in a column.

YAML lets a parameter be an integer in one run and a string in the next, so
a Task table's columns are typed by the first real value they receive and
widened to text when a later value does not fit (see ``lute.db.ddl``). The
rules for "fits" live here, in one place, so the writer that decides to
widen and the code that converts values for an insert agree.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa

from lute.db.records import RESERVED_COLUMNS, TIME_COLUMNS

COLUMN_TYPES: dict[str, type[sa.types.TypeEngine[Any]]] = {
    "bool": sa.Boolean,
    "int": sa.BigInteger,
    "float": sa.Float,
    "text": sa.Text,
}
"""The column type created for each value kind."""


def value_kind(value: Any) -> str | None:
    """The column kind a value needs: bool, int, float or text (None fits any)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return "text"


def column_kind(column_type: sa.types.TypeEngine[Any]) -> str:
    """The kind of an existing column: bool, int, float, datetime or text."""
    if isinstance(column_type, sa.Boolean):
        return "bool"
    if isinstance(column_type, sa.Integer):
        return "int"
    if isinstance(column_type, (sa.Float, sa.Numeric)):
        return "float"
    if isinstance(column_type, sa.DateTime):
        return "datetime"
    return "text"


def fits(value: Any, kind: str) -> bool:
    """Whether ``value`` can be stored as it is in a column of ``kind``."""
    needed = value_kind(value)
    return needed is None or kind in ("text", needed) or (needed == "int" and kind == "float")


def needs_change(table: sa.Table, name: str, value: Any) -> bool:
    """Whether ``value`` needs a new or wider column ``name`` in ``table``.

    A column is created only for a value that is not None, so that its type
    follows the first real value rather than defaulting to text.
    """
    if name not in table.c:
        return value is not None
    return name not in RESERVED_COLUMNS and not fits(value, column_kind(table.c[name].type))


def new_column_type(name: str, value: Any) -> sa.types.TypeEngine[Any]:
    """The type of a new column ``name`` created for ``value`` (not None)."""
    if name in TIME_COLUMNS:
        return sa.DateTime()
    return COLUMN_TYPES[value_kind(value)]()


def column_value(column: sa.Column[Any], value: Any) -> Any:
    """``value`` as ``column`` stores it: times as datetimes, text columns as text."""
    if column.name in TIME_COLUMNS:
        return to_datetime(value)
    if column_kind(column.type) == "text":
        return as_text(value)
    return value


def as_text(value: Any) -> Any:
    """A value for a text column: strings as they are, anything else as JSON."""
    return value if value is None or isinstance(value, str) else json.dumps(value)


def to_datetime(timestamp: float | None) -> dt.datetime | None:
    """A POSIX time as the naive UTC datetime the database stores."""
    if timestamp is None:
        return None
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).replace(tzinfo=None)


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """A time read back from a column, which stores UTC without its zone, made aware."""
    return None if value is None else value.replace(tzinfo=dt.timezone.utc)
