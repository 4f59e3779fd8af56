"""Triggers: analysis that starts by itself when files arrive, time passes or rows appear.

``DirTrigger``, ``TimeTrigger``, ``DatabaseTrigger`` and ``SQLiteTrigger``
watch one thing each and report events (``observe(callback)``, ``stop()``,
``to_dict()``/``BaseTrigger.from_dict()``). ``lute watch TRIGGERS.yaml``
runs them as a service (``WatchService``) that launches managed tasks or
workflows, here or on SLURM, exactly once per event across restarts: what
was handled is kept in the run database (``lute.db.ledger``). See
``docs/triggers.md``.
"""

from lute.triggers.actions import Action
from lute.triggers.base import BaseTrigger, TriggerEvent
from lute.triggers.database import DatabaseTrigger, SQLiteTrigger
from lute.triggers.dir import DirTrigger
from lute.triggers.plan import plan
from lute.triggers.service import TriggerStats, WatchService
from lute.triggers.spec import TriggerSpec, WatchSpec, load_spec
from lute.triggers.time import TimeTrigger

__all__ = [
    "Action",
    "BaseTrigger",
    "DatabaseTrigger",
    "DirTrigger",
    "SQLiteTrigger",
    "TimeTrigger",
    "TriggerEvent",
    "TriggerSpec",
    "TriggerStats",
    "WatchService",
    "WatchSpec",
    "load_spec",
    "plan",
]
