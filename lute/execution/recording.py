"""Recording an attempt in the run database: once its Task process exists, and at its end.

The first record (RUNNING, with who runs the Task) is what makes a run whose
Executor dies findable and settleable later, so it is written before the
Task does any work: a forked Task waits at its start gate until then
(``lute.execution.start``), while its own start-up (its imports) overlaps
the write. The final record is written before the Executor returns. Either
goes through the recorder process when ``lute run`` started one
(``lute.db.recorder``: SQLAlchemy was imported there while ``lute run``
started up), else it is written here. A record the database refuses is
spooled (``lute.db.store``); one that can be kept nowhere is logged there as
lost, and the run goes on.
"""

from __future__ import annotations

from lute.core.analysis import DescribedAnalysis
from lute.db import recorder


def record(desc: DescribedAnalysis) -> bool:
    """Write ``desc`` to its database, or spool it; ``False`` if it was kept nowhere."""
    stored = recorder.send(desc)
    if stored is not None:
        return stored
    # SQLAlchemy is slow to import: only once a record is due.
    from lute.db.store import database_url, store_run  # noqa: PLC0415

    config = desc.task_parameters.lute_config
    return store_run(desc, database_url(config.work_dir, config.db_url), config.work_dir).stored
