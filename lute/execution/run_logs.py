"""Where a run's stdout and stderr are kept, and the files that keep them.

Every attempt of every run writes the Task's two output streams, byte for
byte as the process wrote them, to files recorded in its database row
(``log_stdout``, ``log_stderr``), so a user finds the logs from the record.

Locations are templates with the fields ``{task}``, ``{run_id}`` and
``{attempt}``:

* ``log_dir`` (default ``<work_dir>/logs/{task}``; relative to the work dir);
* ``log_stdout`` / ``log_stderr`` (default ``{run_id}/attempt-{attempt}.out``
  and ``.err``; relative to ``log_dir``, or absolute).

Files are opened for appending, so a fixed name collects several attempts or
runs instead of losing the earlier ones.

The Task name and run id must be plain names (``lute.core.names``), and a
relative template must stay inside its directory, so no run writes a log
outside the place its configuration says.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import IO

from lute.core.exceptions import ConfigurationError
from lute.core.names import check_inside, check_name

logger = logging.getLogger(__name__)

DEFAULT_LOG_DIR = "logs/{task}"
DEFAULT_LOG_STDOUT = "{run_id}/attempt-{attempt}.out"
DEFAULT_LOG_STDERR = "{run_id}/attempt-{attempt}.err"
TEMPLATE_FIELDS = ("task", "run_id", "attempt")


def check_template(option: str, template: str) -> None:
    """Reject a template now, rather than when a run starts.

    Raises:
        ConfigurationError: The template uses a field other than
            ``TEMPLATE_FIELDS``, is malformed, or, being relative, leads out
            of its directory (``..``).
    """
    try:
        example = template.format(task="Task", run_id="0", attempt=1)
    except (KeyError, IndexError, ValueError) as err:
        raise ConfigurationError(
            f"{option}={template!r} is not a valid log path template ({err}); "
            f"it may use: {', '.join('{' + name + '}' for name in TEMPLATE_FIELDS)}"
        ) from err
    if not Path(example).is_absolute() and os.path.normpath(example).split(os.sep)[0] == "..":
        raise ConfigurationError(
            f"{option}={template!r} leads out of its directory; a relative log path"
            " must stay inside it"
        )


def log_paths(
    work_dir: str,
    task: str,
    run_id: str,
    attempt: int,
    *,
    log_dir: str | None = None,
    log_stdout: str | None = None,
    log_stderr: str | None = None,
) -> dict[str, Path]:
    """The files of one attempt's ``stdout`` and ``stderr``.

    Raises:
        ConfigurationError: ``task`` or ``run_id`` is not a plain name, or a
            relative template leads out of its directory.
    """
    fields = {
        "task": check_name("Task", task),
        "run_id": check_name("run id", run_id),
        "attempt": attempt,
    }
    directory = _placed(work_dir, "log_dir", (log_dir or DEFAULT_LOG_DIR).format(**fields))
    return {
        "stdout": _placed(
            directory, "log_stdout", (log_stdout or DEFAULT_LOG_STDOUT).format(**fields)
        ),
        "stderr": _placed(
            directory, "log_stderr", (log_stderr or DEFAULT_LOG_STDERR).format(**fields)
        ),
    }


def _placed(directory: str | Path, option: str, path: str) -> Path:
    """``path`` under ``directory``: an absolute one as given, a relative one kept inside."""
    if Path(path).is_absolute():
        return Path(path)
    return check_inside(option, directory, path)


class RunLogs:
    """The open log files of one attempt; streams sharing a path share a file.

    Args:
        paths: File of each stream, from ``log_paths``.
    """

    def __init__(self, paths: dict[str, Path]) -> None:
        self.paths = {stream: str(path) for stream, path in paths.items()}
        self._files: dict[str, IO[bytes]] = {}
        self._by_stream: dict[str, IO[bytes]] = {}

    def __enter__(self) -> RunLogs:
        try:
            for stream, path in self.paths.items():
                if path not in self._files:
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
                    self._files[path] = open(path, "ab", buffering=0)
                self._by_stream[stream] = self._files[path]
        except OSError:
            self.__exit__()
            raise
        return self

    def write(self, stream: str, data: bytes) -> None:
        """Append raw bytes the Task wrote to ``stream``."""
        self._by_stream[stream].write(data)

    def __exit__(self, *exc_info: object) -> None:
        for handle in self._files.values():
            handle.close()
        self._files.clear()
        self._by_stream.clear()
