"""Find Task classes and their parameter models by name.

Built-in names map to ``"module:attribute"`` strings and are imported only
when asked for, so starting a Task process imports just the Task it runs.
Names that are not built in are looked up among the installed plugins
(``lute.core.plugins``); a built-in name always wins over a plugin's.
A Task's name becomes part of its log paths, so a plugin's name must be a
plain name (``lute.core.names``) before it is looked up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from lute.core import plugins
from lute.core.exceptions import ConfigurationError, UnknownNameError
from lute.core.names import check_name, close_names

if TYPE_CHECKING:
    from lute.config.models.base import TaskParameters
    from lute.tasks.base import Task

THIRD_PARTY_TASK = "lute.tasks.third_party:ThirdPartyTask"

BUILTIN_TASKS: dict[str, str] = {
    "Test": "lute.tasks.test:Test",
    "TestSocket": "lute.tasks.test:TestSocket",
    "TestWriteOutput": "lute.tasks.test:TestWriteOutput",
    "TestReadOutput": "lute.tasks.test:TestReadOutput",
    "TestBinary": THIRD_PARTY_TASK,
    "TestBinaryErr": THIRD_PARTY_TASK,
    "TestThirdParty": THIRD_PARTY_TASK,
    "TestTemplate": THIRD_PARTY_TASK,
    "TestElog": "lute.tasks.test:TestElog",
    "Fault": "lute.tasks.faults:Fault",
    "FaultBinary": THIRD_PARTY_TASK,
    "TestMPI": "lute.tasks.scale_tests:TestMPI",
    "TestSleep": "lute.tasks.scale_tests:TestSleep",
    "TestRendezvous": "lute.tasks.scale_tests:TestRendezvous",
    "IndexCrystFEL": THIRD_PARTY_TASK,
    "ConcatenateStreamFiles": "lute.tasks.sfx:ConcatenateStreamFiles",
    "MergePartialator": THIRD_PARTY_TASK,
    "CompareHKL": THIRD_PARTY_TASK,
    "ManipulateHKL": THIRD_PARTY_TASK,
    "DimpleSolve": THIRD_PARTY_TASK,
    "RunSHELXC": THIRD_PARTY_TASK,
}

BUILTIN_MODELS: dict[str, str] = {
    "Test": "lute.config.models.tests:TestParameters",
    "TestSocket": "lute.config.models.tests:TestSocketParameters",
    "TestWriteOutput": "lute.config.models.tests:TestWriteOutputParameters",
    "TestReadOutput": "lute.config.models.tests:TestReadOutputParameters",
    "TestBinary": "lute.config.models.tests:TestBinaryParameters",
    "TestBinaryErr": "lute.config.models.tests:TestBinaryErrParameters",
    "TestThirdParty": "lute.config.models.tests:TestThirdPartyParameters",
    "TestTemplate": "lute.config.models.tests:TestTemplateParameters",
    "TestElog": "lute.config.models.tests:TestElogParameters",
    "Fault": "lute.config.models.faults:FaultParameters",
    "FaultBinary": "lute.config.models.faults:FaultBinaryParameters",
    "TestMPI": "lute.config.models.scale_tests:TestMPIParameters",
    "TestSleep": "lute.config.models.scale_tests:TestSleepParameters",
    "TestRendezvous": "lute.config.models.scale_tests:TestRendezvousParameters",
    "IndexCrystFEL": "lute.config.models.sfx_index:IndexCrystFELParameters",
    "ConcatenateStreamFiles": "lute.config.models.sfx_index:ConcatenateStreamFilesParameters",
    "MergePartialator": "lute.config.models.sfx_merge:MergePartialatorParameters",
    "CompareHKL": "lute.config.models.sfx_merge:CompareHKLParameters",
    "ManipulateHKL": "lute.config.models.sfx_merge:ManipulateHKLParameters",
    "DimpleSolve": "lute.config.models.sfx_solve:DimpleSolveParameters",
    "RunSHELXC": "lute.config.models.sfx_solve:RunSHELXCParameters",
}


def import_object(spec: str) -> Any:
    """Import ``"package.module:attribute"``."""
    module_name, _, attribute = spec.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def unknown_name(kind: str, name: str, known: list[str]) -> UnknownNameError:
    """An error for an unknown ``name`` that suggests the closest known ones."""
    close = close_names(name, known)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return UnknownNameError(f"unknown {kind} '{name}'.{hint} Known: {', '.join(sorted(known))}")


def task_names() -> list[str]:
    """Every Task name lute can run, built in or from plugins."""
    return sorted(set(BUILTIN_TASKS) | set(plugins.names(plugins.TASKS)))


def task_class(name: str) -> type[Task]:
    """The Task class that implements ``name``.

    Raises:
        UnknownNameError: Neither lute nor a plugin has a Task ``name``.
        ConfigurationError: ``name`` is not a plain name, or a plugin's entry
            point is not a Task class.
    """
    if name in BUILTIN_TASKS:
        return import_object(BUILTIN_TASKS[name])
    check_name("Task", name)
    found = plugins.load(plugins.TASKS, name)
    if found is None:
        raise unknown_name("Task", name, task_names())
    from lute.tasks.base import Task  # noqa: PLC0415 (only plugins need the check)

    if not (isinstance(found, type) and issubclass(found, Task)):
        raise ConfigurationError(
            f"plugin entry point {plugins.TASKS}: {name} is not a Task subclass: {found!r}"
        )
    return found


def parameter_model(name: str) -> type[TaskParameters]:
    """The pydantic model that validates ``name``'s section.

    Raises:
        UnknownNameError: No model is known for ``name``.
        ConfigurationError: ``name`` is not a plain name, or a plugin's entry
            point is not a TaskParameters subclass.
    """
    if name in BUILTIN_MODELS:
        return import_object(BUILTIN_MODELS[name])
    check_name("Task", name)
    found = plugins.load(plugins.MODELS, name)
    if found is None:
        if name in plugins.names(plugins.TASKS):
            raise UnknownNameError(
                f"Task '{name}' comes from a plugin that declares no parameter model:"
                f" add '{name} = module:Model' to the {plugins.MODELS} entry points"
            )
        raise unknown_name("Task", name, task_names())
    from lute.config.models.base import TaskParameters  # noqa: PLC0415 (only plugins need it)

    if not (isinstance(found, type) and issubclass(found, TaskParameters)):
        raise ConfigurationError(
            f"plugin entry point {plugins.MODELS}: {name} is not a TaskParameters"
            f" subclass: {found!r}"
        )
    return found
