"""Where runs write: the work-directory rules shared by every part of lute."""

from __future__ import annotations

import os

ENV_WORK_DIR = "LUTE_WORK_DIR"
DEFAULT_WORK_DIR = "lute_work"


def default_work_dir() -> str:
    """Where runs write when the header names no ``work_dir``.

    ``$LUTE_WORK_DIR`` if set, else ``./lute_work``: always somewhere the
    user can write without editing the example configuration.
    """
    return os.environ.get(ENV_WORK_DIR) or DEFAULT_WORK_DIR
