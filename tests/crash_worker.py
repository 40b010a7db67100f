"""Appends orders and projects them on a SQLite file in a loop, until it is killed.

Run by ``tests/test_crash_safety.py`` as ``python tests/crash_worker.py DB_PATH SEED``. It prints
``ready`` once its objects are open, then one line per step it has committed -- ``append STREAM
VERSION`` or ``project CHECKPOINT`` -- so the test can wait for progress before it sends SIGKILL,
and check afterwards that everything the worker reported done survived.

Every order is created in one append of ``OrderCreated`` followed by the
number of ``OrderItemAdded`` events its ``shipping_address`` announces (``"extra=2"``): a stream
whose first event announces more events than the stream holds would be a partial append.
"""

from __future__ import annotations

import random
import sys

from cqrs_lab.adapters.sqlite_database import SqliteDatabase
from cqrs_lab.adapters.sqlite_store import SqliteEventStore
from cqrs_lab.aggregate import Repository
from cqrs_lab.clock import SystemClock
from cqrs_lab.errors import DomainError
from cqrs_lab.examples.orders.commands import OrderLine
from cqrs_lab.examples.orders.events import order_event_registry
from cqrs_lab.examples.orders.order import Order
from cqrs_lab.examples.orders.sqlite_views import SqliteOrderViews
from cqrs_lab.examples.orders.views import OrderViewProjection
from cqrs_lab.ids import SequentialIds
from cqrs_lab.projector import Projector

EXTRA_PREFIX = "extra="
"""``shipping_address`` of a created order: how many items the same append added after it."""


def run(path: str, seed: int) -> None:
    """Append and project until killed (or, for a smoke test, forever)."""
    rng = random.Random(seed)
    store = SqliteEventStore(SqliteDatabase(path), order_event_registry(), SystemClock())
    views = SqliteOrderViews(SqliteDatabase(path))  # its own connection, as another process would
    projector = Projector(store, OrderViewProjection(), views, batch_size=rng.randint(1, 7))
    orders = Repository(store, Order)
    order_ids = SequentialIds(f"run{seed}-order")  # unique across runs on the same file
    created: list[str] = []
    print("ready", flush=True)
    while True:
        roll = rng.random()
        if roll < 0.45 or not created:
            order_id = order_ids()
            extra = rng.randint(0, 3)
            line = OrderLine(product_id=f"p{rng.randint(1, 9)}", quantity=1, price=1.5)
            order = Order.create(
                order_id, f"c{rng.randint(1, 4)}", (line,), f"{EXTRA_PREFIX}{extra}"
            )
            for n in range(extra):
                order.add_item(f"p{n}", rng.randint(1, 3), 0.25)
            receipt = orders.save(order)  # one append of 1 + extra events
            created.append(order_id)
            print(f"append {receipt.stream_id} {receipt.stream_version}", flush=True)
        elif roll < 0.75:
            order = orders.load(rng.choice(created))
            try:
                if rng.random() < 0.5:
                    order.add_item("late", 1, 2.0)
                elif rng.random() < 0.5:
                    order.ship()
                else:
                    order.cancel("crash test")
            except DomainError:
                continue  # no longer open
            receipt = orders.save(order)
            print(f"append {receipt.stream_id} {receipt.stream_version}", flush=True)
        else:
            projector.run_batch()
            print(f"project {projector.checkpoint}", flush=True)


if __name__ == "__main__":
    run(sys.argv[1], int(sys.argv[2]))
