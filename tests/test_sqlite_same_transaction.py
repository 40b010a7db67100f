"""Read models written in the append's transaction: at the head at once, or nothing written."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

import pytest

from cqrs_lab.adapters.sqlite_database import SqliteDatabase
from cqrs_lab.adapters.sqlite_read_model import SqliteReadModel
from cqrs_lab.adapters.sqlite_same_transaction import SameTransactionStore
from cqrs_lab.adapters.sqlite_store import SqliteEventStore
from cqrs_lab.clock import ManualClock
from cqrs_lab.command_bus import CommandBus
from cqrs_lab.errors import ConcurrencyError, InvalidArgumentError, ProjectionResultError
from cqrs_lab.event_store import NO_STREAM
from cqrs_lab.examples.orders import CreateOrder, GetOrderById, OrderLine
from cqrs_lab.examples.orders.events import order_event_registry
from cqrs_lab.examples.orders.handlers import OrderCommandHandlers
from cqrs_lab.examples.orders.sqlite_views import SqliteOrderViews, SqlOrderQueries
from cqrs_lab.examples.orders.views import OrderViewProjection
from cqrs_lab.ids import SequentialIds
from cqrs_lab.messages import Event, RecordedEvent
from cqrs_lab.projection import Changes, Projection, RowReader
from cqrs_lab.projector import Projector
from cqrs_lab.query_bus import QueryBus
from cqrs_lab.upcasting import EventRegistry


@dataclass(frozen=True, kw_only=True)
class Tagged(Event):
    tag: str


class TagCounts(Projection[int]):
    """Counts events per tag; raises on the tag "boom" (a bug, on purpose)."""

    name = "tag_counts"
    handles = frozenset({"Tagged"})

    def project(self, record: RecordedEvent, view: RowReader[int]) -> Changes:
        assert isinstance(record.event, Tagged)
        tag = record.event.tag
        if tag == "boom":
            raise KeyError(tag)
        return {tag: (view.get(tag) or 0) + 1}


class Counts(SqliteReadModel[int]):
    default_table = "tag_counts"
    key_column = "tag"
    columns = ("tag", "n")
    ddl = ("CREATE TABLE IF NOT EXISTS {table} (tag TEXT PRIMARY KEY, n INTEGER NOT NULL)",)

    def to_columns(self, key: str, row: int) -> tuple[Any, ...]:
        return (key, row)

    def from_columns(self, values: tuple[Any, ...]) -> int:
        return int(values[1])


def build() -> tuple[SameTransactionStore, Counts]:
    events = SqliteEventStore(":memory:", EventRegistry([Tagged]), ManualClock())
    counts = Counts(events.db)
    return SameTransactionStore(events, [(TagCounts(), counts)]), counts


def state(store: SameTransactionStore, counts: Counts) -> tuple[int, int, list[tuple[str, int]]]:
    return store.head, counts.checkpoint, list(counts.items())


def test_after_an_append_the_read_model_is_at_the_head_with_no_projector() -> None:
    store, counts = build()
    store.append("post-1", [Tagged(tag="cqrs"), Tagged(tag="sql")], NO_STREAM)
    receipt = store.append("post-2", [Tagged(tag="cqrs")], NO_STREAM)

    assert receipt.position == 3
    assert state(store, counts) == (3, 3, [("cqrs", 2), ("sql", 1)])


def test_a_projection_that_raises_rolls_the_whole_append_back() -> None:
    store, counts = build()
    store.append("post-1", [Tagged(tag="cqrs")], NO_STREAM)
    before = state(store, counts)

    with pytest.raises(KeyError) as raised:
        store.append("post-1", [Tagged(tag="sql"), Tagged(tag="boom")], expected_version=1)

    assert state(store, counts) == before  # no event, no row, no checkpoint moved
    assert store.stream_version("post-1") == 1
    assert "rolled back" in " ".join(raised.value.__notes__)
    # the refused append used up no position: the next one takes the very next
    assert store.append("post-1", [Tagged(tag="sql")], expected_version=1).position == 2


def test_a_projection_returning_no_changes_refuses_the_append() -> None:
    class Forgetful(TagCounts):
        name = "forgetful"

        def project(self, record: RecordedEvent, view: RowReader[int]) -> Changes:
            return None  # type: ignore[return-value]  # the bug under test

    events = SqliteEventStore(":memory:", EventRegistry([Tagged]), ManualClock())
    store = SameTransactionStore(events, [(Forgetful(), Counts(events.db, name="forgetful"))])

    with pytest.raises(ProjectionResultError):
        store.append("post-1", [Tagged(tag="cqrs")])
    assert store.head == 0


def test_a_concurrency_error_leaves_the_store_and_the_read_model_unchanged() -> None:
    store, counts = build()
    store.append("post-1", [Tagged(tag="cqrs")], NO_STREAM)
    before = state(store, counts)

    with pytest.raises(ConcurrencyError):
        store.append("post-1", [Tagged(tag="sql")], NO_STREAM)

    assert state(store, counts) == before


def test_views_behind_the_log_are_caught_up_when_the_store_is_built() -> None:
    events = SqliteEventStore(":memory:", EventRegistry([Tagged]), ManualClock())
    events.append("post-1", [Tagged(tag="cqrs"), Tagged(tag="cqrs")])
    counts = Counts(events.db)

    store = SameTransactionStore(events, [(TagCounts(), counts)])

    assert state(store, counts) == (2, 2, [("cqrs", 2)])


def test_an_append_made_around_it_is_caught_up_by_the_next_append() -> None:
    store, counts = build()
    store.store.append("post-1", [Tagged(tag="cqrs")])  # around it: the view misses this
    assert counts.checkpoint == 0

    store.append("post-2", [Tagged(tag="cqrs")])

    assert state(store, counts) == (2, 2, [("cqrs", 2)])


def test_a_read_model_on_another_connection_is_refused() -> None:
    events = SqliteEventStore(":memory:", EventRegistry([Tagged]), ManualClock())
    with pytest.raises(InvalidArgumentError, match="store's SqliteDatabase"):
        SameTransactionStore(events, [(TagCounts(), Counts(SqliteDatabase(":memory:")))])


def test_two_read_models_with_one_checkpoint_name_are_refused() -> None:
    events = SqliteEventStore(":memory:", EventRegistry([Tagged]), ManualClock())
    views = [
        (TagCounts(), Counts(events.db)),
        (TagCounts(), Counts(events.db, name="tag_counts", table="other")),
    ]
    with pytest.raises(InvalidArgumentError, match="named 'tag_counts'"):
        SameTransactionStore(events, views)


def test_subscribers_are_told_after_the_commit_so_a_projector_can_run_beside() -> None:
    store, _ = build()
    told: list[int] = []
    store.subscribe(told.append)
    beside = Projector(store, TagCounts())  # an asynchronous projector on the same log

    store.append("post-1", [Tagged(tag="cqrs")])

    assert told == [1]
    assert beside.checkpoint == 0  # it lags until it runs
    assert beside.catch_up() == 1
    assert beside.read_model.get("cqrs") == 1


def test_append_in_and_commit_in_need_an_open_transaction_on_their_own_database() -> None:
    events = SqliteEventStore(":memory:", EventRegistry([Tagged]), ManualClock())
    counts = Counts(events.db)
    stranger = sqlite3.connect(":memory:")
    with pytest.raises(InvalidArgumentError, match=r"open store\.db\.transaction"):
        events.append_in(events.db.connection, "post-1", [Tagged(tag="cqrs")])  # none open
    with pytest.raises(InvalidArgumentError, match=r"open model\.db\.transaction"):
        counts.commit_in(stranger, 1, {"cqrs": 1})
    assert (events.head, counts.checkpoint) == (0, 0)


def test_the_order_example_reads_its_own_write_at_once_with_no_projector() -> None:
    events = SqliteEventStore(":memory:", order_event_registry(), ManualClock())
    views = SqliteOrderViews(events.db)
    store = SameTransactionStore(events, [(OrderViewProjection(), views)])
    commands = CommandBus(clock=ManualClock(), ids=SequentialIds("cmd"))
    OrderCommandHandlers(store, SequentialIds("order")).register(commands)
    queries = QueryBus()
    SqlOrderQueries(lambda: views).register(queries)

    tea = (OrderLine(product_id="tea", quantity=2, price=3.5),)
    receipt = commands.dispatch(CreateOrder(customer_id="ada", items=tea))
    view = queries.dispatch(GetOrderById(order_id=receipt.stream_id))

    assert view is not None and (view.status, view.total_amount) == ("open", 7.0)
    assert views.checkpoint == receipt.position == 1
