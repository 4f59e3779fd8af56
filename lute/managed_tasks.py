"""The registry of managed tasks: a noun (``Tester``) names a configured Executor.

A managed task pairs a Task (a verb: ``Test``) with the Executor class and
options that run it. Executors are built on demand, so looking up one managed
task imports nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lute.tasks.registry import import_object, unknown_name

if TYPE_CHECKING:
    from lute.execution.executor import BaseExecutor

DEFAULT_EXECUTOR = "lute.execution.executor:Executor"


@dataclass(frozen=True)
class ManagedTask:
    """How to build the Executor of one managed task.

    Attributes:
        task_name: The Task the Executor runs.
        executor: ``"module:Class"`` of the Executor.
        options: Keyword arguments for the Executor's constructor.
        description: One line for listings.
    """

    task_name: str
    executor: str = DEFAULT_EXECUTOR
    options: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    def build(self) -> BaseExecutor:
        """A new Executor, ready to ``execute_task``."""
        executor_cls = import_object(self.executor)
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
    "MPITester": ManagedTask(
        "TestMPI",
        executor="lute.execution.mpi:MPIExecutor",
        description="Sums over MPI ranks and reduces to rank 0.",
    ),
    "SleepTester": ManagedTask("TestSleep", description="Waits; something to cancel."),
    "RendezvousTester": ManagedTask(
        "TestRendezvous", description="Completes only if its parallel peers run at once."
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
