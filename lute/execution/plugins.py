"""Executor plugins: find an Executor class by name, describe callables by import path.

Packages add executors through the entry-point group ``lute.executors``
(``MyExecutor = my_package.executors:MyExecutor``), read through
``lute.core.plugins`` only when a name is looked up that is neither built in nor
a ``module:Class`` path, so importing lute, or building a built-in managed
task, never scans installed packages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lute.core import plugins
from lute.core.exceptions import ConfigurationError
from lute.tasks.registry import import_object, unknown_name

if TYPE_CHECKING:
    from lute.execution.executor import BaseExecutor

BUILTIN_EXECUTORS: dict[str, str] = {
    "Executor": "lute.execution.executor:Executor",
}


def executor_names() -> list[str]:
    """Built-in and installed executor names (reads the entry points)."""
    return sorted(set(plugins.names(plugins.EXECUTORS)) | set(BUILTIN_EXECUTORS))


def executor_class(name: str) -> type[BaseExecutor]:
    """The Executor class called ``name``.

    Args:
        name: A built-in name (``Executor``), an installed plugin's entry-point
            name (``TimingExecutor``), or an import path ``module:Class``.

    Raises:
        UnknownNameError: No executor has that name; the message lists them.
        ConfigurationError: The object found is not an Executor class.
    """
    from lute.execution.executor import BaseExecutor  # noqa: PLC0415 (executor imports us)

    if ":" in name:
        found = import_path(name)
    elif name in BUILTIN_EXECUTORS:
        found = import_object(BUILTIN_EXECUTORS[name])
    else:
        found = plugins.load(plugins.EXECUTORS, name)
        if found is None:
            raise unknown_name("executor", name, executor_names())
    if not (isinstance(found, type) and issubclass(found, BaseExecutor)):
        raise ConfigurationError(f"executor {name!r} is {found!r}, not a BaseExecutor subclass")
    return found


def callable_path(function: Callable[..., Any], what: str) -> str:
    """``module:qualified.name`` that imports back to ``function``.

    Raises:
        ConfigurationError: ``function`` cannot be found again by import: a
            lambda, a nested function, a bound method, or code in ``__main__``.
    """
    module = getattr(function, "__module__", None)
    qualname = getattr(function, "__qualname__", None)
    path = f"{module}:{qualname}"
    reason = None
    if not module or not qualname or "<" in qualname:
        reason = "a lambda or nested function has no import path"
    elif module == "__main__":
        reason = "code in __main__ cannot be imported elsewhere"
    elif _import_or_none(path) is not function:
        reason = f"{path} does not import back to the same object"
    if reason:
        raise ConfigurationError(
            f"{what} {function!r} cannot be described for another process ({reason}); "
            "use a function defined at module level in an importable module"
        )
    return path


def import_path(path: str) -> Any:
    """Import ``module:a.b`` (attributes may be nested).

    Raises:
        ConfigurationError: The module or attribute does not exist.
    """
    module_name, _, attribute = path.partition(":")
    first, *rest = attribute.split(".")
    try:
        found = import_object(f"{module_name}:{first}")
        for name in rest:
            found = getattr(found, name)
    except (ImportError, AttributeError) as err:
        raise ConfigurationError(f"cannot import {path!r}: {err}") from err
    return found


def _import_or_none(path: str) -> Any:
    try:
        return import_path(path)
    except ConfigurationError:
        return None
