"""Whether a run's record can go where its settings say, checked before the Task runs.

A database URL that no installed SQLAlchemy can use (an unknown scheme, a
driver that is not installed) and a work dir that cannot be a writable
directory do not get better by waiting, and a Task run under them could
write neither its logs nor its record where anyone would look. So
``check_target`` refuses them before the Task starts, in one line naming
the setting and where it came from. A database that does not answer may
well answer later: that is not checked here; the run spools its record
(``lute.db.store``).

Only a configured URL needs SQLAlchemy to be checked; the default, SQLite in
the work dir, costs nothing before the Task starts.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from lute.core.exceptions import ConfigurationError

ENV_DB_URL = "LUTE_DB_URL"


def url_origin(configured: str | None, config_path: str | None = None) -> str:
    """Where the database URL in use comes from, as a message names it.

    Args:
        configured: The config header's ``db_url``, if any.
        config_path: The config file, to name it.
    """
    if os.environ.get(ENV_DB_URL):
        return f"${ENV_DB_URL}"
    if configured:
        return f"db_url in {config_path}" if config_path else "db_url in the config header"
    return "the default database URL"


def check_work_dir(work_dir: str | os.PathLike[str], writable: bool = True) -> None:
    """Refuse a work dir that is not, or cannot become, a directory lute can write in.

    Args:
        work_dir: The work dir.
        writable: Also create it if missing and make sure a file can be
            created in it (a run needs that; a reader does not).

    Raises:
        ConfigurationError: Naming the work dir and the reason.
    """
    path = Path(work_dir)
    if path.exists() and not path.is_dir():
        raise ConfigurationError(f"work dir {path} is not a directory")
    if not writable:
        return
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as err:
        raise ConfigurationError(f"work dir {path} cannot be used: {err.strerror or err}") from err


def check_target(
    work_dir: str | os.PathLike[str], configured: str | None, config_path: str | None = None
) -> None:
    """Refuse a run whose logs and record could never be written where they belong.

    Args:
        work_dir: The run's work dir.
        configured: The config header's ``db_url``, if any.
        config_path: The config file, for messages.

    Raises:
        ConfigurationError: The work dir is unusable, the database URL
            (``$LUTE_DB_URL`` or ``db_url``) names a database kind or driver
            this installation does not have, or the database is one LUTE
            wrote (lute only reads those; see ``lute.db.lute_compat``).
    """
    check_work_dir(work_dir)
    url = os.environ.get(ENV_DB_URL) or configured
    path: Path | None = Path(work_dir) / "lute.db"
    if url:
        from lute.db.engine import check_url, sqlite_path  # noqa: PLC0415 (SQLAlchemy only when needed)

        check_url(url, url_origin(configured, config_path))
        path = sqlite_path(url)
    if path is not None and path.is_file():
        from lute.db import lute_compat  # noqa: PLC0415 (only when there is a file to look at)

        if lute_compat.is_lute_database(path):
            raise ConfigurationError(lute_compat.lute_database_refusal(path))
