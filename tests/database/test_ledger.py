"""The trigger ledger on SQLite and PostgreSQL: each event recorded once, claimed once."""

from __future__ import annotations

import datetime as dt
import multiprocessing

from lute.db.ledger import EventRecord, LaunchEnd, Ledger

CLAIMERS = 4
EVENTS = 60


def _event(key: str, trigger: str = "files") -> EventRecord:
    return EventRecord(trigger, key, "closed", dt.datetime(2026, 1, 1), {"path": key})


def test_an_event_seen_again_is_recorded_once(db_url):
    ledger = Ledger(db_url)
    ledger.create()
    ledger.create()  # idempotent
    first = ledger.enqueue([_event("a"), _event("b"), _event("a", "other")])
    again = ledger.enqueue([_event("b"), _event("c")])
    assert [(e.trigger, e.key) for e in first] == [("files", "a"), ("files", "b"), ("other", "a")]
    assert [e.key for e in again] == ["c"]
    assert ledger.known_keys("files") == {"a", "b", "c"}
    assert ledger.known_keys("files", ["a", "zz"]) == {"a"}
    assert [e.key for e in ledger.queued("files")] == ["a", "b", "c"]


def test_claims_take_full_batches_oldest_first_and_release_gives_them_back(db_url):
    ledger = Ledger(db_url)
    ledger.create()
    ledger.enqueue([_event(key) for key in "abcde"])
    claims = ledger.claim("files", 2, 5, "here")
    assert [[e.key for e in claim.events] for claim in claims] == [["a", "b"], ["c", "d"]]
    assert [e.key for e in ledger.queued("files")] == ["e"]
    ledger.started([(claims[0].launch_id, 123, "456", "/log")])
    ledger.release(claims[0].launch_id)
    assert [e.key for e in ledger.queued("files")] == ["a", "b", "e"]
    ledger.finish([LaunchEnd(claims[1].launch_id, "completed", 0, ("r1",))])
    assert [launch.launch_id for launch in ledger.unfinished()] == []
    (partial,) = ledger.claim("files", 2, 5, "here")[1:] or [None]
    assert partial is None
    (last,) = ledger.claim("files", 2, 5, "here", partial=True)
    assert [e.key for e in last.events] == ["e"]
    states = {row["id"]: (row["state"], row["keys"]) for row in ledger.launches_of("files")}
    assert states[claims[0].launch_id] == ("released", [])
    assert states[claims[1].launch_id] == ("ended", ["c", "d"])


def _claim_all(url: str, barrier: object, results: object) -> None:
    ledger = Ledger(url)
    barrier.wait(timeout=60)  # type: ignore[attr-defined]
    keys = []
    while claims := ledger.claim("files", 1, 3, "here"):
        keys.extend(event.key for claim in claims for event in claim.events)
    results.put(keys)  # type: ignore[attr-defined]


def test_watchers_claiming_at_once_never_claim_the_same_event(db_url):
    ledger = Ledger(db_url)
    ledger.create()
    ledger.enqueue([_event(f"k{index:03d}") for index in range(EVENTS)])
    ledger.engine.dispose()  # children must not share this process's connections
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(CLAIMERS)
    results = context.Queue()
    claimers = [
        context.Process(target=_claim_all, args=(db_url, barrier, results)) for _ in range(CLAIMERS)
    ]
    for claimer in claimers:
        claimer.start()
    claimed = [key for _ in claimers for key in results.get(timeout=120)]
    for claimer in claimers:
        claimer.join(timeout=60)
    assert [claimer.exitcode for claimer in claimers] == [0] * CLAIMERS
    assert sorted(claimed) == [f"k{index:03d}" for index in range(EVENTS)]
    assert len(ledger.launches_of("files")) == EVENTS
