"""``lute watch --dry-run``: what would fire now, without launching or recording anything.

The same scans a starting watcher makes (files already in the directory,
rows matching now) are compared with the ledger, read only: nothing is
claimed, no table is created, no process is started.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lute.db.ledger import EventRecord, Ledger
from lute.triggers.actions import trigger_context
from lute.triggers.database import DatabaseTrigger
from lute.triggers.service import describe_events
from lute.triggers.spec import TriggerSpec, WatchSpec
from lute.triggers.time import TimeTrigger


@dataclass(frozen=True)
class Planned:
    """One thing a trigger would do now (``lute watch --dry-run``, one line each).

    Attributes:
        trigger: The trigger's name.
        kind: ``periodic`` (a time trigger), ``launch``, ``waiting`` (events
            short of a full batch) or ``idle`` (nothing pending).
        text: The line shown to people.
        action: What it would launch.
        events: The keys of the events a launch would handle (or that wait).
        run: The run number a launch would get, if the events name one.
    """

    trigger: str
    kind: str
    text: str
    action: str | None = None
    events: tuple[str, ...] = ()
    run: Any = None


def plan(spec: WatchSpec) -> list[Planned]:
    """One entry per launch that would happen now, and one per idle trigger."""
    ledger = Ledger(spec.db_url)
    present = ledger.exists()
    lines: list[Planned] = []
    for trigger_spec in spec.triggers:
        lines.extend(_plan_one(trigger_spec, ledger if present else None))
    return lines


def _plan_one(spec: TriggerSpec, ledger: Ledger | None) -> list[Planned]:
    trigger = spec.trigger
    action = spec.action.describe()
    name = spec.name
    if isinstance(trigger, TimeTrigger):
        return [
            Planned(name, "periodic", f"{name}: every {trigger.time_gap:g} s: {action}", action)
        ]
    queued = ledger.queued(spec.name) if ledger is not None else []
    if isinstance(trigger, DatabaseTrigger) and ledger is not None:
        trigger.mark_seen(sorted(ledger.known_keys(spec.name)))
    scanned = trigger.scan()
    if isinstance(trigger, DatabaseTrigger):
        trigger.close()
    known = set()
    if ledger is not None:
        known = ledger.known_keys(spec.name, [event.key for event in scanned])
    known.update(record.key for record in queued)
    records = queued + [
        EventRecord(spec.name, event.key, event.kind, event.time, event.context())
        for event in scanned
        if event.key not in known
    ]
    size = trigger.batch_size
    lines = []
    for start in range(0, len(records) - len(records) % size, size):
        batch = records[start : start + size]
        run = trigger_context(name, [record.context for record in batch])["run"]
        suffix = f" (run {run})" if run is not None else ""
        text = f"{name}: would launch {action} for {describe_events(batch)}{suffix}"
        keys = tuple(record.key for record in batch)
        lines.append(Planned(name, "launch", text, action, keys, run))
    left = records[len(records) - len(records) % size :]
    if left:
        text = f"{name}: {len(left)} event(s) wait for a full batch of {size}"
        lines.append(Planned(name, "waiting", text, action, tuple(r.key for r in left)))
    if not records:
        lines.append(Planned(name, "idle", f"{name}: nothing pending", action))
    return lines
