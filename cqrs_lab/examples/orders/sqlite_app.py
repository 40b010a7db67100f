"""The Order example wired on SQLite: the same buses and handlers, a file instead of memory.

:func:`build_sqlite_order_system` mirrors :func:`~cqrs_lab.examples.orders.app.build_order_system`:
the events go to a :class:`~cqrs_lab.adapters.sqlite_store.SqliteEventStore`, the projector fills
the ``order_views`` table (:class:`~cqrs_lab.examples.orders.sqlite_views.SqliteOrderViews`) and
the queries are answered with SQL. Ids are random by default, since a file outlives the process
and ``order-0001`` would be taken after a restart.

>>> from cqrs_lab.examples.orders.commands import CreateOrder, OrderLine
>>> from cqrs_lab.ids import SequentialIds
>>> system = build_sqlite_order_system(":memory:", order_ids=SequentialIds("order"))
>>> receipt = system.commands.dispatch(
...     CreateOrder(customer_id="ada", items=(OrderLine(product_id="tea", quantity=2, price=3.5),))
... )
>>> system.catch_up()
1
>>> system.queries.dispatch(GetOrderById(order_id="order-0001")).total_amount
7.0
>>> system.close()
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from cqrs_lab.adapters.sqlite_database import SqliteDatabase, Synchronous
from cqrs_lab.adapters.sqlite_read_model import SqliteReadModel
from cqrs_lab.adapters.sqlite_store import SqliteEventStore
from cqrs_lab.clock import Clock, SystemClock
from cqrs_lab.command_bus import CommandBus
from cqrs_lab.consistency import ConsistencyWaiter
from cqrs_lab.examples.orders.events import order_event_registry
from cqrs_lab.examples.orders.handlers import OrderCommandHandlers
from cqrs_lab.examples.orders.queries import GetOrderById
from cqrs_lab.examples.orders.sqlite_views import SqliteOrderViews, SqlOrderQueries
from cqrs_lab.examples.orders.views import OrderView, OrderViewProjection
from cqrs_lab.examples.orders.wiring import OrderSystemBase, order_buses
from cqrs_lab.ids import IdFactory, UuidIds
from cqrs_lab.projector import Projector
from cqrs_lab.query_bus import QueryBus

__all__ = ["SqliteOrderSystem", "build_sqlite_order_system"]

_ = GetOrderById  # used by the doctest above


@dataclass
class SqliteOrderSystem(OrderSystemBase):
    """The Order example on SQLite: what :class:`~cqrs_lab.examples.orders.app.OrderSystem` has."""

    clock: Clock
    store: SqliteEventStore
    views_db: SqliteDatabase
    """The connection the order views were built on (the store's, for ``:memory:``)."""
    commands: CommandBus
    queries: QueryBus
    handlers: OrderCommandHandlers
    projector: Projector[OrderView]
    waiter: ConsistencyWaiter
    query_handlers: SqlOrderQueries

    @property
    def views(self) -> SqliteOrderViews:
        """The order views queries read now: after a blue/green rebuild, the new table."""
        return self.query_handlers.views()

    def close(self) -> None:
        """Stop the projector if it runs and close both connections."""
        self.projector.stop()
        live = self.projector.read_model
        if isinstance(live, SqliteReadModel):  # rebuilt views on a file of their own
            live.close()
        self.views_db.close()
        self.store.db.close()


def build_sqlite_order_system(
    database: str | os.PathLike[str] = ":memory:",
    *,
    clock: Clock | None = None,
    command_ids: IdFactory | None = None,
    order_ids: IdFactory | None = None,
    synchronous: Synchronous = "FULL",
    batch_size: int = 100,
) -> SqliteOrderSystem:
    """Wire the Order example on the SQLite file ``database`` (created if missing).

    The store and the views use one connection each, so queries read (WAL) while an append
    writes; an in-memory database has to share one. The projector is not started.
    """
    store_db = SqliteDatabase(database, synchronous=synchronous)
    in_memory = os.fspath(database) == ":memory:"
    views_db = store_db if in_memory else SqliteDatabase(database, synchronous=synchronous)
    clock = clock or SystemClock()
    store = SqliteEventStore(store_db, order_event_registry(), clock)
    projector: Projector[OrderView] = Projector(
        store, OrderViewProjection(), SqliteOrderViews(views_db), batch_size=batch_size, clock=clock
    )
    waiter = ConsistencyWaiter(store, [projector], clock=clock)
    query_handlers = SqlOrderQueries(lambda: projector.read_model)
    buses = order_buses(
        store, clock, command_ids or UuidIds("cmd"), order_ids or UuidIds("order"), query_handlers
    )
    return SqliteOrderSystem(
        clock=clock,
        store=store,
        views_db=views_db,
        commands=buses.commands,
        queries=buses.queries,
        handlers=buses.handlers,
        projector=projector,
        waiter=waiter,
        query_handlers=query_handlers,
    )
