"""The in-memory event store: streams with optimistic concurrency, one gapless global log."""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from conftest import Noted

from cqrs_lab.clock import DEFAULT_START, ManualClock
from cqrs_lab.codec import EncodedEvent
from cqrs_lab.errors import (
    ConcurrencyError,
    InvalidArgumentError,
    SubscriberError,
    UnknownEventTypeError,
    UpcastError,
)
from cqrs_lab.event_store import ANY_VERSION, NO_STREAM, EventStore, InMemoryEventStore, Receipt
from cqrs_lab.messages import Command, CommandEnvelope, Event, Metadata, RecordedEvent
from cqrs_lab.upcasting import EventRegistry


def notes(*texts: str) -> list[Event]:
    return [Noted(text=text) for text in texts]


def snapshot(store: InMemoryEventStore) -> tuple[int, list[RecordedEvent], list[str]]:
    """Everything an append could change: head, the whole log, the streams."""
    return store.head, store.read_all(), store.stream_ids()


def texts(records: list[RecordedEvent]) -> list[str]:
    return [record.event.text for record in records]  # type: ignore[attr-defined]


# --- append and read ---------------------------------------------------------------------------


def test_the_in_memory_store_satisfies_the_event_store_protocol(store: InMemoryEventStore) -> None:
    assert isinstance(store, EventStore)


def test_an_empty_store_has_head_zero_and_nothing_to_read(store: InMemoryEventStore) -> None:
    assert store.head == 0
    assert len(store) == 0
    assert store.read_all() == []
    assert store.read_stream("note-1") == []
    assert store.stream_version("note-1") == 0


def test_append_returns_a_receipt_with_the_stream_version_and_global_position(
    store: InMemoryEventStore,
) -> None:
    first = store.append("note-1", notes("a", "b"), expected_version=NO_STREAM)
    second = store.append("note-2", notes("c"), expected_version=NO_STREAM)

    assert first == Receipt(stream_id="note-1", stream_version=2, position=2, command_id="")
    assert second == Receipt(stream_id="note-2", stream_version=1, position=3, command_id="")


def test_the_receipt_carries_the_causing_command_id(store: InMemoryEventStore) -> None:
    receipt = store.append("note-1", notes("a"), metadata=Metadata("req-1", "cmd-9"))

    assert receipt.command_id == "cmd-9"


def test_read_stream_returns_the_stream_in_version_order_with_its_envelope(
    store: InMemoryEventStore,
) -> None:
    metadata = Metadata(correlation_id="req-1", causation_id="cmd-1")
    store.append("note-1", notes("a", "b"), expected_version=NO_STREAM, metadata=metadata)

    first, second = store.read_stream("note-1")

    assert first == RecordedEvent(
        position=1,
        stream_id="note-1",
        stream_version=1,
        recorded_at=DEFAULT_START,
        event_type="Noted",
        schema_version=1,
        event=Noted(text="a"),
        correlation_id="req-1",
        causation_id="cmd-1",
    )
    assert first.metadata == second.metadata == metadata
    assert (second.position, second.stream_version, second.event) == (2, 2, Noted(text="b"))
    assert second.recorded_at == DEFAULT_START  # one append, one time


def test_records_receipts_and_metadata_built_by_the_kit_are_complete_frozen_envelopes(
    store: InMemoryEventStore,
) -> None:
    cause = CommandEnvelope(
        command=Command(), command_id="cmd-1", correlation_id="cmd-1", issued_at=DEFAULT_START
    )
    metadata = Metadata.caused_by(cause)
    receipt = store.append("note-1", notes("a"), cause=cause)
    (record,) = store.read_stream("note-1")
    built: list[tuple[Any, type[Any]]] = [
        (metadata, Metadata),
        (receipt, Receipt),
        (record, RecordedEvent),
    ]

    for envelope, cls in built:
        names = _field_names(cls)
        assert type(envelope) is cls
        assert all(hasattr(envelope, name) for name in names)
        assert envelope == cls(**{name: getattr(envelope, name) for name in names})
        with pytest.raises(AttributeError):  # a frozen dataclass's error is one too
            setattr(envelope, names[0], "changed")
    assert receipt == Receipt("note-1", 1, 1, "cmd-1")
    assert record.metadata == metadata


def _field_names(cls: type[Any]) -> list[str]:
    """A dataclass's fields, or a NamedTuple's."""
    if dataclasses.is_dataclass(cls):
        return [f.name for f in dataclasses.fields(cls)]
    return list(cls._fields)


def test_events_appended_without_metadata_have_empty_metadata(store: InMemoryEventStore) -> None:
    store.append("note-1", notes("a"))

    (record,) = store.read_stream("note-1")

    assert (record.correlation_id, record.causation_id) == ("", "")


def test_each_append_is_stamped_with_the_clock_time(store: InMemoryEventStore) -> None:
    store.append("note-1", notes("a"))
    store.append("note-1", notes("b"))

    assert [r.recorded_at for r in store.read_all()] == [
        DEFAULT_START,
        DEFAULT_START + timedelta(seconds=1),
    ]


def test_read_stream_from_a_version_is_inclusive(store: InMemoryEventStore) -> None:
    store.append("note-1", notes("a", "b", "c"))

    assert texts(store.read_stream("note-1", from_version=2)) == ["b", "c"]
    assert store.read_stream("note-1", from_version=4) == []


def test_positions_are_global_gapless_and_start_at_one(store: InMemoryEventStore) -> None:
    for index in range(10):
        store.append(f"note-{index % 3}", notes(f"n{index}", f"m{index}"))

    records = store.read_all()

    assert [r.position for r in records] == list(range(1, 21))
    assert store.head == 20
    for stream_id in store.stream_ids():
        versions = [r.stream_version for r in store.read_stream(stream_id)]
        assert versions == list(range(1, store.stream_version(stream_id) + 1))


def test_read_all_returns_only_events_after_the_given_position(store: InMemoryEventStore) -> None:
    store.append("note-1", notes("a", "b", "c", "d"))

    assert [r.position for r in store.read_all(after_position=2)] == [3, 4]
    assert store.read_all(after_position=4) == []
    assert store.read_all(after_position=99) == []


def test_read_all_with_a_limit_pages_through_the_log_exactly_once(
    store: InMemoryEventStore,
) -> None:
    for index in range(25):
        store.append(f"note-{index % 4}", notes(f"n{index}"))

    pages: list[list[int]] = []
    position = 0
    while page := store.read_all(after_position=position, limit=10):
        pages.append([r.position for r in page])
        position = page[-1].position

    assert [len(page) for page in pages] == [10, 10, 5]
    assert [p for page in pages for p in page] == list(range(1, 26))


def test_stream_ids_are_sorted_and_stream_version_counts_events(store: InMemoryEventStore) -> None:
    store.append("b", notes("1", "2"))
    store.append("a", notes("3"))

    assert store.stream_ids() == ["a", "b"]
    assert (store.stream_version("a"), store.stream_version("b")) == (1, 2)


class SliceSpy(list[RecordedEvent]):
    """The store's log, recording every index or slice asked of it and every full iteration."""

    def __init__(self, records: list[RecordedEvent]) -> None:
        super().__init__(records)
        self.requests: list[Any] = []
        self.iterations = 0

    def __getitem__(self, key: Any) -> Any:
        self.requests.append(key)
        return super().__getitem__(key)

    def __iter__(self) -> Any:
        self.iterations += 1
        return super().__iter__()


def test_read_all_takes_one_slice_of_the_log_and_never_walks_the_rest(
    store: InMemoryEventStore,
) -> None:
    # Structural, not timed: the page is cut straight out of the log, so the work done is
    # proportional to the limit whatever the size of the store.
    for index in range(1_000):
        store.append(f"note-{index % 7}", notes(f"n{index}"))
    spy = SliceSpy(store._log)
    store._log = spy

    page = store.read_all(after_position=500, limit=10)

    assert [r.position for r in page] == list(range(501, 511))
    assert [r.event for r in page] == notes(*(f"n{index}" for index in range(500, 510)))
    assert spy.requests == [slice(500, 510, None)]
    assert spy.iterations == 0


def test_read_all_decodes_only_the_page_it_returns() -> None:
    registry = EventRegistry([NotedV2])
    decoded: list[str] = []

    @registry.upcaster("Noted", from_version=1)
    def add_author(data: dict[str, Any]) -> dict[str, Any]:
        decoded.append(data["text"])
        return {**data, "author": "unknown"}

    store = InMemoryEventStore(clock=ManualClock(), registry=registry)
    for index in range(1_000):
        store.append_encoded(f"note-{index % 7}", [EncodedEvent("Noted", 1, {"text": f"n{index}"})])

    page = store.read_all(after_position=500, limit=10)

    assert len(page) == 10
    assert decoded == [f"n{index}" for index in range(500, 510)]


# --- expected versions -------------------------------------------------------------------------


def test_no_stream_accepts_a_new_stream_and_refuses_an_existing_one(
    store: InMemoryEventStore,
) -> None:
    store.append("note-1", notes("a"), expected_version=NO_STREAM)
    before = snapshot(store)

    with pytest.raises(ConcurrencyError) as caught:
        store.append("note-1", notes("b"), expected_version=NO_STREAM)

    assert (caught.value.stream_id, caught.value.expected, caught.value.actual) == ("note-1", 0, 1)
    assert "expected version 0 (NO_STREAM), found version 1" in str(caught.value)
    assert snapshot(store) == before


def test_an_explicit_version_must_match_the_stream_version(store: InMemoryEventStore) -> None:
    store.append("note-1", notes("a", "b"), expected_version=NO_STREAM)

    receipt = store.append("note-1", notes("c"), expected_version=2)

    assert receipt.stream_version == 3


def test_a_stale_version_is_a_concurrency_error_that_leaves_the_store_unchanged(
    store: InMemoryEventStore,
) -> None:
    store.append("note-1", notes("a", "b", "c"))
    store.append("note-2", notes("x"))
    before = snapshot(store)

    with pytest.raises(ConcurrencyError) as caught:
        store.append("note-1", notes("late", "later"), expected_version=2)

    assert (caught.value.expected, caught.value.actual) == (2, 3)
    assert str(caught.value) == (
        "stream 'note-1': expected version 2, found version 3; reload the stream and decide again"
    )
    assert snapshot(store) == before
    assert store.stream_version("note-1") == 3


def test_an_expected_version_for_a_missing_stream_is_a_concurrency_error(
    store: InMemoryEventStore,
) -> None:
    with pytest.raises(ConcurrencyError) as caught:
        store.append("note-1", notes("a"), expected_version=1)

    assert (caught.value.expected, caught.value.actual) == (1, 0)
    assert store.head == 0
    assert store.stream_ids() == []


def test_any_version_appends_whatever_the_stream_version(store: InMemoryEventStore) -> None:
    store.append("note-1", notes("a"), expected_version=ANY_VERSION)
    receipt = store.append("note-1", notes("b", "c"), expected_version=ANY_VERSION)

    assert (receipt.stream_version, receipt.position) == (3, 3)


def test_any_version_is_the_default(store: InMemoryEventStore) -> None:
    store.append("note-1", notes("a"))

    assert store.append("note-1", notes("b")).stream_version == 2


# --- bad arguments -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stream_id", "events", "expected_version", "message"),
    [
        ("", notes("a"), ANY_VERSION, "stream_id must be a non-empty string, found ''"),
        (None, notes("a"), ANY_VERSION, "stream_id must be a non-empty string, found None"),
        ("note-1", [], ANY_VERSION, "append to 'note-1' needs at least one event, found none"),
        ("note-1", notes("a"), -2, "expected_version must be ANY_VERSION .* found -2"),
        ("note-1", [Noted(text="a"), "b"], ANY_VERSION, "takes Event instances, found str"),
    ],
)
def test_a_malformed_append_is_refused_before_anything_is_written(
    store: InMemoryEventStore,
    stream_id: Any,
    events: list[Any],
    expected_version: int,
    message: str,
) -> None:
    store.append("note-0", notes("existing"))
    before = snapshot(store)

    with pytest.raises(InvalidArgumentError, match=message) as caught:
        store.append(stream_id, events, expected_version)

    assert isinstance(caught.value, ValueError)
    assert snapshot(store) == before


@pytest.mark.parametrize(
    ("after_position", "limit", "message"),
    [
        (-1, None, "after_position must be >= 0, found -1"),
        (0, 0, "limit must be >= 1 or None, found 0"),
        (0, -5, "limit must be >= 1 or None, found -5"),
    ],
)
def test_a_malformed_read_all_is_refused(
    store: InMemoryEventStore, after_position: int, limit: int | None, message: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=message) as caught:
        store.read_all(after_position, limit)

    assert isinstance(caught.value, ValueError)


def test_read_stream_from_version_zero_is_refused(store: InMemoryEventStore) -> None:
    with pytest.raises(InvalidArgumentError, match="from_version must be >= 1, found 0"):
        store.read_stream("note-1", from_version=0)


# --- subscribers -------------------------------------------------------------------------------


def test_subscribers_are_told_the_new_head_after_each_append(store: InMemoryEventStore) -> None:
    heads: list[int] = []
    store.subscribe(heads.append)

    store.append("note-1", notes("a", "b"))
    store.append("note-2", notes("c"))

    assert heads == [2, 3]


def test_a_subscriber_can_read_the_append_it_is_told_about() -> None:
    # Subscribers run after the store's lock is released: reading from one must not deadlock.
    store = InMemoryEventStore(clock=ManualClock())
    seen: list[list[str]] = []
    store.subscribe(lambda head: seen.append(texts(store.read_all(after_position=head - 1))))

    worker = threading.Thread(target=store.append, args=("note-1", notes("a")), daemon=True)
    worker.start()
    worker.join(timeout=10)

    assert not worker.is_alive(), "append deadlocked: the subscriber ran under the store's lock"
    assert seen == [["a"]]


def test_unsubscribe_stops_notifications(store: InMemoryEventStore) -> None:
    kept: list[int] = []
    dropped: list[int] = []
    store.subscribe(kept.append)
    unsubscribe = store.subscribe(dropped.append)
    store.append("note-1", notes("a"))

    unsubscribe()
    unsubscribe()  # a second call is harmless
    store.append("note-1", notes("b"))

    assert kept == [1, 2]
    assert dropped == [1]


def test_a_failing_subscriber_is_reported_after_the_append_is_committed_and_the_others_told(
    store: InMemoryEventStore,
) -> None:
    before_failure: list[int] = []
    after_failure: list[int] = []
    boom = RuntimeError("projection down")

    def failing(head: int) -> None:
        raise boom

    store.subscribe(before_failure.append)
    store.subscribe(failing)
    store.subscribe(after_failure.append)

    with pytest.raises(SubscriberError, match="after the append up to position 1 was committed"):
        store.append("note-1", notes("a"))

    assert store.head == 1
    assert texts(store.read_stream("note-1")) == ["a"]
    assert before_failure == [1]
    assert after_failure == [1]


def test_a_subscriber_error_chains_the_first_failure_and_is_a_runtime_error(
    store: InMemoryEventStore,
) -> None:
    boom = KeyError("view row")

    def failing(head: int) -> None:
        raise boom

    store.subscribe(failing)

    with pytest.raises(SubscriberError) as caught:
        store.append("note-1", notes("a"))

    assert caught.value.__cause__ is boom
    assert isinstance(caught.value, RuntimeError)


# --- encoded events and upcasting on read ------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class NotedV2(Event):
    """Noted at schema v2: v1 had only ``text``."""

    type_name = "Noted"
    schema_version = 2
    text: str
    author: str


def test_encoded_events_are_upcast_on_every_read() -> None:
    registry = EventRegistry([NotedV2])
    registry.add_upcaster("Noted", 1, lambda data: {**data, "author": "unknown"})
    store = InMemoryEventStore(clock=ManualClock(), registry=registry)

    store.append_encoded(
        "note-1",
        [
            EncodedEvent("Noted", 1, {"text": "old"}),
            EncodedEvent("Noted", 2, {"text": "new", "author": "ada"}),
        ],
        expected_version=NO_STREAM,
        metadata=Metadata("req-1", "import-1"),
    )
    store.append("note-1", [NotedV2(text="newest", author="bob")], expected_version=2)

    records = store.read_stream("note-1")

    assert [r.event for r in records] == [
        NotedV2(text="old", author="unknown"),
        NotedV2(text="new", author="ada"),
        NotedV2(text="newest", author="bob"),
    ]
    assert [r.schema_version for r in records] == [1, 2, 2]
    assert [r.event_type for r in records] == ["Noted"] * 3
    assert records[0].causation_id == "import-1"
    assert store.read_all() == records


def test_an_upcaster_registered_after_the_append_applies_to_stored_events() -> None:
    registry = EventRegistry([NotedV2])
    store = InMemoryEventStore(clock=ManualClock(), registry=registry)
    store.append_encoded("note-1", [EncodedEvent("Noted", 1, {"text": "old"})])

    with pytest.raises(UpcastError, match="no upcaster from v1 to v2"):
        store.read_all()

    registry.add_upcaster("Noted", 1, lambda data: {**data, "author": "unknown"})

    assert [r.event for r in store.read_all()] == [NotedV2(text="old", author="unknown")]


def test_an_encoded_event_of_an_unknown_type_is_refused_at_append(
    store: InMemoryEventStore,
) -> None:
    store.append("note-0", notes("existing"))
    before = snapshot(store)

    with pytest.raises(UnknownEventTypeError, match="unknown event type 'Mystery'"):
        store.append_encoded(
            "note-1", [EncodedEvent("Noted", 1, {"text": "ok"}), EncodedEvent("Mystery", 1, {})]
        )

    assert snapshot(store) == before


def test_append_encoded_takes_only_encoded_events(store: InMemoryEventStore) -> None:
    with pytest.raises(InvalidArgumentError, match="expected EncodedEvent, found Noted"):
        store.append_encoded("note-1", notes("a"))  # type: ignore[arg-type]

    assert store.head == 0


def test_append_encoded_checks_the_expected_version(store: InMemoryEventStore) -> None:
    store.append("note-1", notes("a"))

    with pytest.raises(ConcurrencyError):
        store.append_encoded("note-1", [EncodedEvent("Noted", 1, {"text": "b"})], NO_STREAM)

    assert store.head == 1


# --- tables ------------------------------------------------------------------------------------


def test_to_dataframe_has_one_row_per_event_indexed_by_position(store: InMemoryEventStore) -> None:
    store.append("note-1", notes("a", "b"), metadata=Metadata("req-1", "cmd-1"))
    store.append("note-2", notes("c"))

    frame = store.to_dataframe()

    assert frame.index.name == "position"
    assert list(frame.index) == [1, 2, 3]
    assert list(frame.columns) == [
        "stream_id",
        "version",
        "event_type",
        "schema",
        "recorded_at",
        "causation_id",
        "data",
    ]
    assert list(frame["stream_id"]) == ["note-1", "note-1", "note-2"]
    assert list(frame["version"]) == [1, 2, 1]
    assert list(frame["causation_id"]) == ["cmd-1", "cmd-1", ""]
    assert frame.loc[3, "data"] == {"text": "c"}


def test_to_dataframe_pages_like_read_all(store: InMemoryEventStore) -> None:
    store.append("note-1", notes("a", "b", "c", "d"))

    frame = store.to_dataframe(after_position=1, limit=2)

    assert list(frame.index) == [2, 3]


def test_to_dataframe_of_an_empty_store_still_has_the_columns(store: InMemoryEventStore) -> None:
    frame = store.to_dataframe()

    assert len(frame) == 0
    assert "event_type" in frame.columns
    assert frame.index.name == "position"


def test_repr_shows_head_and_stream_count(store: InMemoryEventStore) -> None:
    store.append("note-1", notes("a", "b"))
    store.append("note-2", notes("c"))

    assert repr(store) == "InMemoryEventStore(head=3, streams=2)"
