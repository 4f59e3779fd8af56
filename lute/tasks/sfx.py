"""First-party serial-crystallography Tasks: those LUTE runs in Python, not as a program."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from lute.tasks.base import Task

logger = logging.getLogger(__name__)


class ConcatenateStreamFiles(Task):
    """Join every ``*<tag>*.stream`` under ``in_file`` into ``out_file``, as LUTE does.

    The streams are joined in name order (LUTE takes the file system's
    order, which differs from one file system to the next), and the joined
    file appears whole or not at all.
    """

    def _run(self) -> None:
        params = self._task_parameters
        out = Path(params.out_file)
        streams = sorted(
            path
            for path in Path(params.in_file).rglob(f"*{params.tag or ''}*.stream")
            if path.resolve() != out.resolve()
        )
        self._report(
            f"Joining {len(streams)} stream file(s) into {out}: {[str(s) for s in streams]}"
        )
        tmp = out.with_name(f".{out.name}.tmp")
        with tmp.open("wb") as joined:
            for stream in streams:
                with stream.open("rb") as part:
                    shutil.copyfileobj(part, joined)
        tmp.replace(out)
        self._result.summary = f"Joined {len(streams)} stream file(s)"
        self._result.payload = str(out)
