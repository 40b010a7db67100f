"""Aggregates record events; the repository replays them and saves with the loaded version."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from conftest import Noted

from cqrs_lab.aggregate import Aggregate, Repository
from cqrs_lab.clock import DEFAULT_START, ManualClock
from cqrs_lab.errors import AggregateNotFoundError, ConcurrencyError
from cqrs_lab.event_store import InMemoryEventStore
from cqrs_lab.messages import Command, CommandEnvelope, Event, RecordedEvent


class Notebook(Aggregate):
    """A test aggregate: the notes written so far."""

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.lines: list[str] = []

    def write(self, text: str) -> None:
        self.record(Noted(text=text))

    def apply(self, event: Event) -> None:
        assert isinstance(event, Noted)
        self.lines.append(event.text)


@dataclass(frozen=True, kw_only=True)
class WriteNote(Command):
    text: str


@pytest.fixture
def notebooks(store: InMemoryEventStore) -> Repository[Notebook]:
    return Repository(store, Notebook)


def test_recording_applies_the_event_at_once_and_keeps_it_pending() -> None:
    book = Notebook("book-1")

    book.write("a")
    book.write("b")

    assert book.lines == ["a", "b"]
    assert book.pending_events == (Noted(text="a"), Noted(text="b"))
    assert book.version == 0


def test_pending_events_is_a_snapshot_callers_cannot_change() -> None:
    book = Notebook("book-1")
    book.write("a")

    pending = book.pending_events
    book.write("b")

    assert pending == (Noted(text="a"),)


def test_saving_a_new_aggregate_creates_its_stream_and_clears_pending(
    notebooks: Repository[Notebook], store: InMemoryEventStore
) -> None:
    book = Notebook("book-1")
    book.write("a")
    book.write("b")

    receipt = notebooks.save(book)

    assert (receipt.stream_id, receipt.stream_version, receipt.position) == ("book-1", 2, 2)
    assert book.version == 2
    assert book.pending_events == ()
    assert [r.event for r in store.read_stream("book-1")] == [Noted(text="a"), Noted(text="b")]


def test_saving_a_new_aggregate_whose_id_is_taken_is_a_concurrency_error(
    notebooks: Repository[Notebook], store: InMemoryEventStore
) -> None:
    first = Notebook("book-1")
    first.write("a")
    notebooks.save(first)
    second = Notebook("book-1")
    second.write("b")

    with pytest.raises(ConcurrencyError) as caught:
        notebooks.save(second)

    assert (caught.value.expected, caught.value.actual) == (0, 1)
    assert store.head == 1


def test_load_replays_the_stream_and_takes_its_version(
    notebooks: Repository[Notebook],
) -> None:
    book = Notebook("book-1")
    book.write("a")
    notebooks.save(book)
    book.write("b")
    notebooks.save(book)

    loaded = notebooks.load("book-1")

    assert loaded.lines == ["a", "b"]
    assert loaded.version == 2
    assert loaded.pending_events == ()


def test_loading_a_missing_aggregate_is_an_aggregate_not_found_error(
    notebooks: Repository[Notebook],
) -> None:
    with pytest.raises(AggregateNotFoundError, match="no stream 'book-9' in the store") as caught:
        notebooks.load("book-9")

    assert isinstance(caught.value, LookupError)


def test_a_repository_raises_the_domain_s_own_error_for_a_missing_aggregate(
    store: InMemoryEventStore,
) -> None:
    class NoSuchNotebookError(LookupError):
        pass

    notebooks = Repository(
        store, Notebook, not_found=lambda book_id: NoSuchNotebookError(f"no notebook {book_id}")
    )

    with pytest.raises(NoSuchNotebookError, match="no notebook book-9"):
        notebooks.load("book-9")


def test_a_stale_aggregate_cannot_save_over_a_newer_stream(
    notebooks: Repository[Notebook], store: InMemoryEventStore
) -> None:
    book = Notebook("book-1")
    book.write("a")
    notebooks.save(book)
    fresh, stale = notebooks.load("book-1"), notebooks.load("book-1")
    fresh.write("from fresh")
    notebooks.save(fresh)
    before = store.read_all()
    stale.write("from stale")

    with pytest.raises(ConcurrencyError) as caught:
        notebooks.save(stale)

    assert (caught.value.expected, caught.value.actual) == (1, 2)
    assert store.read_all() == before
    assert stale.pending_events == (Noted(text="from stale"),)  # not lost: reload and decide again
    assert stale.version == 1


def test_saving_with_a_cause_gives_the_events_its_causation_and_correlation(
    notebooks: Repository[Notebook], store: InMemoryEventStore
) -> None:
    book = Notebook("book-1")
    book.write("a")
    envelope = CommandEnvelope(
        command=WriteNote(text="a"),
        command_id="cmd-1",
        correlation_id="req-1",
        issued_at=DEFAULT_START,
    )

    receipt = notebooks.save(book, cause=envelope)

    (record,) = store.read_stream("book-1")
    assert (record.causation_id, record.correlation_id) == ("cmd-1", "req-1")
    assert receipt.command_id == "cmd-1"


def test_load_reads_the_stream_through_read_stream() -> None:
    # any EventStore will do: load needs nothing but read_stream
    reads: list[str] = []

    class Counting(InMemoryEventStore):
        def read_stream(self, stream_id: str, from_version: int = 1) -> list[RecordedEvent]:
            reads.append(stream_id)
            return super().read_stream(stream_id, from_version)

    counting = Counting(clock=ManualClock())
    notebooks = Repository(counting, Notebook)
    book = Notebook("book-1")
    book.write("a")
    notebooks.save(book)
    counting.append("other", [Noted(text="elsewhere")])
    counting.append("book-1", [Noted(text="b")], expected_version=1)

    loaded = notebooks.load("book-1")

    assert reads == ["book-1"]
    assert (loaded.lines, loaded.version) == (["a", "b"], 2)


def test_an_aggregate_without_apply_says_what_to_implement() -> None:
    class Bare(Aggregate):
        pass

    with pytest.raises(NotImplementedError, match="Bare must implement apply"):
        Bare("bare-1").record(Noted(text="a"))
