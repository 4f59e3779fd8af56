"""Find Task classes and their parameter models by name.

Names map to ``"module:attribute"`` strings and are imported only when asked
for, so starting a Task process imports just the Task it runs.
"""

from __future__ import annotations

import difflib
import importlib
from typing import TYPE_CHECKING, Any

from lute.exceptions import UnknownNameError

if TYPE_CHECKING:
    from lute.io.models.base import TaskParameters
    from lute.tasks.task import Task

BUILTIN_TASKS: dict[str, str] = {
    "Test": "lute.tasks.test:Test",
    "TestSocket": "lute.tasks.test:TestSocket",
    "TestWriteOutput": "lute.tasks.test:TestWriteOutput",
    "TestReadOutput": "lute.tasks.test:TestReadOutput",
    "TestBinary": "lute.tasks.task:ThirdPartyTask",
    "TestBinaryErr": "lute.tasks.task:ThirdPartyTask",
    "TestMPI": "lute.tasks.scale_tests:TestMPI",
    "TestSleep": "lute.tasks.scale_tests:TestSleep",
    "TestRendezvous": "lute.tasks.scale_tests:TestRendezvous",
}

BUILTIN_MODELS: dict[str, str] = {
    "Test": "lute.io.models.tests:TestParameters",
    "TestSocket": "lute.io.models.tests:TestSocketParameters",
    "TestWriteOutput": "lute.io.models.tests:TestWriteOutputParameters",
    "TestReadOutput": "lute.io.models.tests:TestReadOutputParameters",
    "TestBinary": "lute.io.models.tests:TestBinaryParameters",
    "TestBinaryErr": "lute.io.models.tests:TestBinaryErrParameters",
    "TestMPI": "lute.io.models.scale_tests:TestMPIParameters",
    "TestSleep": "lute.io.models.scale_tests:TestSleepParameters",
    "TestRendezvous": "lute.io.models.scale_tests:TestRendezvousParameters",
}


def import_object(spec: str) -> Any:
    """Import ``"package.module:attribute"``."""
    module_name, _, attribute = spec.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def unknown_name(kind: str, name: str, known: list[str]) -> UnknownNameError:
    """An error for an unknown ``name`` that suggests the closest known ones."""
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return UnknownNameError(f"unknown {kind} '{name}'.{hint} Known: {', '.join(sorted(known))}")


def task_names() -> list[str]:
    """Every Task name lute can run."""
    return sorted(BUILTIN_TASKS)


def task_class(name: str) -> type[Task]:
    """The Task class that implements ``name``."""
    if name not in BUILTIN_TASKS:
        raise unknown_name("Task", name, task_names())
    return import_object(BUILTIN_TASKS[name])


def parameter_model(name: str) -> type[TaskParameters]:
    """The pydantic model ``<name>Parameters`` that validates ``name``'s section."""
    if name not in BUILTIN_MODELS:
        raise unknown_name("Task", name, task_names())
    return import_object(BUILTIN_MODELS[name])
