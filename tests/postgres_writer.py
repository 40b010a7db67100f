"""Appends orders to a PostgreSQL database as fast as it can, then exits.

Run by ``tests/test_postgres_processes.py`` as ``python tests/postgres_writer.py URL SCHEMA
NAME SEED COUNT``. Each step either creates an order of its own -- ``OrderCreated`` and the
number of ``OrderItemAdded`` its ``shipping_address`` announces (``"extra=2"``), in one append --
or adds an item to one of the shared orders every writer races for, with the version it just
read; a ``ConcurrencyError`` there is the expected loss of a race, and is counted. Prints ``done
APPENDS LOST`` at the end.
"""

from __future__ import annotations

import random
import sys

from cqrs_lab.adapters.postgres_database import PostgresDatabase
from cqrs_lab.adapters.postgres_store import PostgresEventStore
from cqrs_lab.aggregate import Repository
from cqrs_lab.errors import ConcurrencyError
from cqrs_lab.examples.orders.commands import OrderLine
from cqrs_lab.examples.orders.events import order_event_registry
from cqrs_lab.examples.orders.order import Order
from cqrs_lab.ids import SequentialIds

EXTRA_PREFIX = "extra="
SHARED = ("order-shared-1", "order-shared-2")


def run(url: str, schema: str, name: str, seed: int, count: int) -> None:
    """Make ``count`` appends (or lost races) in ``schema`` of ``url``."""
    rng = random.Random(seed)
    database = PostgresDatabase(url, schema=schema, application_name="cqrs_lab writer")
    store = PostgresEventStore(database, order_event_registry())
    orders = Repository(store, Order)
    ids = SequentialIds(f"{name}-order")
    appended = lost = 0
    for _ in range(count):
        if rng.random() < 0.6:
            extra = rng.randint(0, 3)
            line = OrderLine(product_id=f"p{rng.randint(1, 9)}", quantity=1, price=1.5)
            order = Order.create(ids(), name, (line,), f"{EXTRA_PREFIX}{extra}")
            for n in range(extra):
                order.add_item(f"p{n}", 1, 0.25)
            orders.save(order)
            appended += 1
            continue
        order = orders.load(rng.choice(SHARED))
        order.add_item(name, 1, 1.0)
        try:
            orders.save(order)  # expects the version it loaded: another writer may have won
            appended += 1
        except ConcurrencyError:
            lost += 1
    database.close()
    print("done", appended, lost, flush=True)


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
