"""PostgreSQL past one process: writer processes, the projector process, and waiters elsewhere.

Every child is started by this module, read line by line with a deadline, and stopped by its
process id; each test uses a schema of its own in the module's database.
"""

from __future__ import annotations

import signal
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from postgres_processes import LINE_TIMEOUT, Child

from cqrs_lab.examples.orders.commands import CreateOrder, OrderLine
from cqrs_lab.examples.orders.events import OrderCreated, OrderItemAdded, order_event_registry
from cqrs_lab.examples.orders.order import Order
from cqrs_lab.examples.orders.queries import GetOrderById
from cqrs_lab.examples.orders.views import OrderReadModel, OrderViewProjection
from cqrs_lab.ids import SequentialIds
from cqrs_lab.projector import Projector

pytest.importorskip("psycopg", reason="the postgres extra is not installed")
pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")

from cqrs_lab.adapters.postgres_database import PostgresDatabase  # noqa: E402
from cqrs_lab.adapters.postgres_store import PostgresEventStore  # noqa: E402
from cqrs_lab.aggregate import Repository  # noqa: E402
from cqrs_lab.examples.orders.postgres_app import build_postgres_order_system  # noqa: E402
from cqrs_lab.examples.orders.postgres_views import PostgresOrderViews  # noqa: E402

WRITERS = 4
APPENDS_EACH = 60
EXTRA_PREFIX = "extra="  # as in postgres_writer.py


@pytest.fixture
def schema(postgres_url: str) -> Iterator[str]:
    """A schema of the module's database for this test alone."""
    name = f"s_{uuid.uuid4().hex[:12]}"
    PostgresDatabase(postgres_url, schema=name).close()  # creates it
    yield name


def open_store(url: str, schema: str) -> PostgresEventStore:
    return PostgresEventStore(PostgresDatabase(url, schema=schema), order_event_registry())


def reference_rows(store: PostgresEventStore, until: int) -> list[Any]:
    """The order views rebuilt in memory from the log up to ``until``: what they must hold."""
    model = OrderReadModel()
    Projector(store, OrderViewProjection(), model, batch_size=1000).catch_up(until=until)
    return model.rows()


def check_log(store: PostgresEventStore) -> dict[str, int]:
    """Positions 1..head without a gap, each stream's versions 1..n, no partial append;
    returns each stream's version."""
    records = store.read_all()
    assert [r.position for r in records] == list(range(1, store.head + 1))
    versions: dict[str, list[int]] = {}
    announced: dict[str, int] = {}
    for record in records:
        versions.setdefault(record.stream_id, []).append(record.stream_version)
        event = record.event
        if isinstance(event, OrderCreated) and event.shipping_address.startswith(EXTRA_PREFIX):
            announced[record.stream_id] = int(event.shipping_address.removeprefix(EXTRA_PREFIX))
    for stream_id, seen in versions.items():
        assert seen == list(range(1, len(seen) + 1)), f"{stream_id}: versions {seen}"
        assert len(seen) >= 1 + announced.get(stream_id, 0), f"{stream_id}: partial append"
    return {stream_id: len(seen) for stream_id, seen in versions.items()}


def follow(projector: Child, head: int) -> list[int]:
    """The checkpoints the projector prints, up to ``head``; they must only go up."""
    lines = projector.read_until(f"order_views {head}")
    checkpoints = [int(line.split()[1]) for line in lines]
    assert checkpoints == sorted(set(checkpoints)), "a checkpoint repeated or went back"
    return checkpoints


def test_writer_processes_and_a_live_projector_lose_nothing_and_repeat_nothing(
    postgres_url: str, schema: str
) -> None:
    store = open_store(postgres_url, schema)
    orders = Repository(store, Order)
    line = OrderLine(product_id="tea", quantity=1, price=1.0)
    for shared in ("order-shared-1", "order-shared-2"):
        orders.save(Order.create(shared, "everyone", (line,), ""))
    projector = Child.projector(postgres_url, "--schema", schema, "--batch-size", "7")
    writers = [
        Child("tests/postgres_writer.py", postgres_url, schema, f"w{n}", str(n), str(APPENDS_EACH))
        for n in range(WRITERS)
    ]
    outcomes = []
    for writer in writers:
        (summary,) = writer.rest()
        done, appended, lost = summary.split()
        assert done == "done" and writer.process.returncode == 0, writer.errors()
        outcomes.append((int(appended), int(lost)))
    head = store.head

    follow(projector, head)  # the live projector, woken by NOTIFY, reaches the head...
    assert projector.terminate() == 0
    assert projector.rest() == [f"stopped order_views at checkpoint {head}"]

    versions = check_log(store)  # ...every position and every stream version taken once...
    assert sum(a + lost for a, lost in outcomes) == WRITERS * APPENDS_EACH
    won = sum(versions[s] - 1 for s in ("order-shared-1", "order-shared-2"))
    own = sum(1 for s in versions if not s.startswith("order-shared"))
    assert won + own == sum(a for a, _ in outcomes)
    views = PostgresOrderViews(store.db)
    assert views.checkpoint == head  # ...and each event applied exactly once:
    assert views.rows() == reference_rows(store, head)  # sums would double or miss otherwise
    store.db.close()


def test_sigterm_lets_the_batch_commit_then_exits_zero(postgres_url: str, schema: str) -> None:
    store = open_store(postgres_url, schema)
    orders = Repository(store, Order)
    line = OrderLine(product_id="tea", quantity=2, price=1.5)
    for n in range(120):
        orders.save(Order.create(f"order-{n:04d}", f"c{n % 5}", (line,), ""))

    projector = Child.projector(postgres_url, "--schema", schema, "--batch-size", "3")
    first = int(projector.read_line().split()[1])
    assert projector.terminate() == 0
    *batches, last = projector.rest()

    checkpoint = PostgresOrderViews(store.db).checkpoint
    assert last == f"stopped order_views at checkpoint {checkpoint}"
    assert [int(b.split()[1]) for b in batches][-1:] in ([checkpoint], [])
    assert first <= checkpoint <= store.head
    assert checkpoint % 3 == 0 or checkpoint == store.head  # whole batches only
    assert PostgresOrderViews(store.db).rows() == reference_rows(store, checkpoint)
    store.db.close()


def test_a_strong_write_waits_for_the_projector_in_another_process(
    postgres_url: str, schema: str
) -> None:
    system = build_postgres_order_system(
        PostgresDatabase(postgres_url, schema=schema), order_ids=SequentialIds("order")
    )
    create = CreateOrder(
        customer_id="ada", items=(OrderLine(product_id="tea", quantity=2, price=3.5),)
    )
    try:
        unseen = system.dispatch(create, consistency="strong", timeout=0.05)
        assert unseen.caught_up is False  # nobody projects yet: the write stands, unseen
        assert system.queries.dispatch(GetOrderById(order_id="order-0001")) is None

        projector = Child.projector(postgres_url, "--schema", schema)
        written = system.dispatch(create, consistency="strong", timeout=LINE_TIMEOUT)
        assert written.caught_up is True  # woken by the projector process's NOTIFY
        assert system.checkpoint.checkpoint >= written.position
        view = system.queries.dispatch(GetOrderById(order_id="order-0002"))
        assert view is not None and view.total_amount == 7.0
        assert projector.terminate() == 0
        assert projector.rest()[-1] == f"stopped order_views at checkpoint {written.position}"
    finally:
        system.close()


def test_a_projector_whose_connections_are_cut_reconnects_and_resumes(
    postgres_url: str, schema: str
) -> None:
    store = open_store(postgres_url, schema)
    orders = Repository(store, Order)
    line = OrderLine(product_id="tea", quantity=1, price=1.0)
    orders.save(Order.create("order-before", "ada", (line,), ""))
    projector = Child.projector(postgres_url, "--schema", schema, "--batch-size", "2")
    follow(projector, store.head)

    killed = store.db.fetchall(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE application_name = %s AND datname = current_database()",
        ("cqrs_lab project",),
    )
    assert killed and all(ok for (ok,) in killed)  # its pool and its LISTEN connection
    for n in range(5):
        orders.save(Order.create(f"order-after-{n}", "bob", (line,), ""))

    follow(projector, store.head)  # reconnected, caught up what went unannounced
    assert projector.terminate() == 0
    assert projector.rest() == [f"stopped order_views at checkpoint {store.head}"]
    views = PostgresOrderViews(store.db)
    assert views.rows() == reference_rows(store, store.head)
    store.db.close()


def test_a_projection_that_fails_stops_before_the_event_and_exits_one(
    postgres_url: str, schema: str
) -> None:
    store = open_store(postgres_url, schema)
    orders = Repository(store, Order)
    orders.save(
        Order.create("order-1", "ada", (OrderLine(product_id="t", quantity=1, price=1),), "")
    )
    ghost = OrderItemAdded(order_id="order-ghost", product_id="t", quantity=1, price=1.0)
    store.append("order-ghost", [ghost])  # an item for an order never created

    projector = Child.projector(postgres_url, "--schema", schema)
    assert projector.rest() == ["order_views 1", "stopped order_views at checkpoint 1"]
    assert projector.process.returncode == 1
    assert "projection 'order_views' failed on event 2 (OrderItemAdded)" in projector.stderr
    store.db.close()

    # an API process is told of the stop, recorded by the projector process, and does not wait
    system = build_postgres_order_system(PostgresDatabase(postgres_url, schema=schema))
    try:
        written = system.dispatch(
            CreateOrder(customer_id="bob", items=(OrderLine(product_id="t", quantity=1, price=1),)),
            consistency="strong",
            timeout=LINE_TIMEOUT,
        )
        assert written.caught_up is False and written.stopped is not None, "told, not timed out"
        assert "in another process stopped at checkpoint 1" in str(written.stopped)
        assert system.store.head == 3, "the command is stored all the same"
    finally:
        system.close()
