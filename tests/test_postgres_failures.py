"""A projector's stop told across processes: the failures table, the remote checkpoint that reads
it, and the runner that writes it. Each test has a schema of its own; nothing sleeps: a test
waits on an event that a notification sets, with a deadline only against a hang."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from cqrs_lab.consistency import ConsistencyWaiter
from cqrs_lab.errors import ProjectionFailedError, ProjectorStoppedError
from cqrs_lab.event_store import InMemoryEventStore
from cqrs_lab.examples.orders.commands import CreateOrder, OrderLine
from cqrs_lab.examples.orders.events import OrderItemAdded

pytest.importorskip("psycopg", reason="the postgres extra is not installed")

from cqrs_lab.adapters.postgres_database import PostgresDatabase
from cqrs_lab.adapters.postgres_failures import (
    RemoteProjectorError,
    clear_failure,
    create_failures_table,
    read_failure,
    record_failure,
)
from cqrs_lab.adapters.postgres_listener import PostgresListener, RemoteCheckpoint
from cqrs_lab.examples.orders.postgres_app import (
    build_order_projector_runner,
    build_postgres_order_system,
)
from cqrs_lab.examples.orders.postgres_views import PostgresOrderViews

DEADLINE = 10.0  # only bounds a wait that would otherwise hang
TEA = OrderLine(product_id="tea", quantity=1, price=2.5)


@pytest.fixture
def db(make_postgres: Callable[[], PostgresDatabase]) -> PostgresDatabase:
    return make_postgres()


@pytest.fixture
def listener(db: PostgresDatabase) -> Iterator[PostgresListener]:
    listener = PostgresListener(db)
    yield listener
    listener.stop()


def test_a_recorded_failure_reads_back_until_it_is_cleared(db: PostgresDatabase) -> None:
    create_failures_table(db)
    assert read_failure(db, "order_views") is None

    record_failure(db, "order_views", 4, ValueError("no order 'order-9'"))
    failure = read_failure(db, "order_views")

    assert isinstance(failure, RemoteProjectorError)
    assert (failure.name, failure.checkpoint, failure.error) == (
        "order_views",
        4,
        "no order 'order-9'",
    )
    assert str(failure) == (
        "projector 'order_views' in another process stopped at checkpoint 4: no order 'order-9'"
    )
    assert failure.failed_at.tzinfo is not None
    assert read_failure(db, "other_views") is None
    assert clear_failure(db, "order_views") is True
    assert clear_failure(db, "order_views") is False
    assert read_failure(db, "order_views") is None


def test_a_second_failure_of_the_same_projector_replaces_the_first(db: PostgresDatabase) -> None:
    create_failures_table(db)
    record_failure(db, "order_views", 4, ValueError("first"))
    record_failure(db, "order_views", 6, ValueError("second"))

    failure = read_failure(db, "order_views")

    assert failure is not None and (failure.checkpoint, failure.error) == (6, "second")


def test_a_remote_checkpoint_hears_a_failure_and_a_waiter_stops_waiting_at_once(
    db: PostgresDatabase, listener: PostgresListener
) -> None:
    PostgresOrderViews(db)  # the checkpoints table a remote checkpoint reads
    remote = RemoteCheckpoint(db, "order_views", listener)
    told: list[tuple[str, BaseException]] = []
    heard = threading.Event()

    def on_failure(name: str, failure: BaseException) -> None:
        told.append((name, failure))
        heard.set()

    remote.on_failure(on_failure)
    listener.start()
    assert remote.failure is None

    record_failure(db, "other_views", 1, ValueError("not ours"))  # another projector's
    record_failure(db, "order_views", 0, ValueError("no order 'order-9'"))
    assert heard.wait(DEADLINE)

    assert remote.failure is not None and remote.failure.error == "no order 'order-9'"
    assert told == [("order_views", remote.failure)]
    waiter = ConsistencyWaiter(InMemoryEventStore(), [remote])  # the store is not read here
    with pytest.raises(ProjectorStoppedError, match="in another process stopped") as raised:
        waiter.wait(1, timeout=DEADLINE)
    assert raised.value.__cause__ is remote.failure


def test_a_remote_checkpoint_reads_a_failure_recorded_before_it_connected(
    db: PostgresDatabase, listener: PostgresListener
) -> None:
    PostgresOrderViews(db)
    create_failures_table(db)
    record_failure(db, "order_views", 2, ValueError("boom"))

    remote = RemoteCheckpoint(db, "order_views", listener)
    listener.start()

    assert remote.failure is not None and remote.failure.checkpoint == 2


def test_a_runner_records_its_projector_s_failure_and_clears_it_when_it_starts_again(
    db: PostgresDatabase,
) -> None:
    system = build_postgres_order_system(db)
    system.dispatch(CreateOrder(customer_id="ada", items=(TEA,)))
    ghost = OrderItemAdded(order_id="order-ghost", product_id="tea", quantity=1, price=1.0)
    system.store.append("order-ghost", [ghost])  # an item for an order never created
    stopped = threading.Event()
    runner = build_order_projector_runner(db, on_failure=lambda error: stopped.set())
    heard = threading.Event()
    system.checkpoint.on_failure(lambda name, failure: heard.set())
    try:
        runner.start()
        assert stopped.wait(DEADLINE) and heard.wait(DEADLINE)
        failure = read_failure(db, "order_views")
        assert failure is not None and failure.checkpoint == 1
        assert "failed on event 2 (OrderItemAdded)" in failure.error
        assert isinstance(runner.failures[0], ProjectionFailedError)

        written = system.dispatch(
            CreateOrder(customer_id="bob", items=(TEA,)), consistency="strong", timeout=DEADLINE
        )
        assert written.caught_up is False and written.stopped is not None, "told, not timed out"
        assert system.store.head == 3, "the command is stored all the same"

        runner.stop()
        runner.start()  # still stopped on the event: the record stays
        assert read_failure(db, "order_views") is not None
        runner.stop()
        stopped.clear()
        runner.projectors[0].resume()
        runner.start()  # resumed, it tries the event again: the record goes, until it fails anew
        assert stopped.wait(DEADLINE)
        assert read_failure(db, "order_views") is not None
    finally:
        runner.stop()
        system.close()


def test_starting_a_runner_clears_a_failure_recorded_by_an_earlier_run(
    db: PostgresDatabase,
) -> None:
    create_failures_table(db)
    record_failure(db, "order_views", 0, ValueError("fixed since"))
    runner = build_order_projector_runner(db)
    try:
        runner.start()
        assert read_failure(db, "order_views") is None
    finally:
        runner.stop()
