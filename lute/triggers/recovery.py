"""What a starting watcher does with launches an earlier watcher left unfinished.

A launch is claimed in the ledger before its process starts, and marked
running once it has. A watcher that was killed outright (``kill -9``, a
node crash) leaves some launches claimed or running with no end recorded.
For each of them, on this host, the next watcher decides:

1. **Still running** (a live process carries the launch's marker): follow it
   to its end, as if it had started it, and record the end then.
2. **It started work** (its log names a run id, a SLURM job id or a workflow
   node that started; for a ``command``, it was recorded as running): its end
   is recorded now, its outcome read from the run's record when there is
   one. It is never launched again: a run may have happened.
3. **It never started work** (no process left, and nothing in its log says a
   run began: the watcher died between the claim and the start, or the
   process died while Python was still starting): its events go back to the
   queue, ahead of anything newer, and are launched again. Nothing ran for
   them, so nothing runs twice; and nothing seen is dropped.

So each event leads to at most one run that started, and to exactly one
when nothing is killed half-way through starting.

Launches recorded by another host are left alone (only that host can see
their processes) and reported.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from pathlib import Path

from lute.db.ledger import RUNNING, LaunchEnd, LaunchRecord, Ledger
from lute.triggers.actions import COMMAND, Action, Evidence, read_evidence
from lute.triggers.processes import Tracked, find_marked, follow

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class Recovered:
    """The decisions for the unfinished launches found at start.

    Attributes:
        adopted: Launches still running, with their processes to follow.
        ended: Launches whose end is recorded now.
        released: Launches whose events were given back to the queue.
        foreign: Launches of other hosts or of triggers no longer in the file.
    """

    adopted: list[tuple[LaunchRecord, list[Tracked]]] = dataclasses.field(default_factory=list)
    ended: list[LaunchEnd] = dataclasses.field(default_factory=list)
    released: list[LaunchRecord] = dataclasses.field(default_factory=list)
    foreign: list[LaunchRecord] = dataclasses.field(default_factory=list)


def recover(
    ledger: Ledger,
    actions: Mapping[str, Action],
    host: str,
    marker: Callable[[int], str],
    log_of: Callable[[str, int], Path],
) -> Recovered:
    """Decide, record and return what becomes of each unfinished launch (see the module).

    Args:
        ledger: The ledger.
        actions: Each trigger's action, by trigger name.
        host: This host.
        marker: The environment marker of a launch id.
        log_of: Where a launch's log is, by trigger and launch id.
    """
    found = Recovered()
    mine = []
    for launch in ledger.unfinished():
        if launch.host != host or launch.trigger not in actions:
            found.foreign.append(launch)
            logger.warning(
                "trigger %s: launch %d was left unfinished by a watcher on %s;"
                " it is not this watcher's to settle",
                launch.trigger,
                launch.launch_id,
                launch.host,
            )
            continue
        mine.append(launch)
    live = find_marked(marker(launch.launch_id) for launch in mine)
    for launch in mine:
        key = marker(launch.launch_id)
        tracked = [t for pid in live[key] if (t := follow(pid, key)) is not None]
        if tracked:
            found.adopted.append((launch, tracked))
            logger.info(
                "trigger %s: launch %d is still running (pid %s); following it",
                launch.trigger,
                launch.launch_id,
                ", ".join(str(t.pid) for t in tracked),
            )
            continue
        action = actions[launch.trigger]
        log = launch.log_path or log_of(launch.trigger, launch.launch_id)
        evidence = read_evidence(action, log)
        if evidence.started_work or (action.kind == COMMAND and launch.state == RUNNING):
            end = settled_end(ledger, action, launch.launch_id, evidence)
            found.ended.append(end)
            logger.warning(
                "trigger %s: launch %d ended while no watcher ran: %s%s",
                launch.trigger,
                launch.launch_id,
                end.outcome,
                f" (runs {', '.join(end.run_ids)})" if end.run_ids else "",
            )
            continue
        ledger.release(launch.launch_id)
        found.released.append(launch)
        logger.warning(
            "trigger %s: launch %d never started work (its watcher stopped first);"
            " launching its events again",
            launch.trigger,
            launch.launch_id,
        )
    ledger.finish(found.ended)
    return found


def settled_end(ledger: Ledger, action: Action, launch_id: int, evidence: Evidence) -> LaunchEnd:
    """The end of a launch whose exit status nobody saw, from what it left behind.

    A submission is ``submitted`` once it printed a job id. Otherwise the
    runs it started have the word: ``completed`` if all completed,
    ``cancelled`` or ``failed`` if one was, ``unknown`` if they are not (or
    not yet) recorded as ended in this database.
    """
    outcome = "unknown"
    if action.submit and evidence.job_ids:
        outcome = "submitted"
    elif evidence.run_ids:
        statuses = ledger.run_statuses(evidence.run_ids)
        known = [statuses.get(run_id) for run_id in evidence.run_ids]
        if all(status == "COMPLETED" for status in known):
            outcome = "completed"
        elif "CANCELLED" in known:
            outcome = "cancelled"
        elif any(status in ("FAILED", "TIMEDOUT", "STOPPED") for status in known):
            outcome = "failed"
    return LaunchEnd(launch_id, outcome, None, evidence.run_ids, evidence.job_ids)
