"""``lute watch --dry-run``: what would fire now, without launching or recording anything.

The same scans a starting watcher makes (files already in the directory,
rows matching now) are compared with the ledger, read only: nothing is
claimed, no table is created, no process is started.
"""

from __future__ import annotations

from lute.db.ledger import EventRecord, Ledger
from lute.triggers.actions import trigger_context
from lute.triggers.database import DatabaseTrigger
from lute.triggers.service import describe_events
from lute.triggers.spec import TriggerSpec, WatchSpec
from lute.triggers.time import TimeTrigger


def plan(spec: WatchSpec) -> list[str]:
    """One line per launch that would happen now, and one per idle trigger."""
    ledger = Ledger(spec.db_url)
    present = ledger.exists()
    lines: list[str] = []
    for trigger_spec in spec.triggers:
        lines.extend(_plan_one(trigger_spec, ledger if present else None))
    return lines


def _plan_one(spec: TriggerSpec, ledger: Ledger | None) -> list[str]:
    trigger = spec.trigger
    action = spec.action.describe()
    if isinstance(trigger, TimeTrigger):
        return [f"{spec.name}: every {trigger.time_gap:g} s: {action}"]
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
        run = trigger_context(spec.name, [record.context for record in batch])["run"]
        suffix = f" (run {run})" if run is not None else ""
        lines.append(f"{spec.name}: would launch {action} for {describe_events(batch)}{suffix}")
    if len(records) % size:
        lines.append(f"{spec.name}: {len(records) % size} event(s) wait for a full batch of {size}")
    if not records:
        lines.append(f"{spec.name}: nothing pending")
    return lines
