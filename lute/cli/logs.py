"""``lute logs RUN_ID [-f]``: what a run's Task wrote, found from its record.

The run is looked up in the run database (an id or a unique prefix, as in
``lute db show``) and the files its record names are printed: the Task's
stdout, then its stderr (each under a ``==> path <==`` line when both have
something, as ``tail`` does). With ``-f`` the files are followed for as long
as the run is in progress, i.e. while its Executor advertises it in the
work dir (``lute.execution.control``), and the command ends with the run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import IO

from lute.cli.locate import database_options, locate
from lute.core.exit_codes import EXIT_OK
from lute.db import results
from lute.execution.control import run_file

FOLLOW_INTERVAL_S = 0.5
"""How often ``-f`` looks for new output: often enough to feel live, rare enough to cost nothing."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``logs`` sub-command."""
    logs = commands.add_parser(
        "logs", parents=[database_options()], help="print what a run's Task wrote"
    )
    logs.add_argument("run_id", metavar="RUN_ID", help="run id or a unique prefix of it")
    logs.add_argument("--attempt", type=int, help="this attempt (default: the last)")
    logs.add_argument(
        "-f", "--follow", action="store_true", help="keep printing until the run ends"
    )
    logs.set_defaults(handler=_logs)


def _logs(args: argparse.Namespace) -> int:
    url, work_dir = locate(args)
    result = results.load_result(results.resolve_database(url=url), args.run_id, args.attempt)
    paths = list(dict.fromkeys(p for p in result.log_paths.values() if p))
    out = sys.stdout
    with_headers = len([p for p in paths if _size(p)]) > 1
    offsets = {path: _copy(path, 0, out, with_headers) for path in paths}
    if args.follow:
        advert = run_file(work_dir, result.run_id)
        while advert.exists():
            time.sleep(FOLLOW_INTERVAL_S)
            for path in paths:
                offsets[path] = _copy(path, offsets[path], out, header=False)
        for path in paths:
            offsets[path] = _copy(path, offsets[path], out, header=False)
    return EXIT_OK


def _size(path: str) -> int:
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0


def _copy(path: str, offset: int, out: IO[str], header: bool) -> int:
    """Write what ``path`` holds beyond ``offset``; return the new offset.

    A file not (yet) there is simply empty: a run that has not written
    anything to a stream has no file for it.
    """
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except FileNotFoundError:
        return offset
    if data:
        if header:
            out.write(f"==> {path} <==\n")
        out.write(data.decode("utf-8", errors="replace"))
        out.flush()
    return offset + len(data)
