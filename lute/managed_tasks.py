"""The registry of managed tasks: a noun (``Tester``) names a configured Executor.

A managed task pairs a Task (a verb: ``Test``) with the Executor class and
options that run it. Executors are built on demand, so looking up one managed
task imports nothing else. Installed packages add managed tasks through the
``lute.managed_tasks`` entry points (see ``lute.core.plugins``); a built-in name
always wins. An entry point may also name an Executor object, as LUTE's
``managed_tasks.py`` declares them (``Tester: Executor = Executor("Test")``,
with its tasklets and environment changes made at import).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lute.config.executor_settings import ExecutorSettings, resolve_executor_settings
from lute.core import plugins
from lute.core.exceptions import ConfigurationError
from lute.tasks.environment import ProgramEnvironment
from lute.tasks.registry import unknown_name

if TYPE_CHECKING:
    from lute.execution.executor import BaseExecutor

DEFAULT_EXECUTOR = "lute.execution.executor:Executor"

_TOOLS = "/sdf/group/lcls/ds/tools"
_CCP4_SETUP = f"{_TOOLS}/ccp4-8.0/bin/ccp4.setup-sh"
_CRYSTFEL_PATH = ":".join(
    [f"{_TOOLS}/XDS-INTEL64_Linux_x86_64", _TOOLS, f"{_TOOLS}/crystfel/0.10.2/bin"]
)
"""Where LUTE's managed tasks find CrystFEL at SLAC; put before the program's PATH, as LUTE does."""


@dataclass(frozen=True)
class ManagedTask:
    """How to build the Executor of one managed task.

    Attributes:
        task_name: The Task the Executor runs.
        executor: The Executor class: ``"module:Class"``, a built-in name or
            an installed plugin's name (entry-point group ``lute.executors``).
        options: Keyword arguments for the Executor's constructor.
        description: One line for listings.
        program_env: For third-party Tasks: the software environment the
            program runs in (a setup script to source, variables, PATH
            edits). The Task process itself keeps lute's environment.
        prebuilt: An Executor made by a plugin (LUTE's style); ``build``
            returns it as it is.
    """

    task_name: str
    executor: str = DEFAULT_EXECUTOR
    options: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    program_env: ProgramEnvironment | None = None
    prebuilt: BaseExecutor | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_spec(cls, name: str, spec: Any) -> ManagedTask:
        """A ManagedTask from a plugin: an instance, a dict of the fields, or an Executor.

        Raises:
            ConfigurationError: ``spec`` is none of these, or its fields are wrong.
        """
        if isinstance(spec, ManagedTask):
            return spec
        from lute.execution.executor import BaseExecutor  # noqa: PLC0415 (the plugin imported it)

        if isinstance(spec, BaseExecutor):
            kind = type(spec)
            return cls(
                spec.task_name,
                executor=f"{kind.__module__}:{kind.__qualname__}",
                description=f"{kind.__name__} for {spec.task_name} (declared as an object)",
                prebuilt=spec,
            )
        if not isinstance(spec, Mapping):
            raise ConfigurationError(
                f"managed task {name}: expected a ManagedTask, a dict of its fields or an"
                f" Executor, got {type(spec).__name__}"
            )
        fields = dict(spec)
        try:
            if isinstance(fields.get("program_env"), Mapping):
                fields["program_env"] = ProgramEnvironment(**fields["program_env"])
            return cls(**fields)
        except TypeError as err:
            raise ConfigurationError(f"managed task {name}: {err}") from err

    def settings(self, config: str) -> ExecutorSettings:
        """This managed task's Executor settings for ``config``, with their sources.

        Raises:
            ConfigurationError: See ``resolve_executor_settings``.
        """
        return resolve_executor_settings(config, self.task_name, self.options)

    def build(self, config: str | None = None) -> BaseExecutor:
        """A new Executor, ready to ``execute_task``.

        A managed task declared LUTE's way, as an Executor object, is that
        object itself.

        Args:
            config: The configuration it will run. When given, the site
                file's, the Task's ``lute_executor`` and a workflow node's
                settings are merged with this managed task's options, in the
                order of ``lute.config.executor_settings``.

        Raises:
            ConfigurationError: A setting is unknown or invalid.
        """
        if self.prebuilt is not None:
            return self.prebuilt
        from lute.execution.plugins import executor_class  # noqa: PLC0415 (keep lookups lazy)

        options = dict(self.options)
        if config is not None:
            options.update(self.settings(config).options)
        executor = executor_class(self.executor)(self.task_name, **options)
        if self.program_env is not None:
            executor.update_environment(self.program_env.task_variables())
        return executor


def _ccp4() -> ProgramEnvironment:
    """CCP4's environment: its setup script where it exists (at SLAC, as LUTE sources it)."""
    if Path(_CCP4_SETUP).is_file():
        return ProgramEnvironment(script=_CCP4_SETUP)
    return ProgramEnvironment(variables={"PATH": f"{_TOOLS}/ccp4-8.0/bin"})


_CRYSTFEL = ProgramEnvironment(variables={"PATH": _CRYSTFEL_PATH})

SFX_MANAGED_TASKS: dict[str, ManagedTask] = {
    "CrystFELIndexer": ManagedTask(
        "IndexCrystFEL", description="Indexes with CrystFEL's indexamajig.", program_env=_CRYSTFEL
    ),
    "StreamFileConcatenator": ManagedTask(
        "ConcatenateStreamFiles", description="Joins the stream files of a directory tree."
    ),
    "PartialatorMerger": ManagedTask(
        "MergePartialator", description="Merges with CrystFEL's partialator.", program_env=_CRYSTFEL
    ),
    "HKLComparer": ManagedTask(
        "CompareHKL",
        description="Figures of merit with CrystFEL's compare_hkl.",
        program_env=_CRYSTFEL,
    ),
    "HKLManipulator": ManagedTask(
        "ManipulateHKL",
        description="Converts reflections with CrystFEL's get_hkl.",
        program_env=_CRYSTFEL,
    ),
    "DimpleSolver": ManagedTask(
        "DimpleSolve", description="Molecular replacement with CCP4's dimple.", program_env=_ccp4()
    ),
    "SHELXCRunner": ManagedTask(
        "RunSHELXC", description="SHELXD/SHELXE input with CCP4's shelxc.", program_env=_ccp4()
    ),
}
"""LUTE's serial-crystallography chain; the programs are found on the program's PATH."""

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
    "FaultTester": ManagedTask(
        "Fault", options={"kill_grace": 1.0}, description="Misbehaves on request (tests)."
    ),
    "FaultBinaryTester": ManagedTask(
        "FaultBinary",
        options={"kill_grace": 0.5},
        description="A third-party program that ignores SIGTERM (tests).",
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
    **SFX_MANAGED_TASKS,
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
