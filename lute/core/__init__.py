"""The run vocabulary every other package speaks, with no dependencies of its own.

Statuses, results and run descriptions (``analysis``), the exceptions lute
raises on purpose, exit codes, work-directory rules, atomic file writes,
numeric settings and entry-point plugins.
"""

from lute.core.analysis import DescribedAnalysis, ElogSummaryPlots, TaskResult, TaskStatus
from lute.core.exceptions import (
    ConfigurationError,
    ControlError,
    LuteError,
    ProtocolError,
    SubmissionError,
    UnknownNameError,
)
from lute.core.exit_codes import EXIT_BAD_INPUT, EXIT_OK, EXIT_TASK_FAILED
from lute.core.files import write_atomically
from lute.core.workdir import default_work_dir

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_OK",
    "EXIT_TASK_FAILED",
    "ConfigurationError",
    "ControlError",
    "DescribedAnalysis",
    "ElogSummaryPlots",
    "LuteError",
    "ProtocolError",
    "SubmissionError",
    "TaskResult",
    "TaskStatus",
    "UnknownNameError",
    "default_work_dir",
    "write_atomically",
]
