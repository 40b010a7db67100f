"""What only the SQLite store has: a file that outlives it, indexes, WAL, several connections."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from cqrs_lab.adapters.sqlite_database import SqliteDatabase, check_identifier
from cqrs_lab.adapters.sqlite_store import SqliteEventStore
from cqrs_lab.clock import ManualClock
from cqrs_lab.errors import ConcurrencyError, InvalidArgumentError, UnknownEventTypeError
from cqrs_lab.event_store import NO_STREAM
from cqrs_lab.messages import Event
from cqrs_lab.upcasting import EventRegistry


@dataclass(frozen=True, kw_only=True)
class Noted(Event):
    text: str


def open_store(path: Path) -> SqliteEventStore:
    return SqliteEventStore(path, EventRegistry([Noted]), ManualClock(step=1.0))


def test_the_log_outlives_the_store_and_positions_continue(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    with open_store(path) as store:
        store.append("a", [Noted(text="1"), Noted(text="2")], NO_STREAM)

    with open_store(path) as reopened:
        assert [r.event for r in reopened.read_all()] == [Noted(text="1"), Noted(text="2")]
        receipt = reopened.append("a", [Noted(text="3")], expected_version=2)
        assert (receipt.stream_version, receipt.position) == (3, 3)


def test_a_file_database_runs_in_wal_mode(tmp_path: Path) -> None:
    with open_store(tmp_path / "events.sqlite3") as store:
        assert store.db.journal_mode == "wal"
        assert store.db.fetchone("PRAGMA journal_mode") == ("wal",)


def test_reads_are_served_by_the_primary_key_and_the_stream_index(tmp_path: Path) -> None:
    with open_store(tmp_path / "events.sqlite3") as store:
        plan_all = " ".join(
            str(row[-1])
            for row in store.db.fetchall(
                "EXPLAIN QUERY PLAN SELECT * FROM events WHERE position > ? "
                "ORDER BY position LIMIT ?",
                (0, 10),
            )
        )
        plan_stream = " ".join(
            str(row[-1])
            for row in store.db.fetchall(
                "EXPLAIN QUERY PLAN SELECT * FROM events WHERE stream_id = ? "
                "AND stream_version >= ? ORDER BY stream_version",
                ("a", 1),
            )
        )
    assert "USING INTEGER PRIMARY KEY (rowid>?)" in plan_all
    assert "SCAN" not in plan_all and "TEMP B-TREE" not in plan_all
    assert "USING INDEX sqlite_autoindex_events_1 (stream_id=? AND stream_version>?)" in (
        plan_stream
    )
    assert "TEMP B-TREE" not in plan_stream


def test_a_rejected_append_uses_up_no_autoincrement_number(tmp_path: Path) -> None:
    with open_store(tmp_path / "events.sqlite3") as store:
        store.append("a", [Noted(text="1")], NO_STREAM)
        with pytest.raises(ConcurrencyError):
            store.append("a", [Noted(text="x")], NO_STREAM)
        assert store.db.fetchone("SELECT seq FROM sqlite_sequence WHERE name = 'events'") == (1,)


def test_two_connections_to_one_file_append_without_gaps(tmp_path: Path) -> None:
    """Each store has its own connection: only SQLite's write lock keeps them apart."""
    path = tmp_path / "events.sqlite3"
    stores = [open_store(path), open_store(path)]
    wins = [0, 0]
    failures: list[BaseException] = []

    def writer(index: int) -> None:
        store = stores[index]
        try:
            for _ in range(40):
                version = store.stream_version("shared")
                try:
                    store.append("shared", [Noted(text=str(index))], expected_version=version)
                    wins[index] += 1
                except ConcurrencyError:
                    pass
                store.append(f"own-{index}", [Noted(text="x")])
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert failures == []
    store = stores[0]
    assert store.stream_version("shared") == sum(wins)
    assert [r.position for r in store.read_all()] == list(range(1, 80 + sum(wins) + 1))
    versions = [r.stream_version for r in store.read_stream("shared")]
    assert versions == list(range(1, sum(wins) + 1))
    for each in stores:
        each.close()


def test_hostile_stream_ids_and_texts_are_stored_literally(tmp_path: Path) -> None:
    hostile = "a'); DROP TABLE events; --"
    with open_store(tmp_path / "events.sqlite3") as store:
        store.append(hostile, [Noted(text="'; DELETE FROM events; --")], NO_STREAM)
        assert store.stream_ids() == [hostile]
        assert store.read_stream(hostile)[0].event == Noted(text="'; DELETE FROM events; --")


def test_a_reader_must_know_the_stored_types(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    with open_store(path) as store:
        store.append("a", [Noted(text="1")], NO_STREAM)
    with (
        SqliteEventStore(path, EventRegistry()) as stranger,
        pytest.raises(UnknownEventTypeError, match="unknown event type 'Noted'"),
    ):
        stranger.read_all()


def test_an_appended_class_is_registered_but_a_name_clash_is_refused() -> None:
    registry = EventRegistry()
    store = SqliteEventStore(":memory:", registry)
    store.append("a", [Noted(text="1")])
    assert registry.type_names == ["Noted"]

    @dataclass(frozen=True, kw_only=True)
    class Other(Event):
        type_name = "Noted"

    with pytest.raises(InvalidArgumentError, match="already registered"):
        store.append("a", [Other()])
    assert store.head == 1


def test_a_connection_passed_in_is_left_open(tmp_path: Path) -> None:
    connection = sqlite3.connect(tmp_path / "e.sqlite3", check_same_thread=False)
    store = SqliteEventStore(connection, EventRegistry([Noted]))
    store.append("a", [Noted(text="1")])
    store.close()
    assert connection.execute("SELECT COUNT(*) FROM events").fetchone() == (1,)
    connection.close()


def test_a_transaction_that_raises_is_rolled_back() -> None:
    db = SqliteDatabase()
    with db.transaction() as connection:
        connection.execute("CREATE TABLE t (x INTEGER)")
    with pytest.raises(ZeroDivisionError), db.transaction() as connection:
        connection.execute("INSERT INTO t VALUES (1)")
        _ = 1 / 0
    assert db.fetchall("SELECT x FROM t") == []
    assert not db.connection.in_transaction


def test_only_plain_identifiers_and_known_settings_are_accepted() -> None:
    assert check_identifier("order_views_v2") == "order_views_v2"
    for bad in ["order_views; DROP TABLE x", "1abc", "", "a b", "名前"]:
        with pytest.raises(InvalidArgumentError, match="expected an SQL identifier"):
            check_identifier(bad)
    with pytest.raises(InvalidArgumentError, match="synchronous must be one of"):
        SqliteDatabase(synchronous="OFF; DROP TABLE events")  # type: ignore[arg-type]
