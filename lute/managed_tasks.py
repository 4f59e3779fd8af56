"""The registry of managed tasks: a noun (``Tester``) names a configured Executor.

A managed task pairs a Task (a verb: ``Test``) with the Executor class and
options that run it. Executors are built on demand, so looking up one managed
task imports nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lute.tasks.registry import unknown_name

if TYPE_CHECKING:
    from lute.execution.executor import BaseExecutor

DEFAULT_EXECUTOR = "lute.execution.executor:Executor"


@dataclass(frozen=True)
class ManagedTask:
    """How to build the Executor of one managed task.

    Attributes:
        task_name: The Task the Executor runs.
        executor: The Executor class: ``"module:Class"``, a built-in name or
            an installed plugin's name (entry-point group ``lute.executors``).
        options: Keyword arguments for the Executor's constructor.
        description: One line for listings.
    """

    task_name: str
    executor: str = DEFAULT_EXECUTOR
    options: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    def build(self) -> BaseExecutor:
        """A new Executor, ready to ``execute_task``."""
        from lute.execution.plugins import executor_class  # noqa: PLC0415 (keep lookups lazy)

        executor_cls = executor_class(self.executor)
        return executor_cls(self.task_name, **self.options)


MANAGED_TASKS: dict[str, ManagedTask] = {
    "Tester": ManagedTask("Test", description="Loops and reports; can raise on request."),
    "SocketTester": ManagedTask("TestSocket", description="Sends large numpy arrays."),
    "WriteTester": ManagedTask("TestWriteOutput", description="Writes a text file."),
    "ReadTester": ManagedTask(
        "TestReadOutput", description="Reads WriteTester's file, found via the database."
    ),
    "BinaryTester": ManagedTask(
        "TestBinary", description="Runs a third-party program that succeeds."
    ),
    "BinaryErrTester": ManagedTask(
        "TestBinaryErr", description="Runs a third-party program that exits non-zero."
    ),
    "FaultTester": ManagedTask(
        "Fault", options={"kill_grace": 1.0}, description="Misbehaves on request (tests)."
    ),
    "FaultBinaryTester": ManagedTask(
        "FaultBinary",
        options={"kill_grace": 0.5},
        description="A third-party program that ignores SIGTERM (tests).",
    ),
}


def managed_task_names() -> list[str]:
    """Every managed-task name, sorted."""
    return sorted(MANAGED_TASKS)


def get_managed_task(name: str) -> ManagedTask:
    """The managed task called ``name``.

    Raises:
        UnknownNameError: No such managed task; the message suggests the
            closest names.
    """
    if name not in MANAGED_TASKS:
        raise unknown_name("managed task", name, managed_task_names())
    return MANAGED_TASKS[name]
