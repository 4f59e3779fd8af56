"""The triggers from Python, as in Covalent: observe, stop, describe."""

from __future__ import annotations

import queue
import sqlite3

import pytest

from lute.triggers import BaseTrigger, DatabaseTrigger, DirTrigger, SQLiteTrigger, TimeTrigger
from lute.triggers.database import nest

from .helpers import write_in_pieces


def _batches(source: queue.SimpleQueue, count: int) -> list[list]:
    return [source.get(timeout=30) for _ in range(count)]


def test_dir_trigger_batches_matching_files_with_their_named_groups(tmp_path):
    trigger = DirTrigger(tmp_path, ["closed"], batch_size=2, pattern=r"run(?P<run>\d+)\.h5$")
    seen: queue.SimpleQueue = queue.SimpleQueue()
    trigger.observe(seen.put)
    try:
        for name in ("run0001.h5", "notes.txt", "run0002.h5", "run0003.h5", "run0004.h5"):
            write_in_pieces(tmp_path / name)
        first, second = _batches(seen, 2)
    finally:
        trigger.stop()
    assert [[event.match["run"] for event in batch] for batch in (first, second)] == [
        ["0001", "0002"],
        ["0003", "0004"],
    ]
    assert {event.kind for event in first + second} == {"closed"}
    assert first[0].path == str(tmp_path / "run0001.h5")
    size = (tmp_path / "run0001.h5").stat().st_size
    assert first[0].key.startswith(f"{tmp_path / 'run0001.h5'}|{size}|")


def test_a_catch_up_scan_skips_a_file_still_open_for_writing(tmp_path):
    write_in_pieces(tmp_path / "done.h5")
    with open(tmp_path / "busy.h5", "wb") as busy:
        busy.write(b"half")
        busy.flush()
        closed = DirTrigger(tmp_path, ["closed"]).scan()
        created = DirTrigger(tmp_path, ["created"]).scan()
    assert [event.path for event in closed] == [str(tmp_path / "done.h5")]
    assert [event.path for event in created] == [str(tmp_path / n) for n in ("busy.h5", "done.h5")]
    assert DirTrigger(tmp_path, ["deleted"]).scan() == []


def test_database_trigger_fires_once_per_new_matching_row_in_groups_of_n(tmp_path):
    db = tmp_path / "scans.db"
    with sqlite3.connect(db) as conn:
        conn.execute('CREATE TABLE scans (id INTEGER PRIMARY KEY, status TEXT, "a.b" INTEGER)')
        conn.execute("INSERT INTO scans (status, \"a.b\") VALUES ('done', 0)")
    trigger = SQLiteTrigger(db, "scans", ["status = 'done'"], poll_interval=0.05, trigger_after_n=2)
    seen: queue.SimpleQueue = queue.SimpleQueue()
    trigger.observe(seen.put)
    try:
        with sqlite3.connect(db) as conn:
            conn.execute("INSERT INTO scans (status, \"a.b\") VALUES ('running', 1)")
        with sqlite3.connect(db) as conn:  # row 2 comes to match as row 3 appears
            conn.execute("INSERT INTO scans (status, \"a.b\") VALUES ('done', 2)")
            conn.execute("UPDATE scans SET status = 'done' WHERE id = 2")
        (batch,) = _batches(seen, 1)
    finally:
        trigger.stop()
    assert [event.key for event in batch] == ["id=2", "id=3"]
    assert [event.row["a"]["b"] for event in batch] == [1, 2]
    assert seen.empty()

    catching_up = SQLiteTrigger(db, "scans", ["status = 'done'"], catch_up=True)
    assert [event.key for event in catching_up.scan()] == ["id=1", "id=2", "id=3"]
    assert catching_up.scan() == [], "each row is reported once"
    catching_up.close()


@pytest.mark.parametrize(
    "trigger",
    [
        lambda p: DirTrigger(p, ["closed", "moved"], 3, True, r"\.h5$", rescan=30),
        lambda p: TimeTrigger(2.5),
        lambda p: DatabaseTrigger("sqlite:///x.db", "t", ["a = 1"], 2, 4, key_columns=["id"]),
        lambda p: SQLiteTrigger(p / "x.db", "t", catch_up=True),
    ],
)
def test_to_dict_and_from_dict_give_the_same_trigger(trigger, tmp_path):
    original = trigger(tmp_path)
    described = original.to_dict()
    assert BaseTrigger.from_dict(described) == original
    assert type(BaseTrigger.from_dict(described)) is type(original)
    assert BaseTrigger.from_dict(described).to_dict() == described


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="is not a directory"):
        DirTrigger(tmp_path / "missing", ["closed"])
    with pytest.raises(ValueError, match="event names"):
        DirTrigger(tmp_path, ["opened"])
    with pytest.raises(ValueError, match="time_gap"):
        TimeTrigger(0)
    with pytest.raises(ValueError, match="unknown trigger type 'http'"):
        BaseTrigger.from_dict({"type": "http"})


def test_dotted_columns_nest_and_clashes_keep_their_full_names():
    assert nest({"result.task_status": "COMPLETED", "a.b.c": 1, "x": 2}) == {
        "result": {"task_status": "COMPLETED"},
        "a": {"b": {"c": 1}},
        "x": 2,
    }
    assert nest({"a": 1, "a.b": 2}) == {"a": 1, "a.b": 2}
