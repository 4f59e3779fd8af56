"""What a trigger launches, and how one launch is prepared and read back.

An action runs a managed task or a workflow, here or submitted to SLURM,
always as a process of its own (``python -m lute run ...``, ``lute submit``,
``lute workflow run|submit``), so that a crash of one run never takes the
watcher down. A ``command`` action runs any program instead (copying a
file, notifying someone); it is not recorded in the run database.

**The trigger's context reaches the configuration without changing how
configurations are loaded.** Each launch gets a derived copy of the user's
configuration, ``<work_dir>/triggers/<trigger>/<launch>.yaml``: the same
two documents, plus a ``trigger`` mapping in the second one, which the
loader's ordinary substitution finds, so ``{{ trigger.path }}``,
``{{ trigger.match.run }}`` and ``{{ trigger.row.out_file }}`` just work.
A ``trigger`` section already in the user's file holds defaults.
When the events give a run number (a ``run`` group of the pattern, a
``run`` column, or the header of a lute Task row), the derived header's
``run`` is set to it, and ``RUN_NUM`` is exported too. The derived file is
kept: it documents what ran, and a batch job reads it later.

The same values are in the environment of every launch (``LUTE_TRIGGER_NAME``,
``LUTE_TRIGGER_PATH``, ``LUTE_TRIGGER_PATHS``, ``LUTE_TRIGGER_TIME``,
``LUTE_TRIGGER_RUN``, and all of it as JSON in ``LUTE_TRIGGER_CONTEXT``), so
``{{ $LUTE_TRIGGER_PATH }}`` works too, and a ``command`` takes
``{{ trigger.* }}`` in its arguments.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from lute.batch.script import lute_run_command
from lute.core.files import write_atomically

MANAGED_TASK = "managed_task"
WORKFLOW = "workflow"
COMMAND = "command"
KINDS = (MANAGED_TASK, WORKFLOW, COMMAND)

CONTEXT_SECTION = "trigger"
"""The key of the trigger's values in a derived configuration."""
ENV_MARKER = "LUTE_TRIGGER_LAUNCH"
"""Names the launch a process belongs to, so a restarted watcher can find it."""
CONTEXT_NAMES = ("name", "event", "time", "path", "paths", "match", "row", "run", "count")
"""What ``{{ trigger.<name> }}`` may start with."""

_RUN_ID = re.compile(r"\brun ([0-9a-f]{32})\b")
_NODE_RUNNING = re.compile(r"^\d\d:\d\d:\d\d \S+: RUNNING$", re.MULTILINE)
_NODE_LOGS = re.compile(r"^node logs: (.+)$", re.MULTILINE)
_JOB_ID = re.compile(r"^(\d+)$", re.MULTILINE)
_NODE_JOB = re.compile(r"^\S+ (\d+) \S+$", re.MULTILINE)
_PLACEHOLDER = re.compile(r"\{\{\s*trigger\.([A-Za-z_][\w.]*)\s*\}\}")


@dataclasses.dataclass(frozen=True)
class Action:
    """What a trigger launches.

    Attributes:
        kind: ``managed_task``, ``workflow`` or ``command``.
        target: The managed task's name, the workflow file, or the command's
            arguments.
        config: The user's configuration (not for a command).
        submit: Submit to SLURM instead of running here.
        slurm_params: sbatch options when submitting.
        debug: Run with ``lute --debug``.
    """

    kind: str
    target: str | tuple[str, ...]
    config: str | None = None
    submit: bool = False
    slurm_params: tuple[str, ...] = ()
    debug: bool = False

    def describe(self) -> str:
        """One phrase for logs: ``Tester``, ``workflow dag.yaml on SLURM``..."""
        if self.kind == COMMAND:
            return " ".join(self.target)
        what = f"workflow {self.target}" if self.kind == WORKFLOW else str(self.target)
        return f"{what} on SLURM" if self.submit else what

    @property
    def cancel_signal(self) -> tuple[signal.Signals, bool]:
        """How to cancel a launch: the signal, and whether to its whole process group.

        A ``lute run`` Executor ends its Task and records the run CANCELLED
        on SIGTERM; ``lute workflow run`` cancels its nodes on SIGINT, which
        its node processes, in its group, also take as a cancel.
        """
        if self.kind == WORKFLOW and not self.submit:
            return signal.SIGINT, True
        return signal.SIGTERM, self.kind == COMMAND


@dataclasses.dataclass(frozen=True)
class PreparedLaunch:
    """A launch ready to start: its command line, environment and files."""

    argv: list[str]
    env: dict[str, str]
    log_path: Path
    config_path: Path | None


@dataclasses.dataclass(frozen=True)
class Evidence:
    """What a launch's log says it did."""

    run_ids: tuple[str, ...] = ()
    job_ids: tuple[str, ...] = ()
    started_work: bool = False


def trigger_context(name: str, events: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The ``trigger`` values of a launch for ``events`` (one, or a batch).

    ``path``, ``match``, ``row``, ``event`` and ``time`` are the first
    event's; ``paths`` lists every event's file.
    """
    first = events[0]
    return {
        "name": name,
        "event": first.get("kind"),
        "time": first.get("time"),
        "path": first.get("path"),
        "paths": [event["path"] for event in events if event.get("path")],
        "match": dict(first.get("match") or {}),
        "row": dict(first.get("row") or {}),
        "run": run_number(first),
        "count": len(events),
    }


def run_number(event: Mapping[str, Any]) -> int | str | None:
    """The run an event is about: a ``run`` group, a ``run`` column, a lute row's header."""
    row = event.get("row") or {}
    header = row.get("lute_config") if isinstance(row.get("lute_config"), dict) else {}
    for value in ((event.get("match") or {}).get("run"), row.get("run"), header.get("run")):
        if value not in (None, ""):
            text = str(value)
            return int(text) if text.isdigit() else text
    return None


def launch_files(launch_dir: Path, launch_id: int) -> tuple[Path, Path]:
    """The derived configuration and the log of one launch."""
    stem = f"{launch_id:06d}"
    return launch_dir / f"{stem}.yaml", launch_dir / f"{stem}.log"


def prepare(
    action: Action,
    context: Mapping[str, Any],
    launch_dir: Path,
    launch_id: int,
    *,
    marker: str,
    environ: Mapping[str, str] | None = None,
) -> PreparedLaunch:
    """Write what one launch needs and return how to start it.

    Raises:
        ValueError: A ``command`` names a trigger value the events do not have.
        OSError: The derived configuration cannot be read or written.
        yaml.YAMLError: The user's configuration is not YAML (it was when the
            watcher started).
    """
    config_path, log_path = launch_files(launch_dir, launch_id)
    env = {**(os.environ if environ is None else environ), **launch_environment(context)}
    env[ENV_MARKER] = marker
    if action.kind == COMMAND:
        argv = substitute_arguments(tuple(action.target), context)
        return PreparedLaunch(argv, env, log_path, None)
    assert action.config is not None
    write_derived_config(Path(action.config), config_path, context)
    if context.get("run") is not None:
        env["RUN_NUM"] = str(context["run"])
    argv = command_line(action, str(config_path), context)
    return PreparedLaunch(argv, env, log_path, config_path)


def command_line(action: Action, config: str, context: Mapping[str, Any]) -> list[str]:
    """The ``python -m lute ...`` command of a managed-task or workflow launch."""
    python = sys.executable
    lute = [python, "-m", "lute", *(["--debug"] if action.debug else [])]
    run = [] if context.get("run") is None else ["-r", str(context["run"])]
    if action.kind == MANAGED_TASK and not action.submit:
        return lute_run_command(python, str(action.target), config, debug=action.debug)
    if action.kind == MANAGED_TASK:
        return [*lute, "submit", "-t", str(action.target), "-c", config, *run, *action.slurm_params]
    if not action.submit:
        return [*lute, "workflow", "run", str(action.target), "-c", config]
    workflow = str(action.target)
    return [*lute, "workflow", "submit", workflow, "-c", config, *run, *action.slurm_params]


def write_derived_config(source: Path, target: Path, context: Mapping[str, Any]) -> None:
    """The user's configuration with the trigger's values added (see the module).

    A ``trigger`` section the user wrote holds defaults, so the same file
    also runs by hand (``lute run``) and serves triggers that do not give
    every value: the launch's values win, mapping by mapping.
    """
    header, tasks = read_documents(source)
    if context.get("run") is not None:
        header["run"] = context["run"]
    values = dict(tasks.get(CONTEXT_SECTION) or {})
    for name, value in context.items():
        default = values.get(name)
        merged = isinstance(value, dict) and isinstance(default, dict)
        values[name] = {**default, **value} if merged else value
    tasks[CONTEXT_SECTION] = values
    text = yaml.safe_dump_all([header, tasks], sort_keys=False, allow_unicode=True)
    write_atomically(target, text)


def read_documents(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The two documents of a configuration, as written (no substitution).

    Raises:
        ValueError: It is not two mappings, or its ``trigger`` section (the
            defaults of trigger values) is not a mapping.
        OSError, yaml.YAMLError: It cannot be read or parsed.
    """
    documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    if len(documents) != 2:
        raise ValueError(f"expected 2 YAML documents, found {len(documents)}")
    header, tasks = ({} if doc is None else doc for doc in documents)
    if not isinstance(header, dict) or not isinstance(tasks, dict):
        raise ValueError("both documents must be mappings")
    if not isinstance(tasks.get(CONTEXT_SECTION, {}), dict):
        raise ValueError(
            f"its {CONTEXT_SECTION!r} section (defaults of trigger values) must be a mapping"
        )
    return header, tasks


def launch_environment(context: Mapping[str, Any]) -> dict[str, str]:
    """The ``LUTE_TRIGGER_*`` variables of a launch."""
    env = {
        "LUTE_TRIGGER_NAME": str(context["name"]),
        "LUTE_TRIGGER_EVENT": str(context.get("event") or ""),
        "LUTE_TRIGGER_TIME": str(context.get("time") or ""),
        "LUTE_TRIGGER_PATH": str(context.get("path") or ""),
        "LUTE_TRIGGER_PATHS": os.pathsep.join(context.get("paths") or ()),
        "LUTE_TRIGGER_CONTEXT": json.dumps(context, default=str),
    }
    if context.get("run") is not None:
        env["LUTE_TRIGGER_RUN"] = str(context["run"])
    return env


def placeholders(text: str) -> list[str]:
    """The ``trigger.*`` names used in ``text`` (for checking them up front)."""
    return _PLACEHOLDER.findall(text)


def substitute_arguments(arguments: Sequence[str], context: Mapping[str, Any]) -> list[str]:
    """A command's arguments with ``{{ trigger.* }}`` replaced.

    An argument that is exactly one list value (``{{ trigger.paths }}``)
    becomes one argument per item.

    Raises:
        ValueError: A name the context does not have.
    """
    result: list[str] = []
    for argument in arguments:
        whole = _PLACEHOLDER.fullmatch(argument.strip())
        if whole is not None:
            value = _dig(context, whole.group(1))
            result.extend(map(str, value) if isinstance(value, list) else [_text(value)])
            continue
        result.append(_PLACEHOLDER.sub(lambda m: _text(_dig(context, m.group(1))), argument))
    return result


def _dig(context: Mapping[str, Any], dotted: str) -> Any:
    node: Any = context
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise ValueError(f"the events have no value for {{{{ trigger.{dotted} }}}}")
        node = node[part]
    return node


def _text(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(map(str, value))
    return "" if value is None else str(value)


def read_evidence(action: Action, log_path: str | os.PathLike[str] | None) -> Evidence:
    """What the log of a launch shows it started: runs, jobs, or workflow nodes.

    A ``lute run`` logs its run id before its Task starts; ``lute submit``
    prints the job id; ``lute workflow run`` prints each node that starts.
    A ``command`` leaves no such trace: its evidence is that its process
    was recorded as started (the caller knows that).
    """
    try:
        text = Path(log_path).read_text(encoding="utf-8", errors="replace") if log_path else ""
    except OSError:
        text = ""
    run_ids = tuple(dict.fromkeys(_RUN_ID.findall(text)))
    job_ids: tuple[str, ...] = ()
    if action.submit:
        lines = _NODE_JOB if action.kind == WORKFLOW else _JOB_ID
        job_ids = tuple(dict.fromkeys(lines.findall(text)))
    started = bool(run_ids or job_ids)
    if action.kind == WORKFLOW and not action.submit:
        started = started or bool(_NODE_RUNNING.search(text))
        run_ids = _node_run_ids(text)
    return Evidence(run_ids, job_ids, started)


def _node_run_ids(text: str) -> tuple[str, ...]:
    """Run ids in the node logs ``lute workflow run`` names when it ends."""
    found = _NODE_LOGS.search(text)
    if found is None:
        return ()
    run_ids: list[str] = []
    for log in sorted(Path(found.group(1)).glob("*.log")):
        try:
            run_ids.extend(_RUN_ID.findall(log.read_text(encoding="utf-8", errors="replace")))
        except OSError:
            continue
    return tuple(dict.fromkeys(run_ids))
