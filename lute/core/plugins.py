"""Tasks, parameter models and managed tasks that other packages provide.

A package adds to lute by declaring entry points; nothing in lute is edited:

* ``lute.tasks``: ``TaskName = "package.module:TaskClass"``
* ``lute.models``: ``TaskName = "package.module:TaskNameParameters"``
* ``lute.managed_tasks``: ``ManagedName = "package.module:OBJECT"``, where
  ``OBJECT`` is a ``lute.managed_tasks.ManagedTask`` or a dict of its fields.
* ``lute.executors``: ``ExecutorName = "package.module:ExecutorClass"`` (see
  ``lute.execution.plugins`` and docs/executors.md).

Reading the installed packages' metadata takes time, so it happens only when
asked: when a name is not built in, or when everything is listed. Importing
lute never scans, and a built-in Task never triggers a scan.
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
from typing import Any

from lute.core.exceptions import ConfigurationError

logger = logging.getLogger(__name__)

TASKS = "lute.tasks"
MODELS = "lute.models"
MANAGED_TASKS = "lute.managed_tasks"
EXECUTORS = "lute.executors"


@functools.cache
def _entry_points(group: str) -> dict[str, importlib.metadata.EntryPoint]:
    found: dict[str, importlib.metadata.EntryPoint] = {}
    for entry in importlib.metadata.entry_points(group=group):
        if entry.name in found:
            logger.warning(
                "%s %r is declared twice (%s and %s); using the first",
                group,
                entry.name,
                found[entry.name].value,
                entry.value,
            )
            continue
        found[entry.name] = entry
    logger.debug("found %d %s entry points", len(found), group)
    return found


def names(group: str) -> list[str]:
    """The names installed packages declare in ``group``."""
    return sorted(_entry_points(group))


def load(group: str, name: str) -> Any | None:
    """The object ``name`` refers to in ``group``, or ``None`` if none is declared.

    Raises:
        ConfigurationError: The entry point is declared but cannot be
            imported; the message names the package's entry.
    """
    entry = _entry_points(group).get(name)
    if entry is None:
        return None
    try:
        return entry.load()
    except (ImportError, AttributeError) as err:
        raise ConfigurationError(
            f"plugin entry point {group}: {name} = {entry.value} cannot be loaded: {err}"
        ) from err
