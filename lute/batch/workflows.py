"""Workflows: a graph of managed tasks, validated, then run here or by SLURM.

The YAML format is LUTE's: one root node, each node a mapping with

* ``task_name`` (required): the managed task to run;
* ``slurm_params`` (optional): sbatch options for this node, a string or a
  list; when given they *replace* the options given on the command line;
* ``next`` (optional): nodes that start, in parallel, once this one completed;
* ``name`` (optional, a lute addition): the node's name, by default its
  ``task_name``. Nodes are identified by name, so a node listed in several
  ``next`` lists is one node with several parents: that is how a diamond
  (A -> B, C -> D) is written. Its occurrences are merged: their ``next``
  lists are joined, and a field given in more than one must be equal there.
  Give a ``name`` to run the same managed task as two different nodes.

A node runs only after all its parents completed. When a node fails, its
descendants do not run: locally they are marked CANCELLED, under SLURM
their ``afterok`` dependency can never be satisfied and SLURM cancels them
(``--kill-on-invalid-dep=yes``).

Everything is checked before anything runs: unknown fields, unknown managed
tasks, bad values and cycles are reported naming the node. A node's name
names its log file and its batch job, so it must be a plain name
(``lute.core.names``), and ``slurm_params`` may hold no control characters
(a newline would add a line to the batch script).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shlex
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lute.batch import slurm
from lute.batch.script import batch_job, lute_run_command
from lute.config.loader import load_header, load_task_parameters
from lute.core.analysis import TaskStatus
from lute.core.exceptions import ConfigurationError, SubmissionError
from lute.core.names import check_inside, check_line, check_name
from lute.managed_tasks import get_managed_task
from lute.tasks import registry

logger = logging.getLogger(__name__)

NODE_FIELDS = ("task_name", "name", "slurm_params", "next")
_IN_SCRIPT = "it would be written into the node's batch script"


@dataclass(frozen=True)
class WorkflowNode:
    """One node of a workflow.

    Attributes:
        name: Unique name of the node.
        task_name: The managed task it runs.
        slurm_params: sbatch options replacing the defaults, or ``None`` to
            use the defaults.
        parents: Names of the nodes that must complete first.
        children: Names of the nodes that wait for this one.
    """

    name: str
    task_name: str
    slurm_params: tuple[str, ...] | None
    parents: tuple[str, ...]
    children: tuple[str, ...]


@dataclass(frozen=True)
class Workflow:
    """A validated, acyclic graph of nodes.

    Attributes:
        source: Where it was read from, for messages.
        nodes: Every node by name, in an order where parents come first.
    """

    source: str
    nodes: Mapping[str, WorkflowNode]

    def descendants(self, name: str) -> list[str]:
        """Every node reachable from ``name``, in topological order."""
        found: set[str] = set()
        stack = list(self.nodes[name].children)
        while stack:
            child = stack.pop()
            if child not in found:
                found.add(child)
                stack.extend(self.nodes[child].children)
        return [node for node in self.nodes if node in found]


def load_workflow(path: str | os.PathLike[str]) -> Workflow:
    """Read and validate a workflow YAML file.

    Raises:
        ConfigurationError: Unreadable file, invalid YAML or invalid graph;
            the message names the file and the node.
    """
    where = str(path)
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigurationError(f"{where}: cannot read workflow: {err.strerror}") from err
    except yaml.YAMLError as err:
        raise ConfigurationError(f"{where}: invalid YAML: {err}") from err
    return parse_workflow(data, where)


def parse_workflow(data: Any, where: str) -> Workflow:
    """Validate a workflow's parsed YAML; see the module docstring for the format.

    Raises:
        ConfigurationError: The message names ``where`` and the node.
    """
    builder = _GraphBuilder(where)
    builder.visit(data, "root")
    return Workflow(where, builder.ordered())


class _GraphBuilder:
    """Walks the nested ``next`` lists, merging nodes that share a name."""

    def __init__(self, where: str) -> None:
        self._where = where
        self._fields: dict[str, dict[str, Any]] = {}
        self._children: dict[str, list[str]] = {}
        self._parents: dict[str, list[str]] = {}
        self._visited: set[int] = set()

    def _error(self, location: str, message: str) -> ConfigurationError:
        return ConfigurationError(f"{self._where}: {location}: {message}")

    def visit(self, data: Any, location: str) -> str:
        """Record the node at ``location`` and its subtree; return its name."""
        if not isinstance(data, dict):
            raise self._error(
                location, f"a node must be a mapping with task_name, not {type(data).__name__}"
            )
        name = data.get("name", data.get("task_name"))
        label = f"node {name!r} ({location})" if isinstance(name, str) else location
        unknown = sorted(set(data) - set(NODE_FIELDS))
        if unknown:
            raise self._error(
                label,
                f"unknown field {', '.join(map(repr, unknown))}; valid fields: "
                + ", ".join(NODE_FIELDS),
            )
        task_name = data.get("task_name")
        if not isinstance(task_name, str) or not task_name:
            raise self._error(label, "task_name is required and must be a managed-task name")
        if not isinstance(name, str) or not name:
            raise self._error(label, "name must be a non-empty string")
        try:
            check_name("node name", name)
            get_managed_task(check_name("managed task", task_name))
        except ConfigurationError as err:
            raise self._error(label, str(err)) from err
        fields = {"task_name": task_name}
        if data.get("slurm_params") not in (None, "", []):
            fields["slurm_params"] = self._slurm_params(data["slurm_params"], label)
        self._merge(name, fields, label)
        if id(data) in self._visited:  # a YAML alias back to a node already walked
            return name
        self._visited.add(id(data))
        children = data.get("next") or []
        if not isinstance(children, list):
            raise self._error(label, "next must be a list of nodes")
        for index, child in enumerate(children):
            child_name = self.visit(child, f"{location}.next[{index}]")
            if child_name not in self._children[name]:
                self._children[name].append(child_name)
                self._parents[child_name].append(name)
        return name

    def _slurm_params(self, value: Any, label: str) -> tuple[str, ...]:
        if isinstance(value, str):
            try:
                params = tuple(shlex.split(value))
            except ValueError as err:
                raise self._error(label, f"slurm_params: {err}") from err
        elif isinstance(value, list) and all(isinstance(item, str) for item in value):
            params = tuple(value)
        else:
            raise self._error(label, "slurm_params must be a string or a list of strings")
        try:
            return tuple(check_line("slurm_params", param, _IN_SCRIPT) for param in params)
        except ConfigurationError as err:
            raise self._error(label, str(err)) from err

    def _merge(self, name: str, fields: dict[str, Any], label: str) -> None:
        known = self._fields.setdefault(name, {})
        self._children.setdefault(name, [])
        self._parents.setdefault(name, [])
        for key, value in fields.items():
            if key in known and known[key] != value:
                raise self._error(
                    label,
                    f"{key} differs from another occurrence of node '{name}'"
                    f" ({known[key]!r} vs {value!r}); give the nodes different names",
                )
            known[key] = value

    def ordered(self) -> dict[str, WorkflowNode]:
        """The nodes, parents first (Kahn's algorithm); a cycle is an error."""
        waiting = {name: len(parents) for name, parents in self._parents.items()}
        ready = [name for name, count in waiting.items() if count == 0]
        order: list[str] = []
        while ready:
            name = ready.pop(0)
            order.append(name)
            for child in self._children[name]:
                waiting[child] -= 1
                if waiting[child] == 0:
                    ready.append(child)
        if len(order) < len(waiting):
            cycle = self._find_cycle(set(waiting) - set(order))
            raise self._error(f"node '{cycle[0]}'", f"cycle: {' -> '.join(cycle)}")
        return {
            name: WorkflowNode(
                name=name,
                task_name=self._fields[name]["task_name"],
                slurm_params=self._fields[name].get("slurm_params"),
                parents=tuple(self._parents[name]),
                children=tuple(self._children[name]),
            )
            for name in order
        }

    def _find_cycle(self, stuck: set[str]) -> list[str]:
        """One cycle among ``stuck`` nodes, as a closed path of names."""
        path = [min(stuck)]
        while True:
            following = next(c for c in self._children[path[-1]] if c in stuck)
            if following in path:
                return [*path[path.index(following) :], following]
            path.append(following)


def validate_config(workflow: Workflow, config: str) -> str:
    """Check ``config`` for ``workflow`` before anything runs; return its work dir.

    The file and its header are checked, and the parameters of the nodes
    without parents. Other nodes are checked when they start: their
    parameters may be read from their parents' results in the database.

    Raises:
        ConfigurationError: The message names the node when one is at fault.
    """
    for name, node in workflow.nodes.items():
        if node.parents:
            continue
        task_name = get_managed_task(node.task_name).task_name
        try:
            model = registry.parameter_model(task_name)
            load_task_parameters(config, task_name, model, known_tasks=registry.task_names)
        except ConfigurationError as err:
            raise ConfigurationError(f"{workflow.source}: node '{name}': {err}") from err
    return load_header(config).work_dir


StatusCallback = Callable[[str, TaskStatus], None]


class LocalRunner:
    """Runs a workflow on this machine, each node as a ``lute run`` process.

    Up to ``max_parallel`` nodes run at once. A node whose parent failed is
    marked CANCELLED without running. If ``run`` is interrupted (Ctrl-C),
    the running nodes get SIGTERM, and every node not completed ends
    CANCELLED before the interruption is passed on.

    Args:
        workflow: The graph.
        config: The YAML configuration every node uses.
        max_parallel: Most nodes running at the same time.
        log_dir: Each node's output goes to ``<log_dir>/<node>.log``.
        env: Environment of the node processes (default: this process's).
        debug: Run nodes with ``lute --debug``.
        on_change: Called as ``on_change(node, status)`` from the calling
            thread whenever a node's status changes.
    """

    def __init__(
        self,
        workflow: Workflow,
        config: str,
        max_parallel: int,
        log_dir: Path,
        *,
        env: Mapping[str, str] | None = None,
        debug: bool = False,
        on_change: StatusCallback | None = None,
    ) -> None:
        if max_parallel < 1:
            raise ConfigurationError(f"max_parallel must be >= 1, got {max_parallel}")
        self._workflow = workflow
        self._config = str(Path(config).resolve())
        self._max_parallel = max_parallel
        self._log_dir = log_dir
        self._env = dict(os.environ if env is None else env)
        self._debug = debug
        self._on_change = on_change or (lambda name, status: None)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self.statuses: dict[str, TaskStatus] = dict.fromkeys(workflow.nodes, TaskStatus.PENDING)

    def run(self) -> dict[str, TaskStatus]:
        """Run every node that can run; return each node's final status."""
        self._log_dir.mkdir(parents=True, exist_ok=True)
        running: dict[Future[int], str] = {}
        with ThreadPoolExecutor(self._max_parallel, thread_name_prefix="lute-node") as pool:
            try:
                while True:
                    for name in self._ready(len(running)):
                        self._set(name, TaskStatus.RUNNING)
                        running[pool.submit(self._run_node, name)] = name
                    if not running:
                        break
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        self._finish(running.pop(future), future)
            except BaseException:
                self._cancel(running)
                raise
        return dict(self.statuses)

    def _cancel(self, running: Mapping[Future[int], str]) -> None:
        """Stop the workflow: start nothing more, SIGTERM the running nodes, wait for them.

        A node's Executor turns SIGTERM into a CANCELLED record of its run.
        """
        self._stop.set()
        with self._lock:
            for proc in self._procs.values():
                proc.terminate()
        for name, status in self.statuses.items():
            if status is TaskStatus.PENDING:
                self._set(name, TaskStatus.CANCELLED)
        for future, name in running.items():
            self._finish(name, future)

    def _ready(self, running: int) -> Iterable[str]:
        free = self._max_parallel - running
        for name, node in self._workflow.nodes.items():
            if free <= 0:
                return
            parents_done = all(self.statuses[p] is TaskStatus.COMPLETED for p in node.parents)
            if self.statuses[name] is TaskStatus.PENDING and parents_done:
                free -= 1
                yield name

    def _finish(self, name: str, future: Future[int]) -> None:
        try:
            code = future.result()
        except OSError:
            logger.exception("node %s could not be started", name)
            code = -1
        if code == 0:
            self._set(name, TaskStatus.COMPLETED)
            return
        if self._stop.is_set():
            self._set(name, TaskStatus.CANCELLED)
            return
        logger.error("node %s failed (exit code %s); see %s", name, code, self._log(name))
        self._set(name, TaskStatus.FAILED)
        for descendant in self._workflow.descendants(name):
            if self.statuses[descendant] is TaskStatus.PENDING:
                self._set(descendant, TaskStatus.CANCELLED)

    def _set(self, name: str, status: TaskStatus) -> None:
        self.statuses[name] = status
        self._on_change(name, status)

    def _log(self, name: str) -> Path:
        return check_inside("node log", self._log_dir, f"{name}.log")

    def _run_node(self, name: str) -> int:
        """Run one node to its end (in a worker thread); return its exit code."""
        node = self._workflow.nodes[name]
        command = lute_run_command(sys.executable, node.task_name, self._config, debug=self._debug)
        with open(self._log(name), "w", encoding="utf-8") as log:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._env,
            )
            with self._lock:
                self._procs[name] = proc
                if self._stop.is_set():
                    proc.terminate()
            try:
                return proc.wait()
            finally:
                with self._lock:
                    del self._procs[name]


def submit_workflow(
    workflow: Workflow,
    config: str,
    sbatch_args: Iterable[str] = (),
    debug: bool = False,
) -> dict[str, slurm.SubmittedJob]:
    """Submit one batch job per node, each depending on its parents' jobs.

    The configuration is checked (``validate_config``) before the first job
    is submitted. If a submission fails, the jobs already submitted are
    cancelled so that no partial graph runs.

    Args:
        workflow: The graph.
        config: The YAML configuration every node uses.
        sbatch_args: Default sbatch options; a node's ``slurm_params``
            replace them.
        debug: Jobs log at debug level.

    Returns:
        The submitted job of each node, parents first.

    Raises:
        ConfigurationError: A node's parameters are invalid.
        SubmissionError: SLURM is missing or refused a job.
    """
    slurm.require_program("sbatch")
    validate_config(workflow, config)
    defaults = tuple(sbatch_args)
    jobs = {
        name: batch_job(
            node.task_name,
            config,
            job_name=name,
            debug=debug,
            sbatch_args=defaults if node.slurm_params is None else node.slurm_params,
            check_parameters=False,
        )
        for name, node in workflow.nodes.items()
    }
    submitted: dict[str, slurm.SubmittedJob] = {}
    try:
        for name, node in workflow.nodes.items():
            after = tuple(submitted[parent].job_id for parent in node.parents)
            submitted[name] = slurm.submit(dataclasses.replace(jobs[name], after_ok=after))
    except SubmissionError:
        for done in submitted.values():
            try:
                slurm.cancel_job(done.job_id)
            except SubmissionError as err:
                logger.error("could not cancel job %s: %s", done.job_id, err)
        raise
    return submitted
