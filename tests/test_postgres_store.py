"""What only the PostgreSQL store does; the shared contract is in test_event_store_contract.py.

Faults: a connection lost in the middle of an append, and a server that does not answer. And the
pitfall the store's design avoids, run step by step: positions from a sequence skip an event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from cqrs_lab.errors import StoreUnavailableError
from cqrs_lab.event_store import NO_STREAM
from cqrs_lab.messages import Event
from cqrs_lab.upcasting import EventRegistry

pytest.importorskip("psycopg", reason="the postgres extra is not installed")

from cqrs_lab.adapters.postgres_database import PostgresDatabase, is_postgres_url
from cqrs_lab.adapters.postgres_naive_positions import (
    CounterPositions,
    MustWaitError,
    Reader,
    SequencePositions,
)
from cqrs_lab.adapters.postgres_store import PostgresEventStore


@dataclass(frozen=True, kw_only=True)
class Noted(Event):
    text: str


# A trigger that kills its own connection when the second event of stream 'doomed' is inserted:
# the append has taken its positions and written one event, and is cut off before COMMIT.
KILL_MID_APPEND = (
    """CREATE FUNCTION die() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_terminate_backend(pg_backend_pid());
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER die_mid_append BEFORE INSERT ON events FOR EACH ROW
    WHEN (NEW.stream_id = 'doomed' AND NEW.stream_version = 2) EXECUTE FUNCTION die()""",
)


def test_a_connection_lost_mid_append_is_an_error_and_leaves_nothing(
    make_postgres: Callable[[], Any],
) -> None:
    store = PostgresEventStore(make_postgres(), EventRegistry([Noted]))
    store.append("kept", [Noted(text="1")], NO_STREAM)
    with store.db.transaction() as connection:
        for statement in KILL_MID_APPEND:
            connection.execute(statement)

    with pytest.raises(
        StoreUnavailableError, match=r"appending to 'doomed': .* Nothing is half-written"
    ):
        store.append("doomed", [Noted(text="a"), Noted(text="b")], NO_STREAM)

    assert store.head == 1  # the head counter rolled back with the events
    assert store.read_stream("doomed") == []
    assert store.append("kept", [Noted(text="2")], 1).position == 2  # no gap; the pool recovered
    assert [r.position for r in store.read_all()] == [1, 2]


def test_a_server_that_does_not_answer_is_a_clear_error() -> None:
    with pytest.raises(StoreUnavailableError, match=r"connecting to postgresql://me:\*\*\*@"):
        PostgresDatabase("postgresql://me:secret@127.0.0.1:1/nowhere", timeout=1.0)


def test_urls_are_told_from_file_names() -> None:
    assert is_postgres_url("postgres://h/db") and is_postgres_url("POSTGRESQL://h/db")
    assert not is_postgres_url("orders.sqlite3")


def test_sequence_positions_let_a_reader_skip_an_event_for_ever(
    make_postgres: Callable[[], Any],
) -> None:
    log = SequencePositions(make_postgres())
    reader = Reader(log)

    a = log.begin_append("order-A", "A")  # takes 1
    b = log.begin_append("order-B", "B")  # takes 2
    b.commit()  # ...and commits first
    assert reader.catch_up() == [2]
    a.commit()

    assert reader.catch_up() == []  # 1 is behind the checkpoint: never read
    assert reader.seen == ["B"]
    assert [p for p, _, _ in log.read_after(0)] == [1, 2]  # though both are committed


def test_counter_positions_make_a_second_append_wait_so_no_reader_skips(
    make_postgres: Callable[[], Any],
) -> None:
    log = CounterPositions(make_postgres())
    reader = Reader(log)

    a = log.begin_append("order-A", "A")
    with pytest.raises(MustWaitError, match="another append holds the position counter"):
        log.begin_append("order-B", "B", lock_timeout=0.05)  # cannot take a position yet
    assert reader.catch_up() == []
    a.commit()
    b = log.begin_append("order-B", "B", lock_timeout=5)
    b.commit()

    assert (a.position, b.position) == (1, 2)
    assert reader.catch_up() == [1, 2]
    assert reader.seen == ["A", "B"]
