r"""What every trigger shares: its events, observing and stopping, and its description.

A trigger watches one thing (a directory, the clock, a database table) and
reports what happened as ``TriggerEvent`` values. It is usable on its own,
from Python, as in Covalent::

    trigger = DirTrigger("/data/raw", ["closed"], pattern=r"run(?P<run>\d+)\.h5$")
    trigger.observe(lambda events: print([e.path for e in events]))
    ...
    trigger.stop()

``observe(callback)`` starts watching in the background and calls
``callback`` with a list of ``batch_size`` events each time that many have
been seen. ``lute watch`` uses ``watch(emit)`` instead, which hands over
every event at once: it keeps events in the run database and forms batches
there, so a batch half-seen before a crash is not lost.

Each event carries a *key*: what makes it this event and no other (a file's
path with its size and modification time, a row's primary key, a tick's
time). Seeing the same key again means nothing new happened.
"""

from __future__ import annotations

import abc
import dataclasses
import datetime as dt
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class TriggerEvent:
    """Something a trigger saw.

    Attributes:
        kind: What happened: a file event name (``closed``, ``created``...),
            ``existing`` for a file found by a catch-up scan, ``row`` or
            ``time``.
        key: Unique for this trigger: seeing it again adds nothing.
        time: When it was seen (UTC).
        path: The file, for directory triggers.
        match: The pattern's named groups, for directory triggers.
        row: The row's columns, for database triggers.
    """

    kind: str
    key: str
    time: dt.datetime
    path: str | None = None
    match: Mapping[str, str] = dataclasses.field(default_factory=dict)
    row: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def context(self) -> dict[str, Any]:
        """The event as plain values, for the ledger and the launch."""
        return {
            "kind": self.kind,
            "time": self.time.isoformat(),
            "path": self.path,
            "match": dict(self.match),
            "row": dict(self.row),
        }


def utc_now() -> dt.datetime:
    """Now in UTC, as every event's time is given."""
    return dt.datetime.now(dt.timezone.utc)


Emit = Callable[[TriggerEvent], None]
"""Receives each event, from the trigger's own thread."""


class BaseTrigger(abc.ABC):
    """A source of events that can be started, stopped and described.

    Subclasses implement ``_start`` (begin watching, return at once) and
    ``_halt`` (stop watching and wait for their threads), and may offer
    ``scan`` (what is there right now, for catch-up and ``--once``).

    Args:
        batch_size: Events per ``observe`` callback.
    """

    type_name: ClassVar[str]
    """The ``type`` in ``to_dict()``; subclasses are found by it."""
    _types: ClassVar[dict[str, type[BaseTrigger]]] = {}

    def __init__(self, batch_size: int = 1) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._running = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "type_name" in cls.__dict__:
            BaseTrigger._types[cls.type_name] = cls

    # -- watching

    def observe(self, callback: Callable[[list[TriggerEvent]], None]) -> None:
        """Start watching; call ``callback`` with each full batch of events.

        Returns at once: events arrive on the trigger's own thread. Events
        of a batch not yet full when ``stop`` is called are dropped (``lute
        watch`` keeps them instead, see ``watch``).
        """
        pending: list[TriggerEvent] = []
        guard = threading.Lock()

        def collect(event: TriggerEvent) -> None:
            with guard:
                pending.append(event)
                if len(pending) < self.batch_size:
                    return
                batch = pending[:]
                pending.clear()
            callback(batch)

        self.watch(collect)

    def watch(self, emit: Emit) -> None:
        """Start watching; call ``emit`` with every event as it is seen.

        Raises:
            RuntimeError: The trigger is already watching.
        """
        with self._lock:
            if self._running:
                raise RuntimeError(f"{self!r} is already watching")
            self._running = True
        self._start(emit)

    def stop(self) -> None:
        """Stop watching and wait until no more events can arrive. Idempotent."""
        with self._lock:
            if not self._running:
                return
            self._running = False
        self._halt()

    def scan(self) -> list[TriggerEvent]:
        """What would fire now for things already there (none by default)."""
        return []

    @abc.abstractmethod
    def _start(self, emit: Emit) -> None:
        """Begin watching in the background, calling ``emit`` per event."""

    @abc.abstractmethod
    def _halt(self) -> None:
        """Stop the background work and wait for it."""

    # -- describing

    @abc.abstractmethod
    def _parameters(self) -> dict[str, Any]:
        """The constructor's arguments, as plain values."""

    def to_dict(self) -> dict[str, Any]:
        """A plain description from which ``from_dict`` builds an equal trigger."""
        return {"type": self.type_name, **self._parameters()}

    @classmethod
    def from_dict(cls, description: Mapping[str, Any]) -> BaseTrigger:
        """The trigger ``description`` (from ``to_dict``) describes.

        Raises:
            ValueError: Its ``type`` is unknown.
        """
        fields = dict(description)
        name = fields.pop("type", None)
        kind = BaseTrigger._types.get(str(name))
        if kind is None:
            known = ", ".join(sorted(BaseTrigger._types))
            raise ValueError(f"unknown trigger type {name!r} (known: {known})")
        return kind(**fields)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BaseTrigger) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._parameters().items())
        return f"{type(self).__name__}({args})"
