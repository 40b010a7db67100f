"""SIGKILL the projector process at random moments, many times: nothing lost, nothing twice.

The PostgreSQL twin of tests/test_crash_safety.py. Between kills the test appends orders -- some
before the projector starts (a backlog), some while it runs (announced by NOTIFY). After every
kill, whatever the moment: the order views hold exactly the rows of the events up to their
checkpoint (a batch is one transaction with its checkpoint), and the next projector process
starts from that checkpoint. At the end a projector catches up to the head and the views equal
a rebuild of the whole log.
"""

from __future__ import annotations

import random
import signal
import time
import uuid
from collections.abc import Iterator

import pytest
from postgres_processes import Child
from test_postgres_processes import follow, open_store, reference_rows

from cqrs_lab.examples.orders.commands import OrderLine
from cqrs_lab.examples.orders.order import Order

pytest.importorskip("psycopg", reason="the postgres extra is not installed")
pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")

from cqrs_lab.adapters.postgres_database import PostgresDatabase  # noqa: E402
from cqrs_lab.aggregate import Repository  # noqa: E402
from cqrs_lab.examples.orders.postgres_views import PostgresOrderViews  # noqa: E402

RANDOM_SEED = 42
KILLS = 24
PROJECTOR = "cqrs_lab project"  # the application_name of the projector process's sessions


@pytest.fixture
def schema(postgres_url: str) -> Iterator[str]:
    name = f"s_{uuid.uuid4().hex[:12]}"
    PostgresDatabase(postgres_url, schema=name).close()
    yield name


def test_sigkill_of_the_projector_loses_nothing_and_applies_nothing_twice(
    postgres_url: str, schema: str
) -> None:
    rng = random.Random(RANDOM_SEED)
    store = open_store(postgres_url, schema)
    orders = Repository(store, Order)
    views = PostgresOrderViews(store.db)
    made = 0

    def append_orders(count: int) -> None:
        nonlocal made
        for _ in range(count):
            made += 1
            line = OrderLine(product_id=f"p{rng.randint(1, 9)}", quantity=1, price=1.5)
            order = Order.create(f"order-{made:05d}", f"c{rng.randint(1, 4)}", (line,), "")
            for n in range(rng.randint(0, 3)):
                order.add_item(f"extra-{n}", rng.randint(1, 3), 0.25)
            orders.save(order)

    checkpoint = 0
    for kill in range(KILLS):
        append_orders(rng.randint(8, 25))  # a backlog, waiting before the projector starts
        batch = rng.randint(1, 7)
        projector = Child.projector(postgres_url, "--schema", schema, "--batch-size", str(batch))
        assert projector.greeting.endswith(f"checkpoint {checkpoint}"), f"kill {kill}"
        append_orders(rng.randint(0, 5))  # more, while it runs
        projector.read_line()  # it has committed a batch: kill it somewhere in the next ones
        time.sleep(rng.uniform(0.0, 0.02))
        assert projector.kill() == -signal.SIGKILL
        # a COMMIT the process sent before it died may still be running on the server: wait
        # (pg_terminate_backend with a timeout) for its sessions to end, so the state is final
        # (one already gone by then makes the call return false: what counts is none is left)
        sessions = (
            "FROM pg_stat_activity WHERE application_name = %s AND datname = current_database()"
        )
        store.db.fetchall(f"SELECT pg_terminate_backend(pid, 10000) {sessions}", (PROJECTOR,))
        assert store.db.fetchone(f"SELECT COUNT(*) {sessions}", (PROJECTOR,)) == (0,)

        checkpoint = views.checkpoint
        assert 0 < checkpoint <= store.head, f"kill {kill}"
        assert views.rows() == reference_rows(store, checkpoint), f"kill {kill}"

    projector = Child.projector(postgres_url, "--schema", schema)
    assert projector.greeting.endswith(f"checkpoint {checkpoint}")
    follow(projector, store.head)
    assert projector.terminate() == 0
    assert projector.rest() == [f"stopped order_views at checkpoint {store.head}"]
    assert views.rows() == reference_rows(store, store.head)
    store.db.close()
