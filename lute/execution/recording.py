"""Recording an attempt in the run database: once its Task process exists, and at its end.

The first record (RUNNING, with who runs the Task) is what makes a run whose
Executor dies findable and settleable later, so it is written before the
Task does any work: a forked Task waits at its start gate until then
(``lute.execution.start``), while its own start-up (its imports) overlaps
the write. A record that cannot be written is spooled; one that can be
stored nowhere is kept in the run's ``executor_errors`` and logged, and the
run goes on.
"""

from __future__ import annotations

import logging
import traceback

from lute.core.analysis import DescribedAnalysis

logger = logging.getLogger(__name__)

FAILED = "could not record the run, nor spool it"


def record(desc: DescribedAnalysis) -> None:
    """Write ``desc`` to its database, or spool it; if it went nowhere, say so in ``desc``."""
    # SQLAlchemy is slow to import: only once a record is due, when the Task
    # process already exists and starts up alongside.
    from lute.db.store import database_url, store_run  # noqa: PLC0415

    config = desc.task_parameters.lute_config
    try:
        store_run(desc, database_url(config.work_dir, config.db_url), config.work_dir)
    except Exception:
        text = f"{FAILED}:\n{traceback.format_exc()}"
        logger.error("%s", text)
        desc.executor_errors.append(text)
