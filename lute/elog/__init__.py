"""Publishing runs to the experiment's electronic logbook (the LCLS eLog).

Scientists follow an experiment in its logbook, not in a terminal, so each
run posts its status, run-table values and summary report there, without
ever slowing down or failing the analysis when the logbook is slow or down.

* ``lute.elog.settings``: where the logbook is and how to authenticate, read
  from ``LUTE_ELOG_*`` environment variables.
* ``lute.elog.client``: ``ElogClient``, the logbook's HTTP endpoints.
* ``lute.elog.reporter``: ``ElogReporter``, the Executor's link; decides what
  to post and posts it from a background thread.
* ``lute.elog.summary``: where summary reports go and writing them there.

This package imports nothing of lute but ``lute.core``. Code inside lute
imports from the submodules; the names below are for users of the package.
They are imported when first used: ``requests`` costs tens of milliseconds
to import, which every ``lute run`` would pay, and the Executor needs it
only when a logbook is configured.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES: dict[str, str] = {
    "ElogClient": "lute.elog.client",
    "ElogError": "lute.elog.client",
    "WorkflowDefinition": "lute.elog.client",
    "WorkflowTrigger": "lute.elog.client",
    "ElogReporter": "lute.elog.reporter",
    "ElogSettings": "lute.elog.settings",
    "build_session": "lute.elog.settings",
    "read_credentials_file": "lute.elog.settings",
    "report_path": "lute.elog.summary",
    "summary_directory": "lute.elog.summary",
    "write_report": "lute.elog.summary",
}

__all__ = [
    "ElogClient",
    "ElogError",
    "ElogReporter",
    "ElogSettings",
    "WorkflowDefinition",
    "WorkflowTrigger",
    "build_session",
    "read_credentials_file",
    "report_path",
    "summary_directory",
    "write_report",
]


def __getattr__(name: str) -> Any:
    """Import a public name from its submodule when it is first asked for."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
