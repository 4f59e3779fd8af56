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
"""

from lute.elog.client import ElogClient, ElogError, WorkflowDefinition, WorkflowTrigger
from lute.elog.reporter import ElogReporter
from lute.elog.settings import ElogSettings, build_session, read_credentials_file
from lute.elog.summary import report_path, summary_directory, write_report

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
