"""The fallback spool: records that neither the database nor the work dir would take.

A run that ends with its work dir's filesystem full (or gone) must still
leave its record somewhere: in ``$XDG_STATE_HOME/lute/spool/``
(``~/.local/state/lute/spool/`` by default), the user's own state
directory, usually on another filesystem. One directory serves every work
dir and database of the user, so each file says where its record belongs:
the work dir and the database URL as the run had it, but without a
password (a file on disk must not hold one). ``lute db sync`` lands the
files whose URL is the one it syncs to, with the password of its own
settings (``$LUTE_DB_URL``, ``db_url``, ``--url``), and leaves the others.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from lute.db import spool
from lute.db.engine import without_password
from lute.db.records import RunRecord

ENV_STATE_HOME = "XDG_STATE_HOME"


def fallback_dir() -> Path:
    """``$XDG_STATE_HOME/lute/spool``, else ``~/.local/state/lute/spool``.

    A relative ``$XDG_STATE_HOME`` is ignored, as the XDG specification says.

    Raises:
        RuntimeError: There is no home directory to fall back to.
    """
    state = os.environ.get(ENV_STATE_HOME, "")
    base = Path(state) if os.path.isabs(state) else Path.home() / ".local" / "state"
    return base / "lute" / "spool"


def target(url: str) -> str:
    """What a fallback file records of a database URL: all of it but the password."""
    try:
        return without_password(url)
    except sa.exc.ArgumentError:  # not a URL: it holds no password SQLAlchemy would use
        return url


@dataclasses.dataclass(frozen=True)
class Spooled:
    """One fallback file: a record and where it belongs.

    Attributes:
        db_url: The database URL of the run, without its password.
        work_dir: The run's work dir.
        record: The record, exactly as it would have been written.
    """

    db_url: str
    work_dir: str
    record: RunRecord

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict (see ``read``)."""
        return {"db_url": self.db_url, "work_dir": self.work_dir, "record": self.record.to_json()}


def write(record: RunRecord, url: str, work_dir: str | os.PathLike[str]) -> Path:
    """Spool ``record`` in the fallback directory (only its owner may enter); return the file.

    Raises:
        OSError: The directory or the file cannot be written.
        RuntimeError: There is no home directory.
    """
    directory = fallback_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    spooled = Spooled(target(url), str(Path(work_dir).resolve()), record)
    return spool.write(directory, spooled.to_json())


def read(path: Path) -> Spooled:
    """The fallback file at ``path``.

    Raises:
        OSError: It cannot be read.
        ValueError: It is not a fallback file.
    """
    data = spool.read(path)
    if not isinstance(data, dict) or set(data) != {"db_url", "work_dir", "record"}:
        raise ValueError("not a fallback spool file: expected db_url, work_dir and record")
    if not isinstance(data["db_url"], str) or not isinstance(data["work_dir"], str):
        raise ValueError("not a fallback spool file: db_url and work_dir must be text")
    return Spooled(data["db_url"], data["work_dir"], RunRecord.from_json(data["record"]))
