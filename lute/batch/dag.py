"""The workflow format: a graph of managed tasks, read from YAML and checked.

The format is LUTE's, grown compatibly. A file holds one root node, or a
list of root nodes (LUTE's ``smd_summaries`` and ``pyalgos_sfx`` graphs
have several). Each node is a mapping with

* ``task_name`` (required): the managed task to run;
* ``slurm_params`` (optional): sbatch options for this node, a string or a
  list; when given they *replace* the options given on the command line;
* ``next`` (optional): nodes that start, in parallel, once this one completed;
* ``name`` (optional, a lute addition): the node's name, by default its
  ``task_name``. Nodes are identified by name, so a node listed in several
  ``next`` lists is one node with several parents: that is how a diamond
  (A -> B, C -> D) is written. Its occurrences are merged: their ``next``
  lists are joined, and a field given in more than one must be equal there.
  Give a ``name`` to run the same managed task as two different nodes;
* LUTE's operator settings, turned into the node's sbatch options (see
  ``lute.batch.node_options``): ``max_cores`` (caps ``--ntasks``),
  ``max_nodes`` (caps ``--nodes``), ``require_partition`` (forces
  ``--partition``);
* ``retries`` and ``time_limit`` (seconds): the node's Executor settings,
  above every other source (see ``lute.config.executor_settings``).

Everything is checked before anything runs: unknown fields, unknown managed
tasks, bad values and cycles are reported naming the file and the node. A
node's name names its log file and its batch job, so it must be a plain name
(``lute.core.names``), and ``slurm_params`` may hold no control characters
(a newline would add a line to the batch script). The order of the graph
comes from ``graphlib``.
"""

from __future__ import annotations

import graphlib
import hashlib
import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lute.core.exceptions import ConfigurationError
from lute.core.names import check_line, check_name
from lute.managed_tasks import get_managed_task

NODE_FIELDS = (
    "task_name",
    "name",
    "slurm_params",
    "next",
    "max_cores",
    "max_nodes",
    "require_partition",
    "retries",
    "time_limit",
)
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
        max_cores: Most tasks (``--ntasks``) its batch job may ask for.
        max_nodes: Most nodes (``--nodes``) its batch job may ask for.
        require_partition: The partition its batch job must run in.
        retries: How often its Executor runs a failed attempt again.
        time_limit: Seconds its Executor gives each attempt.
    """

    name: str
    task_name: str
    slurm_params: tuple[str, ...] | None
    parents: tuple[str, ...]
    children: tuple[str, ...]
    max_cores: int | None = None
    max_nodes: int | None = None
    require_partition: str | None = None
    retries: int | None = None
    time_limit: float | None = None

    def executor_settings(self) -> dict[str, Any]:
        """The Executor settings this node gives (``retries``, ``time_limit``)."""
        settings = {"retries": self.retries, "time_limit": self.time_limit}
        return {key: value for key, value in settings.items() if value is not None}


@dataclass(frozen=True)
class Workflow:
    """A validated, acyclic graph of nodes.

    Attributes:
        source: Where it was read from, for messages.
        nodes: Every node by name, in an order where parents come first.
        text: The YAML it was read from (empty when built from data).
    """

    source: str
    nodes: Mapping[str, WorkflowNode]
    text: str = ""

    @property
    def digest(self) -> str:
        """SHA-256 of ``text``: which version of the file ran."""
        return hashlib.sha256(self.text.encode()).hexdigest()

    @property
    def roots(self) -> list[str]:
        """The nodes without parents, in order."""
        return [name for name, node in self.nodes.items() if not node.parents]

    def descendants(self, name: str) -> list[str]:
        """Every node reachable from ``name``, in topological order."""
        return self._reachable([name], lambda node: node.children)

    def ancestors(self, name: str) -> list[str]:
        """Every node ``name`` depends on, directly or not, in topological order."""
        return self._reachable([name], lambda node: node.parents)

    def _reachable(self, start: list[str], step: Any) -> list[str]:
        found: set[str] = set()
        stack = [linked for name in start for linked in step(self.nodes[name])]
        while stack:
            name = stack.pop()
            if name not in found:
                found.add(name)
                stack.extend(step(self.nodes[name]))
        return [node for node in self.nodes if node in found]


def load_workflow(path: str | os.PathLike[str]) -> Workflow:
    """Read and validate a workflow YAML file.

    Raises:
        ConfigurationError: Unreadable file, invalid YAML or invalid graph;
            the message names the file and the node.
    """
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigurationError(f"{where}: cannot read workflow: {err.strerror}") from err
    except UnicodeDecodeError as err:
        raise ConfigurationError(f"{where}: cannot read workflow: not UTF-8 text") from err
    return parse_workflow_text(text, where)


def parse_workflow_text(text: str, where: str) -> Workflow:
    """Validate a workflow given as YAML text (a file's, or a recorded copy).

    Raises:
        ConfigurationError: Invalid YAML or graph; the message names ``where``.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigurationError(f"{where}: invalid YAML: {err}") from err
    workflow = parse_workflow(data, where)
    return Workflow(workflow.source, workflow.nodes, text)


def parse_workflow(data: Any, where: str) -> Workflow:
    """Validate a workflow's parsed YAML; see the module docstring for the format.

    Raises:
        ConfigurationError: The message names ``where`` and the node.
    """
    builder = _GraphBuilder(where)
    if isinstance(data, list):
        if not data:
            raise ConfigurationError(f"{where}: the list of root nodes is empty")
        for index, root in enumerate(data):
            builder.visit(root, f"roots[{index}]")
    else:
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
        fields = {"task_name": task_name, **self._settings(data, label)}
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

    def _settings(self, data: dict[str, Any], label: str) -> dict[str, Any]:
        """The operator and Executor settings of a node, checked."""
        fields: dict[str, Any] = {}
        for key in ("max_cores", "max_nodes"):
            value = data.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise self._error(label, f"{key} must be a whole number >= 1, not {value!r}")
            fields[key] = value
        partition = data.get("require_partition")
        if partition is not None:
            try:
                fields["require_partition"] = check_name("require_partition", partition)
            except ConfigurationError as err:
                raise self._error(label, str(err)) from err
        retries = data.get("retries")
        if retries is not None:
            if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
                raise self._error(label, f"retries must be a whole number >= 0, not {retries!r}")
            fields["retries"] = retries
        limit = data.get("time_limit")
        if limit is not None:
            if isinstance(limit, bool) or not isinstance(limit, int | float) or limit <= 0:
                raise self._error(label, f"time_limit must be seconds > 0, not {limit!r}")
            fields["time_limit"] = float(limit)
        return fields

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
        """The nodes, parents first, in the order they were written; a cycle is an error."""
        written = {name: index for index, name in enumerate(self._parents)}
        sorter = graphlib.TopologicalSorter({n: p for n, p in self._parents.items()})
        try:
            sorter.prepare()
        except graphlib.CycleError:
            order = [name for name in self._parents]
            cycle = self._find_cycle(set(order))
            raise self._error(f"node '{cycle[0]}'", f"cycle: {' -> '.join(cycle)}") from None
        order = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready(), key=written.__getitem__)
            order.extend(ready)
            sorter.done(*ready)
        return {name: self._node(name) for name in order}

    def _node(self, name: str) -> WorkflowNode:
        fields = self._fields[name]
        return WorkflowNode(
            name=name,
            task_name=fields["task_name"],
            slurm_params=fields.get("slurm_params"),
            parents=tuple(self._parents[name]),
            children=tuple(self._children[name]),
            max_cores=fields.get("max_cores"),
            max_nodes=fields.get("max_nodes"),
            require_partition=fields.get("require_partition"),
            retries=fields.get("retries"),
            time_limit=fields.get("time_limit"),
        )

    def _find_cycle(self, names: set[str]) -> list[str]:
        """One cycle of the graph, as a closed path of names, from the smallest name on it."""
        stuck = set(names)
        # Peel off nodes that cannot be on a cycle (no child left among the stuck ones).
        changed = True
        while changed:
            changed = False
            for name in sorted(stuck):
                if not any(child in stuck for child in self._children[name]):
                    stuck.discard(name)
                    changed = True
        path = [min(stuck)]
        while True:
            following = next(c for c in self._children[path[-1]] if c in stuck)
            if following in path:
                return [*path[path.index(following) :], following]
            path.append(following)
