"""The trigger ledger: which events ``lute watch`` has seen, claimed and launched.

It lives in the run database, next to the runs it causes, so that what was
handled survives a restart, a crash or a move to another node, and so that
two watchers of the same triggers never launch the same event twice.

Two tables:

* ``trigger_events``: one row per event, unique on ``(trigger, key)``. The
  key names what happened (a file's path, size and modification time; a
  row's primary key; a tick's time), so seeing the same thing again, after
  a restart or from a catch-up scan, adds nothing. An event is ``queued``
  until a launch claims it.
* ``trigger_launches``: one row per launch: the trigger, the process that
  ran it, its log, its outcome and the run ids or job ids it produced.

Claiming is one transaction: the queued events are picked, a launch row is
created and the events point at it, all or nothing. A launch is therefore
claimed before its process starts; a crash after the claim can never lead
to a second launch of the same events. How a claimed launch whose process
is gone is treated on restart is the watcher's decision (see
``lute.triggers.recovery``); this module only offers ``release`` for a
launch that never started anything.

This module imports only ``lute.core`` and its own package, like the rest of
``lute.db``; it knows nothing of triggers beyond names, keys and states.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from lute.db.ddl import create_table
from lute.db.engine import get_engine, sqlite_path, write_transaction

__all__ = [
    "ClaimedLaunch",
    "EventRecord",
    "LaunchEnd",
    "LaunchRecord",
    "Ledger",
]

logger = logging.getLogger(__name__)

QUEUED = "queued"
CLAIMED = "claimed"
RUNNING = "running"
ENDED = "ended"
RELEASED = "released"
UNFINISHED = (CLAIMED, RUNNING)


def utc_now() -> dt.datetime:
    """Now, in UTC without a zone (how lute stores every time)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


@dataclasses.dataclass(frozen=True)
class EventRecord:
    """One event as the ledger keeps it.

    Attributes:
        trigger: The trigger's name.
        key: What makes this event unique for its trigger.
        kind: What happened (``closed``, ``row``, ``time``...).
        seen_at: When the trigger saw it (UTC).
        context: Plain values for the launch (path, match groups, row).
    """

    trigger: str
    key: str
    kind: str
    seen_at: dt.datetime
    context: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class ClaimedLaunch:
    """A launch just claimed: its id and the events it is for, oldest first."""

    launch_id: int
    trigger: str
    events: tuple[EventRecord, ...]


@dataclasses.dataclass(frozen=True)
class LaunchRecord:
    """A launch as recorded (for recovery and listings)."""

    launch_id: int
    trigger: str
    state: str
    host: str | None
    pid: int | None
    pid_start: str | None
    log_path: str | None
    events: tuple[EventRecord, ...]


@dataclasses.dataclass(frozen=True)
class LaunchEnd:
    """How a launch ended.

    Attributes:
        launch_id: Which launch.
        outcome: ``completed``, ``failed``, ``cancelled``, ``submitted`` or
            ``unknown`` (the process ended while no watcher could see its
            exit status).
        exit_code: The process's exit status, when known.
        run_ids: Runs it started, as found in its log.
        job_ids: SLURM jobs it submitted.
    """

    launch_id: int
    outcome: str
    exit_code: int | None = None
    run_ids: tuple[str, ...] = ()
    job_ids: tuple[str, ...] = ()


class Ledger:
    """The two ledger tables of one database.

    Args:
        url: SQLAlchemy URL of the run database.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = get_engine(url)
        metadata = sa.MetaData()
        self.events = sa.Table(
            "trigger_events",
            metadata,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("trigger", sa.Text, nullable=False),
            sa.Column("key", sa.Text, nullable=False),
            sa.Column("kind", sa.Text),
            sa.Column("seen_at", sa.DateTime),
            sa.Column("context", sa.Text),
            sa.Column("state", sa.Text, nullable=False),
            sa.Column("launch_id", sa.Integer),
            sa.UniqueConstraint("trigger", "key", name="uq_trigger_events_key"),
            sa.Index("ix_trigger_events_queue", "trigger", "state", "id"),
            sa.Index("ix_trigger_events_launch", "launch_id"),
        )
        self.launches = sa.Table(
            "trigger_launches",
            metadata,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("trigger", sa.Text, nullable=False),
            sa.Column("state", sa.Text, nullable=False),
            sa.Column("outcome", sa.Text),
            sa.Column("claimed_at", sa.DateTime),
            sa.Column("started_at", sa.DateTime),
            sa.Column("ended_at", sa.DateTime),
            sa.Column("host", sa.Text),
            sa.Column("pid", sa.Integer),
            sa.Column("pid_start", sa.Text),
            sa.Column("log_path", sa.Text),
            sa.Column("exit_code", sa.Integer),
            sa.Column("run_ids", sa.Text),
            sa.Column("job_ids", sa.Text),
            sa.Index("ix_trigger_launches_state", "state"),
        )
        self._metadata = metadata

    def exists(self) -> bool:
        """Whether the ledger's tables are there (a dry run must not create them)."""
        path = sqlite_path(self.url)
        if path is not None and not path.exists():
            return False
        with self.engine.connect() as conn:
            inspector = sa.inspect(conn)
            return all(inspector.has_table(t.name) for t in self._metadata.sorted_tables)

    def create(self) -> None:
        """Create the tables and indexes unless they exist."""
        with write_transaction(self.engine) as conn:
            for table in self._metadata.sorted_tables:
                create_table(conn, table)

    # -- events

    def enqueue(self, records: Sequence[EventRecord]) -> list[EventRecord]:
        """Add events not seen before, in one transaction; return those that were new."""
        if not records:
            return []
        added = []
        with write_transaction(self.engine) as conn:
            for record in records:
                if self._insert_event(conn, record):
                    added.append(record)
        return added

    def _insert_event(self, conn: Connection, record: EventRecord) -> bool:
        values = {
            "trigger": record.trigger,
            "key": record.key,
            "kind": record.kind,
            "seen_at": record.seen_at,
            "context": json.dumps(record.context, default=str),
            "state": QUEUED,
        }
        dialect = conn.dialect.name
        if dialect in ("sqlite", "postgresql"):
            module = sqlite if dialect == "sqlite" else postgresql
            statement = (
                module.insert(self.events)
                .values(values)
                .on_conflict_do_nothing()
                .returning(self.events.c.id)
            )
            return conn.execute(statement).first() is not None
        found = conn.execute(
            sa.select(self.events.c.id).where(
                self.events.c.trigger == record.trigger, self.events.c.key == record.key
            )
        ).first()
        if found is not None:
            return False
        conn.execute(self.events.insert().values(values))
        return True

    def known_keys(self, trigger: str, keys: Iterable[str] | None = None) -> set[str]:
        """Keys of ``trigger`` already in the ledger (all, or those among ``keys``)."""
        query = sa.select(self.events.c.key).where(self.events.c.trigger == trigger)
        wanted = None if keys is None else list(keys)
        found: set[str] = set()
        with self.engine.connect() as conn:
            if wanted is None:
                return set(conn.execute(query).scalars())
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                found.update(conn.execute(query.where(self.events.c.key.in_(chunk))).scalars())
        return found

    def queued(self, trigger: str) -> list[EventRecord]:
        """Events of ``trigger`` waiting for a launch, oldest first."""
        query = (
            sa.select(self.events)
            .where(self.events.c.trigger == trigger, self.events.c.state == QUEUED)
            .order_by(self.events.c.id)
        )
        with self.engine.connect() as conn:
            return [_event(row) for row in conn.execute(query)]

    def count_queued(self, trigger: str) -> int:
        """How many events of ``trigger`` wait for a launch."""
        query = (
            sa.select(sa.func.count())
            .select_from(self.events)
            .where(self.events.c.trigger == trigger, self.events.c.state == QUEUED)
        )
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    # -- launches

    def claim(
        self, trigger: str, batch_size: int, batches: int, host: str, *, partial: bool = False
    ) -> list[ClaimedLaunch]:
        """Claim up to ``batches`` launches of ``batch_size`` queued events each.

        One transaction: on SQLite it holds the write lock from its start, on
        PostgreSQL it skips rows another watcher has locked, so two watchers
        never claim the same event.

        Args:
            trigger: Whose events.
            batch_size: Events per launch.
            batches: Most launches to claim.
            host: This host, recorded with each launch.
            partial: Also claim a last batch smaller than ``batch_size``.
        """
        if batches < 1:
            return []
        events = self.events
        pick = (
            sa.select(events)
            .where(events.c.trigger == trigger, events.c.state == QUEUED)
            .order_by(events.c.id)
            .limit(batch_size * batches)
            .with_for_update(skip_locked=True)
        )
        claimed = []
        now = utc_now()
        with write_transaction(self.engine) as conn:
            rows = conn.execute(pick).all()
            for start in range(0, len(rows), batch_size):
                batch = rows[start : start + batch_size]
                if len(batch) < batch_size and not partial:
                    break
                launch_id = conn.execute(
                    self.launches.insert().values(
                        trigger=trigger, state=CLAIMED, claimed_at=now, host=host
                    )
                ).inserted_primary_key[0]
                conn.execute(
                    events.update()
                    .where(events.c.id.in_([row.id for row in batch]))
                    .values(state=CLAIMED, launch_id=launch_id)
                )
                claimed.append(ClaimedLaunch(launch_id, trigger, tuple(map(_event, batch))))
        return claimed

    def started(self, launches: Sequence[tuple[int, int, str | None, str]]) -> None:
        """Record that launches' processes started: ``(launch_id, pid, pid_start, log)``."""
        if not launches:
            return
        now = utc_now()
        with write_transaction(self.engine) as conn:
            for launch_id, pid, pid_start, log_path in launches:
                conn.execute(
                    self.launches.update()
                    .where(self.launches.c.id == launch_id)
                    .values(
                        state=RUNNING,
                        pid=pid,
                        pid_start=pid_start,
                        log_path=log_path,
                        started_at=now,
                    )
                )

    def finish(self, ends: Sequence[LaunchEnd]) -> None:
        """Record how launches ended, in one transaction."""
        if not ends:
            return
        now = utc_now()
        with write_transaction(self.engine) as conn:
            for end in ends:
                conn.execute(
                    self.launches.update()
                    .where(self.launches.c.id == end.launch_id)
                    .values(
                        state=ENDED,
                        outcome=end.outcome,
                        exit_code=end.exit_code,
                        run_ids=json.dumps(list(end.run_ids)),
                        job_ids=json.dumps(list(end.job_ids)),
                        ended_at=now,
                    )
                )

    def release(self, launch_id: int) -> None:
        """Give a launch's events back to the queue: its process never started work.

        The events keep their place (their ids), so they are claimed again
        before anything seen later.
        """
        with write_transaction(self.engine) as conn:
            conn.execute(
                self.events.update()
                .where(self.events.c.launch_id == launch_id)
                .values(state=QUEUED, launch_id=None)
            )
            conn.execute(
                self.launches.update()
                .where(self.launches.c.id == launch_id)
                .values(state=RELEASED, ended_at=utc_now())
            )

    def unfinished(self) -> list[LaunchRecord]:
        """Launches claimed or running that no watcher has recorded the end of."""
        query = (
            sa.select(self.launches)
            .where(self.launches.c.state.in_(UNFINISHED))
            .order_by(self.launches.c.id)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            return [
                LaunchRecord(
                    launch_id=row.id,
                    trigger=row.trigger,
                    state=row.state,
                    host=row.host,
                    pid=row.pid,
                    pid_start=row.pid_start,
                    log_path=row.log_path,
                    events=self._events_of(conn, row.id),
                )
                for row in rows
            ]

    def _events_of(self, conn: Connection, launch_id: int) -> tuple[EventRecord, ...]:
        query = (
            sa.select(self.events)
            .where(self.events.c.launch_id == launch_id)
            .order_by(self.events.c.id)
        )
        return tuple(_event(row) for row in conn.execute(query))

    def run_statuses(self, run_ids: Sequence[str]) -> dict[str, str]:
        """The recorded status of runs in this database's ``runs`` catalog, latest attempt.

        For launches that ended while no watcher saw their exit status: the
        run's record is then the only word on how they went.
        """
        if not run_ids:
            return {}
        with self.engine.connect() as conn:
            if not sa.inspect(conn).has_table("runs"):
                return {}
            runs = sa.table("runs", sa.column("run_id"), sa.column("attempt"), sa.column("status"))
            query = (
                sa.select(runs.c.run_id, runs.c.status)
                .where(runs.c.run_id.in_(list(run_ids)))
                .order_by(runs.c.attempt)
            )
            return {row.run_id: row.status for row in conn.execute(query)}

    def launches_of(self, trigger: str) -> list[dict[str, Any]]:
        """Every launch of ``trigger`` with its event keys, oldest first (for reports)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(self.launches)
                .where(self.launches.c.trigger == trigger)
                .order_by(self.launches.c.id)
            ).all()
            return [
                {
                    **row._asdict(),
                    "run_ids": json.loads(row.run_ids or "[]"),
                    "job_ids": json.loads(row.job_ids or "[]"),
                    "keys": [event.key for event in self._events_of(conn, row.id)],
                }
                for row in rows
            ]


def _event(row: Any) -> EventRecord:
    return EventRecord(
        trigger=row.trigger,
        key=row.key,
        kind=row.kind,
        seen_at=row.seen_at,
        context=json.loads(row.context or "{}"),
    )
