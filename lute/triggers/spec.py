"""Reading and checking a trigger file (``TRIGGERS.yaml``) before anything starts.

Every problem is found before the first event is watched: an unknown key or
trigger type, a directory that does not exist, a pattern that is not a
regular expression, a where clause that does not compile against its table,
an unknown managed task, a workflow or configuration that does not load.
Each is one line naming the file, the trigger and the key; ``lute watch``
prints them all and exits with status 2.

Relative paths in the file (``dir.path``, ``run.config``, ``run.workflow``,
``work_dir``) are relative to the trigger file's own directory, so the file
means the same whichever directory the service is started from.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from lute.batch.slurm import require_program
from lute.batch.workflows import load_workflow
from lute.core.exceptions import ConfigurationError, LuteError
from lute.core.workdir import ENV_WORK_DIR, default_work_dir
from lute.db.engine import ENV_DB_URL, database_url
from lute.db.errors import failure_reason
from lute.managed_tasks import get_managed_task
from lute.triggers.actions import (
    COMMAND,
    CONTEXT_NAMES,
    KINDS,
    MANAGED_TASK,
    Action,
    placeholders,
    read_documents,
)
from lute.triggers.base import BaseTrigger
from lute.triggers.database import DatabaseTrigger
from lute.triggers.dir import EVENT_NAMES, DirTrigger
from lute.triggers.time import TimeTrigger

TYPES = ("dir", "time", "database")
ON_STOP = ("wait", "cancel")
_TOP_KEYS = ("triggers", "work_dir", "db_url")
_TRIGGER_KEYS = ("name", *TYPES, "run", "catch_up", "max_running", "on_stop")
_KEYS = {
    "dir": ("path", "events", "pattern", "batch_size", "recursive", "rescan"),
    "time": ("every",),
    "database": ("url", "table", "where", "poll_interval", "trigger_after_n", "key"),
    "run": (*KINDS, "config", "submit", "slurm_params", "debug"),
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclasses.dataclass(frozen=True)
class TriggerSpec:
    """One trigger of the file, checked and built (not yet watching).

    Attributes:
        name: Unique in the file; names the ledger rows and launch files.
        trigger: What it watches.
        action: What it launches.
        catch_up: Launch on what arrived while no watcher ran.
        max_running: Most launches of this trigger running at once.
        on_stop: ``wait`` for running launches when stopped, or ``cancel`` them.
    """

    name: str
    trigger: BaseTrigger
    action: Action
    catch_up: bool
    max_running: int
    on_stop: str


@dataclasses.dataclass(frozen=True)
class WatchSpec:
    """A whole trigger file: where the ledger is, and the triggers.

    Attributes:
        source: The file.
        work_dir: Where launch files go; the launches' default work dir too.
        db_url: The run database, which holds the ledger.
        triggers: The triggers, in file order.
        launch_env: Variables every launch gets, so that its runs are
            recorded next to the ledger unless its config says otherwise
            (``LUTE_WORK_DIR``, and ``LUTE_DB_URL`` when the file names one).
    """

    source: str
    work_dir: Path
    db_url: str
    triggers: tuple[TriggerSpec, ...]
    launch_env: dict[str, str] = dataclasses.field(default_factory=dict)


class _Problem(Exception):
    """One thing wrong, at one key."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")


def load_spec(path: str | Path) -> WatchSpec:
    """Read, check and build the triggers of the file at ``path``.

    Raises:
        ConfigurationError: One line per problem, each naming the file, the
            trigger and the key.
    """
    source = str(path)
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigurationError(f"{source}: cannot read the trigger file: {err.strerror}") from err
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigurationError(f"{source}{where}: invalid YAML: {problem}") from err
    return parse_spec(data, source, Path(path).resolve().parent)


def parse_spec(data: Any, source: str, base: Path) -> WatchSpec:
    """Check and build the triggers described by ``data`` (see ``load_spec``)."""
    problems: list[str] = []
    if not isinstance(data, Mapping):
        raise ConfigurationError(f"{source}: expected a mapping with a 'triggers' list")
    for key in data:
        if key not in _TOP_KEYS:
            problems.append(f"{source}: {key}: unknown key (known: {', '.join(_TOP_KEYS)})")
    work_dir = base / str(data["work_dir"]) if data.get("work_dir") else Path(default_work_dir())
    work_dir = work_dir.expanduser().resolve()
    db_url = database_url(work_dir, data.get("db_url"))
    entries = data.get("triggers")
    if not isinstance(entries, list) or not entries:
        problems.append(f"{source}: triggers: expected a non-empty list of triggers")
        entries = []
    built: list[TriggerSpec] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        name = entry.get("name") if isinstance(entry, Mapping) else None
        label = f"trigger {name!r}" if isinstance(name, str) else f"triggers[{index}]"
        if isinstance(name, str) and name in seen:
            problems.append(f"{source}: {label}: name: used by another trigger")
        seen.add(str(name))
        try:
            built.append(_trigger(entry, base, db_url))
        except _Problem as problem:
            problems.append(f"{source}: {label}: {problem}")
    if problems:
        raise ConfigurationError("\n".join(problems))
    launch_env = {ENV_WORK_DIR: str(work_dir)}
    if data.get("db_url"):
        launch_env[ENV_DB_URL] = db_url
    return WatchSpec(source, work_dir, db_url, tuple(built), launch_env)


def _trigger(entry: Any, base: Path, db_url: str) -> TriggerSpec:
    if not isinstance(entry, Mapping):
        raise _Problem("(entry)", f"expected a mapping, got {type(entry).__name__}")
    _known_keys(entry, _TRIGGER_KEYS, "")
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise _Problem("name", "required: letters, digits, '_', '.', '-' (it names files)")
    types = [kind for kind in TYPES if kind in entry]
    if len(types) != 1:
        raise _Problem("(type)", f"give exactly one of {', '.join(TYPES)}; found {types or 'none'}")
    kind = types[0]
    block = entry[kind]
    if not isinstance(block, Mapping):
        raise _Problem(kind, f"expected a mapping, got {type(block).__name__}")
    _known_keys(block, _KEYS[kind], f"{kind}.")
    if kind == "time" and "catch_up" in entry:
        raise _Problem("catch_up", "time triggers do not catch up on missed ticks")
    catch_up = _flag(entry, "catch_up", "", default=True)
    if kind == "dir":
        trigger: BaseTrigger = _dir(block, base)
    elif kind == "time":
        trigger = TimeTrigger(_positive(block, "every", "time.", required=True))
    else:
        trigger = _database(block, db_url, catch_up)
    max_running = entry.get("max_running", 1)
    if isinstance(max_running, bool) or not isinstance(max_running, int) or max_running < 1:
        raise _Problem("max_running", f"expected a whole number >= 1, got {max_running!r}")
    on_stop = entry.get("on_stop", "wait")
    if on_stop not in ON_STOP:
        raise _Problem("on_stop", f"expected one of {', '.join(ON_STOP)}, got {on_stop!r}")
    action = _action(entry.get("run"), base)
    return TriggerSpec(name, trigger, action, catch_up, max_running, on_stop)


def _dir(block: Mapping[str, Any], base: Path) -> DirTrigger:
    if importlib.util.find_spec("watchdog") is None:
        raise _Problem("dir", "directory triggers need watchdog: pip install 'lute[watch]'")
    if not isinstance(block.get("path"), str):
        raise _Problem("dir.path", "required: the directory to watch")
    path = (base / block["path"]).expanduser()
    if not path.is_dir():
        raise _Problem("dir.path", f"{path} is not a directory")
    events = block.get("events", ["closed"])
    events = [events] if isinstance(events, str) else events
    bad = [e for e in events if e not in EVENT_NAMES] if isinstance(events, list) else [events]
    if bad or not events:
        raise _Problem("dir.events", f"expected some of {', '.join(EVENT_NAMES)}; got {bad}")
    pattern = block.get("pattern")
    if pattern is not None:
        try:
            re.compile(str(pattern))
        except re.error as err:
            raise _Problem("dir.pattern", f"bad regular expression '{pattern}': {err}") from err
    return DirTrigger(
        path,
        events,
        batch_size=_count(block, "batch_size", "dir."),
        recursive=_flag(block, "recursive", "dir.", default=False),
        pattern=None if pattern is None else str(pattern),
        rescan=_positive(block, "rescan", "dir."),
    )


def _database(block: Mapping[str, Any], db_url: str, catch_up: bool) -> DatabaseTrigger:
    table = block.get("table")
    if not isinstance(table, str) or not table:
        raise _Problem("database.table", "required: the table to watch")
    where = block.get("where", [])
    where = [where] if isinstance(where, str) else where
    if not isinstance(where, list) or not all(isinstance(c, str) for c in where):
        raise _Problem("database.where", "expected SQL conditions: a string or a list of them")
    key = block.get("key")
    key = [key] if isinstance(key, str) else key
    if key is not None and not (isinstance(key, list) and all(isinstance(k, str) for k in key)):
        raise _Problem("database.key", "expected a column name or a list of them")
    trigger = DatabaseTrigger(
        str(block.get("url") or db_url),
        table,
        where,
        poll_interval=_positive(block, "poll_interval", "database.") or 1,
        trigger_after_n=_count(block, "trigger_after_n", "database."),
        key_columns=key,
        catch_up=catch_up,
    )
    for index, clause in enumerate(where):
        probe = DatabaseTrigger(trigger.db_url, table, [clause], key_columns=key)
        try:
            probe.check()
        except ValueError as err:
            raise _Problem(f"database.where[{index}]", str(err)) from err
        except sa.exc.SQLAlchemyError as err:
            reason = failure_reason(err)
            raise _Problem("database.url", f"cannot read the database: {reason}") from err
        finally:
            probe.close()
    return trigger


def _action(block: Any, base: Path) -> Action:
    if not isinstance(block, Mapping):
        raise _Problem("run", "required: a mapping with managed_task, workflow or command")
    _known_keys(block, _KEYS["run"], "run.")
    kinds = [kind for kind in KINDS if kind in block]
    if len(kinds) != 1:
        raise _Problem("run", f"give exactly one of {', '.join(KINDS)}; found {kinds or 'none'}")
    kind = kinds[0]
    submit = _flag(block, "submit", "run.", default=False)
    debug = _flag(block, "debug", "run.", default=False)
    params = block.get("slurm_params", ())
    if isinstance(params, str):
        params = shlex.split(params)
    if not isinstance(params, (list, tuple)) or not all(isinstance(p, str) for p in params):
        raise _Problem("run.slurm_params", "expected a string or a list of sbatch options")
    if kind == COMMAND:
        return _command(block)
    if submit:
        try:
            require_program("sbatch")
        except LuteError as err:
            raise _Problem("run.submit", str(err)) from err
    target = block[kind]
    if not isinstance(target, str):
        raise _Problem(f"run.{kind}", "expected a name" if kind == MANAGED_TASK else "a file")
    if kind == MANAGED_TASK:
        try:
            get_managed_task(target)
        except ConfigurationError as err:
            raise _Problem("run.managed_task", str(err)) from err
    else:
        target = str((base / target).expanduser().resolve())
        try:
            load_workflow(target)
        except ConfigurationError as err:
            raise _Problem("run.workflow", str(err)) from err
    config = block.get("config")
    if not isinstance(config, str):
        raise _Problem("run.config", "required: the YAML configuration the launch uses")
    config = str((base / config).expanduser().resolve())
    try:
        read_documents(Path(config))
    except (OSError, ValueError, yaml.YAMLError) as err:
        reason = err.strerror if isinstance(err, OSError) else str(err).splitlines()[0]
        raise _Problem("run.config", f"{config}: {reason}") from err
    return Action(kind, target, config, submit, tuple(params), debug)


def _command(block: Mapping[str, Any]) -> Action:
    command = block["command"]
    if isinstance(command, str):
        command = shlex.split(command)
    if not isinstance(command, list) or not command or not all(isinstance(a, str) for a in command):
        raise _Problem("run.command", "expected the program and its arguments (a list)")
    for name in (found for argument in command for found in placeholders(argument)):
        if name.split(".")[0] not in CONTEXT_NAMES:
            raise _Problem("run.command", f"unknown value trigger.{name}")
    for key in ("config", "submit", "slurm_params"):
        if key in block:
            raise _Problem(f"run.{key}", "not for a command (it is not a managed task)")
    return Action(COMMAND, tuple(command))


def _known_keys(block: Mapping[str, Any], known: tuple[str, ...], prefix: str) -> None:
    for key in block:
        if key not in known:
            what = "unknown trigger type or key" if not prefix else "unknown key"
            raise _Problem(f"{prefix}{key}", f"{what} (known: {', '.join(known)})")


def _flag(block: Mapping[str, Any], key: str, prefix: str, *, default: bool) -> bool:
    value = block.get(key, default)
    if not isinstance(value, bool):
        raise _Problem(f"{prefix}{key}", f"expected true or false, got {value!r}")
    return value


def _count(block: Mapping[str, Any], key: str, prefix: str) -> int:
    value = block.get(key, 1)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _Problem(f"{prefix}{key}", f"expected a whole number >= 1, got {value!r}")
    return value


def _positive(
    block: Mapping[str, Any], key: str, prefix: str, *, required: bool = False
) -> float | None:
    value = block.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise _Problem(f"{prefix}{key}", f"expected a positive number of seconds, got {value!r}")
    return float(value)
