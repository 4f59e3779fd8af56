"""Spool files: records waiting for a database that was not available.

One JSON file per record in one directory. A file appears whole or not at
all (``lute.core.files.write_atomically``: a hidden temporary name, flushed
to disk, then renamed into place, the directory flushed too), so a reader
never sees half a record and a crash leaves at most a hidden temporary file
(which readers skip). Records may hold parameters and environments, so only
their owner may read them. This module knows nothing about databases;
``lute.db.store`` decides what goes in a record and when a file may be
discarded.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lute.core.files import PRIVATE, write_atomically

logger = logging.getLogger(__name__)

SUFFIX = ".json"


def write(directory: Path, payload: dict[str, Any]) -> Path:
    """Write ``payload`` atomically as a new file in ``directory``; return its path.

    Names start with the time in microseconds, so a sorted listing replays
    records in the order they were spooled.

    Raises:
        OSError: The directory or the file cannot be written.
    """
    name = f"{time.time_ns() // 1000:017d}-{uuid.uuid4().hex[:12]}{SUFFIX}"
    return write_atomically(
        directory / name,
        lambda handle: json.dump(payload, handle, sort_keys=True),
        mode=PRIVATE,
        durable=True,
    )


def pending(directory: Path) -> Iterator[Path]:
    """The spool files in ``directory``, oldest first (none if it does not exist)."""
    if not directory.is_dir():
        return iter(())
    return iter(
        sorted(
            path
            for path in directory.iterdir()
            if path.suffix == SUFFIX and not path.name.startswith(".")
        )
    )


def read(path: Path) -> Any:
    """The JSON document in a spool file.

    Raises:
        OSError: The file cannot be read.
        ValueError: It is not JSON.
    """
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def discard(path: Path) -> None:
    """Remove a spool file whose record is safely stored (gone already is fine)."""
    path.unlink(missing_ok=True)
    logger.debug("removed spool file %s", path)
