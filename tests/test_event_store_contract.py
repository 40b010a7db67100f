"""One contract, every event store: in memory, SQLite and PostgreSQL must not drift apart.

Each test runs once per store. A store is built by a factory that takes the registry and the clock,
so every test can control both.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cqrs_lab.adapters.sqlite_store import SqliteEventStore
from cqrs_lab.clock import DEFAULT_START, ManualClock
from cqrs_lab.codec import EncodedEvent
from cqrs_lab.errors import (
    ConcurrencyError,
    InvalidArgumentError,
    SubscriberError,
    UnknownEventTypeError,
)
from cqrs_lab.event_store import ANY_VERSION, NO_STREAM, EventStore, InMemoryEventStore, Receipt
from cqrs_lab.examples.orders.commands import OrderLine
from cqrs_lab.examples.orders.events import OrderCreated, order_event_registry
from cqrs_lab.messages import Command, CommandEnvelope, Event, Metadata, RecordedEvent
from cqrs_lab.upcasting import EventRegistry


@dataclass(frozen=True, kw_only=True)
class Noted(Event):
    text: str


@dataclass(frozen=True, kw_only=True)
class Priced(Event):
    schema_version = 2
    item: str
    cents: int


StoreFactory = Callable[..., Any]


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Builds a store of the parametrized kind: ``make_store(registry=..., clock=...)``.

    Each PostgreSQL store gets a new schema of the module's database (skipped without a server).
    """
    opened: list[Any] = []
    postgres = request.param == "postgres"
    make_postgres = request.getfixturevalue("make_postgres") if postgres else None

    def factory(registry: EventRegistry | None = None, clock: ManualClock | None = None) -> Any:
        clock = clock or ManualClock(step=1.0)
        registry = registry or EventRegistry([Noted])
        if request.param == "memory":
            return InMemoryEventStore(clock=clock, registry=registry)
        if make_postgres is not None:
            from cqrs_lab.adapters.postgres_store import PostgresEventStore

            return PostgresEventStore(make_postgres(), registry, clock)
        store = SqliteEventStore(tmp_path / f"events-{len(opened)}.sqlite3", registry, clock)
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()


@pytest.fixture
def store(make_store: StoreFactory) -> Any:
    return make_store()


def notes(*texts: str) -> list[Event]:
    return [Noted(text=t) for t in texts]


def texts(records: list[RecordedEvent]) -> list[str]:
    return [r.event.text for r in records]  # type: ignore[attr-defined]


def assert_gapless(store: EventStore) -> None:
    """Positions run 1..head; each stream's versions run 1..n in position order."""
    records = store.read_all()
    assert [r.position for r in records] == list(range(1, store.head + 1))
    versions: dict[str, list[int]] = {}
    for record in records:
        versions.setdefault(record.stream_id, []).append(record.stream_version)
    for stream_id, seen in versions.items():
        assert seen == list(range(1, len(seen) + 1)), stream_id
        assert store.stream_version(stream_id) == len(seen)


def test_the_store_satisfies_the_protocol(store: Any) -> None:
    assert isinstance(store, EventStore)


def test_an_empty_store_has_head_zero_and_nothing_to_read(store: Any) -> None:
    assert store.head == 0
    assert store.read_all() == []
    assert store.read_stream("nope") == []
    assert store.stream_version("nope") == 0
    assert store.stream_ids() == []


def test_append_returns_a_receipt_and_records_the_envelope(make_store: StoreFactory) -> None:
    clock = ManualClock(step=1.0)
    store = make_store(clock=clock)
    metadata = Metadata(correlation_id="corr-1", causation_id="cmd-1")

    first = store.append("a", notes("one", "two"), NO_STREAM, metadata=metadata)
    second = store.append("b", notes("three"), NO_STREAM)

    assert first == Receipt("a", 2, 2, "cmd-1")
    assert second == Receipt("b", 1, 3, "")
    records = store.read_all()
    assert [(r.position, r.stream_id, r.stream_version) for r in records] == [
        (1, "a", 1),
        (2, "a", 2),
        (3, "b", 1),
    ]
    assert [r.recorded_at for r in records] == [
        DEFAULT_START,
        DEFAULT_START,
        DEFAULT_START + timedelta(seconds=1),
    ]
    assert records[0].event == Noted(text="one")
    assert (records[0].event_type, records[0].schema_version) == ("Noted", 1)
    assert records[1].metadata == metadata
    assert records[2].metadata == Metadata()
    assert store.stream_ids() == ["a", "b"]


@dataclass(frozen=True, kw_only=True)
class Write(Command):
    text: str


def envelope(command: Command, command_id: str, correlation_id: str = "") -> Any:
    """``command`` as the command bus would hand it to its handler."""
    return CommandEnvelope(
        command=command,
        command_id=command_id,
        correlation_id=correlation_id or command_id,
        issued_at=DEFAULT_START,
    )


def test_a_cause_gives_the_events_the_ids_caused_by_would(store: Any) -> None:
    correlated = envelope(Write(text="x"), "cmd-7", correlation_id="conv-1")
    uncorrelated = envelope(Write(text="y"), "cmd-8")

    receipt = store.append("a", notes("one", "two"), NO_STREAM, cause=correlated)
    store.append("b", notes("three"), NO_STREAM, cause=uncorrelated)

    assert receipt.command_id == "cmd-7"
    records = store.read_all()
    assert [r.metadata for r in records[:2]] == [Metadata.caused_by(correlated)] * 2
    assert records[0].metadata == Metadata(correlation_id="conv-1", causation_id="cmd-7")
    assert records[2].metadata == Metadata(correlation_id="cmd-8", causation_id="cmd-8")


def test_an_append_with_both_metadata_and_cause_or_either_of_the_wrong_type_writes_nothing(
    store: Any,
) -> None:
    cause = envelope(Write(text="x"), "cmd-1")
    with pytest.raises(InvalidArgumentError, match="metadata= or cause=, not both"):
        store.append("a", notes("x"), metadata=Metadata("c", "cmd-1"), cause=cause)
    with pytest.raises(
        InvalidArgumentError,
        match="cause must be the CommandEnvelope a handler received, found str",
    ):
        store.append("a", notes("x"), cause="cmd-1")
    with pytest.raises(
        InvalidArgumentError, match=r"cause must be the CommandEnvelope .*found Write"
    ):
        store.append("a", notes("x"), cause=Write(text="x"))  # the command, not its envelope
    with pytest.raises(InvalidArgumentError, match="metadata must be a Metadata, found dict"):
        store.append("a", notes("x"), metadata={"correlation_id": "c"})
    with pytest.raises(InvalidArgumentError, match="takes Event instances, found str"):
        store.append("a", ["not an event"], cause="cmd-1")  # the events are checked first
    with pytest.raises(
        InvalidArgumentError, match=r"cause must be the CommandEnvelope .*found Noted"
    ):
        store.append_encoded("a", [EncodedEvent("Noted", 1, {"text": "x"})], cause=Noted(text="x"))
    assert store.head == 0
    assert store.stream_ids() == []


def test_nested_events_come_back_equal(make_store: StoreFactory) -> None:
    store = make_store(registry=order_event_registry())
    created = OrderCreated(
        order_id="o-1",
        customer_id="c-1",
        items=(OrderLine(product_id="tea", quantity=2, price=3.5),),
    )
    store.append("o-1", [created], NO_STREAM)

    (record,) = store.read_stream("o-1")

    assert record.event == created
    assert type(record.event.items[0]) is OrderLine


def test_read_all_is_exclusive_of_after_position_and_honours_limit(store: Any) -> None:
    store.append("a", notes("1", "2", "3"), NO_STREAM)
    store.append("b", notes("4", "5"), NO_STREAM)

    assert texts(store.read_all(after_position=2)) == ["3", "4", "5"]
    assert texts(store.read_all(after_position=2, limit=2)) == ["3", "4"]
    assert texts(store.read_all(after_position=4, limit=10)) == ["5"]
    assert store.read_all(after_position=5) == []
    assert store.read_all(after_position=99) == []
    assert [r.position for r in store.read_all(limit=1)] == [1]


def test_a_reader_passing_its_last_position_reads_each_event_once(store: Any) -> None:
    for i in range(7):
        store.append(f"s{i % 3}", notes(str(i)), ANY_VERSION)
    seen: list[str] = []
    last = 0
    while batch := store.read_all(after_position=last, limit=3):
        seen.extend(texts(batch))
        last = batch[-1].position
    assert seen == [str(i) for i in range(7)]


def test_malformed_reads_are_rejected(store: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="after_position must be >= 0, found -1"):
        store.read_all(after_position=-1)
    with pytest.raises(InvalidArgumentError, match="limit must be >= 1 or None, found 0"):
        store.read_all(limit=0)
    with pytest.raises(InvalidArgumentError, match="from_version must be >= 1, found 0"):
        store.read_stream("a", from_version=0)


def test_read_stream_starts_at_from_version(store: Any) -> None:
    store.append("a", notes("1", "2", "3"), NO_STREAM)
    store.append("b", notes("x"), NO_STREAM)
    assert texts(store.read_stream("a", from_version=2)) == ["2", "3"]
    assert store.read_stream("a", from_version=4) == []


def test_read_stream_gives_one_stream_of_an_interleaved_log_with_its_versions(
    store: Any,
) -> None:
    store.append("a", notes("1", "2"), NO_STREAM)
    store.append("b", notes("x"), NO_STREAM)  # interleaved: a stream is not a slice of the log
    store.append("a", notes("3"), 2)

    records = store.read_stream("a")

    assert texts(records) == ["1", "2", "3"]
    assert [(r.stream_version, r.position) for r in records] == [(1, 1), (2, 2), (3, 4)]
    assert store.stream_version("a") == records[-1].stream_version == 3
    assert store.read_stream("missing") == []


def test_expected_versions_are_enforced(store: Any) -> None:
    store.append("a", notes("1"), NO_STREAM)
    store.append("a", notes("2"), expected_version=1)
    store.append("a", notes("3"), ANY_VERSION)

    with pytest.raises(ConcurrencyError) as stale:
        store.append("a", notes("late"), expected_version=2)
    assert (stale.value.stream_id, stale.value.expected, stale.value.actual) == ("a", 2, 3)
    with pytest.raises(
        ConcurrencyError, match=r"expected version 0 \(NO_STREAM\), found version 3"
    ):
        store.append("a", notes("again"), NO_STREAM)
    with pytest.raises(ConcurrencyError, match="expected version 1, found version 0"):
        store.append("new", notes("x"), expected_version=1)
    assert store.stream_version("a") == 3


def test_a_concurrency_error_leaves_the_store_unchanged(store: Any) -> None:
    store.append("a", notes("1", "2"), NO_STREAM)
    store.append("b", notes("3"), NO_STREAM)
    before = store.read_all()

    with pytest.raises(ConcurrencyError):
        store.append("a", notes("x", "y", "z"), expected_version=1)

    assert store.head == 3
    assert store.read_all() == before
    assert store.stream_version("a") == 2
    # the rejected append took no position: the next one gets 4
    assert store.append("b", notes("4"), expected_version=1).position == 4
    assert_gapless(store)


def test_malformed_appends_are_rejected_and_write_nothing(store: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="stream_id must be a non-empty string"):
        store.append("", notes("x"))
    with pytest.raises(InvalidArgumentError, match="needs at least one event, found none"):
        store.append("a", [])
    with pytest.raises(InvalidArgumentError, match="found -2"):
        store.append("a", notes("x"), expected_version=-2)
    with pytest.raises(InvalidArgumentError, match="takes Event instances, found dict"):
        store.append("a", [Noted(text="ok"), {"text": "not an event"}])
    assert store.head == 0
    assert store.stream_ids() == []


def test_subscribers_hear_each_commit_after_it_is_readable(store: Any) -> None:
    heard: list[tuple[int, int]] = []

    def subscriber(head: int) -> None:
        heard.append((head, store.head))  # the store already shows the events

    unsubscribe = store.subscribe(subscriber)
    store.append("a", notes("1", "2"), NO_STREAM)
    store.append("b", notes("3"), NO_STREAM)
    with pytest.raises(ConcurrencyError):
        store.append("b", notes("no"), NO_STREAM)
    unsubscribe()
    store.append("b", notes("4"), 1)

    assert heard == [(2, 2), (3, 3)]


def test_a_failing_subscriber_does_not_undo_the_append_nor_silence_others(store: Any) -> None:
    heard: list[int] = []

    def broken(head: int) -> None:
        raise RuntimeError("boom")

    store.subscribe(broken)
    store.subscribe(heard.append)

    with pytest.raises(SubscriberError, match="1 subscriber"):
        store.append("a", notes("1"), NO_STREAM)

    assert heard == [1]
    assert texts(store.read_all()) == ["1"]


def test_positions_stay_gapless_across_streams_and_rejections(store: Any) -> None:
    versions = {f"s{n}": 0 for n in range(4)}
    for i in range(30):
        stream = f"s{i % 4}"
        if i % 5 == 4:  # every fifth append is stale and must be refused
            with pytest.raises(ConcurrencyError):
                store.append(stream, notes(str(i)), expected_version=versions[stream] + 7)
            continue
        receipt = store.append(stream, notes(str(i), "+"), expected_version=versions[stream])
        versions[stream] = receipt.stream_version
    assert store.head == 2 * 24
    assert sum(versions.values()) == store.head
    assert_gapless(store)


def test_concurrent_appends_from_threads_stay_consistent(store: Any) -> None:
    threads_count, appends_each = 6, 15
    wins = [0] * threads_count
    errors: list[BaseException] = []
    start = threading.Barrier(threads_count)

    def writer(index: int) -> None:
        try:
            start.wait()
            for i in range(appends_each):
                store.append(f"own-{index}", notes(f"{index}-{i}"), expected_version=i)
                # everyone races for the shared stream with the version it just read
                version = store.stream_version("shared")
                try:
                    store.append("shared", notes(f"{index}:{i}"), expected_version=version)
                    wins[index] += 1
                except ConcurrencyError:
                    pass
        except BaseException as error:  # reported below; a thread cannot fail the test itself
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert not any(thread.is_alive() for thread in threads)
    assert store.stream_version("shared") == sum(wins) >= appends_each
    assert store.head == threads_count * appends_each + sum(wins)
    for index in range(threads_count):
        assert texts(store.read_stream(f"own-{index}")) == [
            f"{index}-{i}" for i in range(appends_each)
        ]
    assert_gapless(store)


def test_old_schema_versions_are_upcast_on_read(make_store: StoreFactory) -> None:
    registry = EventRegistry([Priced])
    store = make_store(registry=registry)
    store.append_encoded(
        "p", [EncodedEvent("Priced", 1, {"item": "tea", "price": 2.5})], expected_version=0
    )
    store.append("p", [Priced(item="cup", cents=700)], expected_version=1)

    @registry.upcaster("Priced", from_version=1)
    def to_cents(data: dict[str, Any]) -> dict[str, Any]:
        return {"item": data["item"], "cents": round(data["price"] * 100)}

    records = store.read_stream("p")

    assert [r.event for r in records] == [
        Priced(item="tea", cents=250),
        Priced(item="cup", cents=700),
    ]
    assert [r.schema_version for r in records] == [1, 2]  # as stored; the event is current
    assert [r.event for r in store.read_all()] == [r.event for r in records]


def test_encoded_events_of_unknown_types_are_refused_at_append(store: Any) -> None:
    with pytest.raises(UnknownEventTypeError, match="unknown event type 'Ghost'"):
        store.append_encoded("g", [EncodedEvent("Ghost", 1, {})])
    with pytest.raises(InvalidArgumentError, match="expected EncodedEvent, found Noted"):
        store.append_encoded("g", [Noted(text="x")])
    assert store.head == 0


def test_the_log_as_a_dataframe(store: Any) -> None:
    store.append("a", notes("1", "2"), NO_STREAM, metadata=Metadata("c", "cmd"))
    frame = store.to_dataframe()
    assert list(frame.index) == [1, 2]
    assert list(frame["version"]) == [1, 2]
    assert frame.loc[2, "data"] == {"text": "2"}
    assert frame.loc[1, "causation_id"] == "cmd"
