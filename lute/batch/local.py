"""Running a workflow on this machine: each node a ``lute run`` process of its own.

A node starts once all its parents completed, at most ``max_parallel`` at
once. When a node fails its descendants do not run; nodes on other branches
carry on. Each node's run id is chosen here and handed to its ``lute run``
(``$LUTE_ASSIGNED_RUN_ID``), so the workflow knows which run a node became
before the run is even recorded; a node's ``retries`` and ``time_limit``
reach its Executor through ``$LUTE_EXECUTOR_SETTINGS``.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

from lute.batch.dag import Workflow
from lute.batch.script import lute_run_command
from lute.config.executor_settings import ENV_NODE_SETTINGS
from lute.core.analysis import TaskStatus
from lute.core.exceptions import ConfigurationError
from lute.core.names import check_inside
from lute.execution.control import ENV_ASSIGNED_RUN_ID

logger = logging.getLogger(__name__)

StatusCallback = Callable[[str, TaskStatus], None]


class LocalRunner:
    """Runs a workflow on this machine, each node as a ``lute run`` process.

    Up to ``max_parallel`` nodes run at once. A node whose parent failed is
    marked CANCELLED without running. If ``run`` is interrupted (Ctrl-C, or
    SIGTERM turned into ``KeyboardInterrupt`` by the caller), the running
    nodes get SIGTERM, and every node not completed ends CANCELLED before
    the interruption is passed on.

    Args:
        workflow: The graph.
        config: The YAML configuration every node uses.
        max_parallel: Most nodes running at the same time.
        log_dir: Each node's output goes to ``<log_dir>/<node>.log``.
        env: Environment of the node processes (default: this process's).
        debug: Run nodes with ``lute --debug``.
        on_change: Called as ``on_change(node, status)`` from the calling
            thread whenever a node's status changes.
        done: Nodes not to run because an earlier run of them completed;
            they count as COMPLETED for their children.
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
        done: Iterable[str] = (),
    ) -> None:
        if max_parallel < 1:
            raise ConfigurationError(f"max_parallel must be >= 1, got {max_parallel}")
        self._workflow = workflow
        self._config = str(Path(config).resolve())
        self._max_parallel = max_parallel
        self._log_dir = log_dir
        self._env = dict(os.environ if env is None else env)
        self._env.pop(ENV_NODE_SETTINGS, None)
        self._env.pop(ENV_ASSIGNED_RUN_ID, None)
        self._debug = debug
        self._on_change = on_change or (lambda name, status: None)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self.statuses: dict[str, TaskStatus] = dict.fromkeys(workflow.nodes, TaskStatus.PENDING)
        self.statuses.update(dict.fromkeys(done, TaskStatus.COMPLETED))
        self.run_ids: dict[str, str] = {
            name: uuid.uuid4().hex
            for name, status in self.statuses.items()
            if status is TaskStatus.PENDING
        }
        """The run id each node to run will be recorded under."""

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
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        self._finish(running.pop(future), future)
            except BaseException:
                self._cancel(running)
                raise
        return dict(self.statuses)

    def log_path(self, name: str) -> Path:
        """Where node ``name``'s output goes."""
        return check_inside("node log", self._log_dir, f"{name}.log")

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
        logger.error("node %s failed (exit code %s); see %s", name, code, self.log_path(name))
        self._set(name, TaskStatus.FAILED)
        for descendant in self._workflow.descendants(name):
            if self.statuses[descendant] is TaskStatus.PENDING:
                self._set(descendant, TaskStatus.CANCELLED)

    def _set(self, name: str, status: TaskStatus) -> None:
        self.statuses[name] = status
        self._on_change(name, status)

    def _node_env(self, name: str) -> dict[str, str]:
        env = {**self._env, ENV_ASSIGNED_RUN_ID: self.run_ids[name]}
        settings = self._workflow.nodes[name].executor_settings()
        if settings:
            env[ENV_NODE_SETTINGS] = json.dumps(settings, sort_keys=True)
        return env

    def _run_node(self, name: str) -> int:
        """Run one node to its end (in a worker thread); return its exit code."""
        node = self._workflow.nodes[name]
        command = lute_run_command(sys.executable, node.task_name, self._config, debug=self._debug)
        with open(self.log_path(name), "w", encoding="utf-8") as log:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._node_env(name),
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
