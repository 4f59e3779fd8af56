"""The registry of managed tasks: a noun (``Tester``) names a configured Executor.

A managed task pairs a Task (a verb: ``Test``) with the Executor class and
options that run it. Executors are built on demand, so looking up one managed
task imports nothing else. Installed packages add managed tasks through the
``lute.managed_tasks`` entry points (see ``lute.plugins``); a built-in name
always wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lute import plugins
from lute.exceptions import ConfigurationError
from lute.execution.environment import ProgramEnvironment
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
        program_env: For third-party Tasks: the software environment the
            program runs in (a setup script to source, variables, PATH
            edits). The Task process itself keeps lute's environment.
    """

    task_name: str
    executor: str = DEFAULT_EXECUTOR
    options: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    program_env: ProgramEnvironment | None = None

    @classmethod
    def from_spec(cls, name: str, spec: Any) -> ManagedTask:
        """A ManagedTask from a plugin: an instance, or a dict of the fields.

        Raises:
            ConfigurationError: ``spec`` is neither, or its fields are wrong.
        """
        if isinstance(spec, ManagedTask):
            return spec
        if not isinstance(spec, Mapping):
            raise ConfigurationError(
                f"managed task {name}: expected a ManagedTask or a dict of its fields,"
                f" got {type(spec).__name__}"
            )
        fields = dict(spec)
        try:
            if isinstance(fields.get("program_env"), Mapping):
                fields["program_env"] = ProgramEnvironment(**fields["program_env"])
            return cls(**fields)
        except TypeError as err:
            raise ConfigurationError(f"managed task {name}: {err}") from err

    def build(self) -> BaseExecutor:
        """A new Executor, ready to ``execute_task``."""
        executor_cls = import_object(self.executor)
        executor = executor_cls(self.task_name, **self.options)
        if self.program_env is not None:
            executor.update_environment(self.program_env.task_variables())
        return executor


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
    "ThirdPartyTester": ManagedTask(
        "TestThirdParty", description="Runs a program with every kind of command-line flag."
    ),
    "TemplateTester": ManagedTask(
        "TestTemplate", description="Renders a config file from a template, then runs a program."
    ),
    "ElogTester": ManagedTask(
        "TestElog", description="Returns a summary dict and an eLog summary report."
    ),
}


def managed_task_names() -> list[str]:
    """Every managed-task name, built in or from plugins, sorted."""
    return sorted(set(MANAGED_TASKS) | set(plugins.names(plugins.MANAGED_TASKS)))


def get_managed_task(name: str) -> ManagedTask:
    """The managed task called ``name``.

    Raises:
        UnknownNameError: No such managed task; the message suggests the
            closest names.
        ConfigurationError: A plugin declares ``name`` but it is not usable.
    """
    if name in MANAGED_TASKS:
        return MANAGED_TASKS[name]
    found = plugins.load(plugins.MANAGED_TASKS, name)
    if found is None:
        raise unknown_name("managed task", name, managed_task_names())
    return ManagedTask.from_spec(name, found)
