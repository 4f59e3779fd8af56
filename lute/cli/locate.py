"""Finding the run database from the command line, the way ``lute db`` does.

``--url``, else ``$LUTE_DB_URL``, else the config header's ``db_url``
(``-c CONFIG``), else ``lute.db`` in the work dir (``--work-dir``, the
header's ``work_dir``, ``$LUTE_WORK_DIR`` or ``./lute_work``). Shared by
the commands that read runs and workflow runs (``lute workflow``, ``lute ps``).
"""

from __future__ import annotations

import argparse

from lute.config.loader import load_documents
from lute.config.models.base import AnalysisHeader
from lute.core.exceptions import ConfigurationError
from lute.db.engine import check_url, database_url
from lute.db.location import check_work_dir, url_origin
from lute.db.results import resolve_database
from lute.db.schema import Database


def database_options() -> argparse.ArgumentParser:
    """A parent parser with ``--url``, ``--work-dir`` and ``-c``."""
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--url", help="SQLAlchemy URL of the database (overrides all else)")
    where.add_argument("--work-dir", help="work dir holding lute.db and the spool")
    where.add_argument("-c", "--config", help="take db_url and work_dir from this config")
    return where


def locate(args: argparse.Namespace) -> tuple[str, str]:
    """The database URL and the work dir these arguments name, both checked.

    Raises:
        ConfigurationError: The work dir is not a directory, or no installed
            driver can use the URL; the message names the setting.
    """
    header = AnalysisHeader()
    if args.config:
        document, _tasks = load_documents(args.config)
        known = {k: v for k, v in document.items() if k in AnalysisHeader.model_fields}
        try:
            header = AnalysisHeader.model_validate(known)
        except ValueError as err:
            raise ConfigurationError(f"{args.config}: invalid header: {err}") from err
    work_dir = args.work_dir or header.work_dir
    check_work_dir(work_dir, writable=False)
    url = args.url or database_url(work_dir, header.db_url)
    check_url(url, "--url" if args.url else url_origin(header.db_url, args.config))
    return url, work_dir


def open_located(args: argparse.Namespace) -> Database:
    """The existing database these arguments name, its dead runs settled.

    Raises:
        UnknownNameError: There is no database there.
    """
    url, _work_dir = locate(args)
    return resolve_database(url=url)
