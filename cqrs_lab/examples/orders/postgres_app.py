"""The Order example wired on PostgreSQL, for one process or several (needs the ``postgres`` extra).

:func:`build_postgres_order_system` mirrors
:func:`~cqrs_lab.examples.orders.sqlite_app.build_sqlite_order_system`, with one difference that
matters past one process: its waiter does not watch a projector object, it watches the
``order_views`` checkpoint as PostgreSQL announces it
(:class:`~cqrs_lab.adapters.postgres_listener.RemoteCheckpoint`). A strong dispatch therefore
returns once *whichever process* runs the projector has committed the receipt's position --
the projector in this process (``system.projector``), or ``python -m cqrs_lab project`` in
another (:func:`build_order_projector_runner` is what it runs).

Usage (with a server)::

    system = build_postgres_order_system("postgresql://127.0.0.1/test")
    written = system.dispatch(CreateOrder(...), consistency="strong", timeout=2)
    written.position, written.caught_up  # a Dispatched: the receipt and how the wait ended
    system.close()
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cqrs_lab.adapters.postgres_database import PostgresDatabase
from cqrs_lab.adapters.postgres_listener import PostgresListener, RemoteCheckpoint
from cqrs_lab.adapters.postgres_runner import ProjectorRunner
from cqrs_lab.adapters.postgres_store import PostgresEventStore
from cqrs_lab.clock import Clock, SystemClock
from cqrs_lab.command_bus import CommandBus
from cqrs_lab.consistency import ConsistencyWaiter
from cqrs_lab.examples.orders.events import order_event_registry
from cqrs_lab.examples.orders.handlers import OrderCommandHandlers
from cqrs_lab.examples.orders.postgres_views import PostgresOrderQueries, PostgresOrderViews
from cqrs_lab.examples.orders.views import OrderView, OrderViewProjection
from cqrs_lab.examples.orders.wiring import OrderSystemBase, order_buses
from cqrs_lab.ids import IdFactory, UuidIds
from cqrs_lab.projector import Projector
from cqrs_lab.query_bus import QueryBus

__all__ = ["PostgresOrderSystem", "build_order_projector_runner", "build_postgres_order_system"]


@dataclass
class PostgresOrderSystem(OrderSystemBase):
    """The Order example on PostgreSQL: what the SQLite system has, plus its listener.

    ``projector`` is an in-process projector, not started; leave it idle when another process
    projects. ``checkpoint`` is the ``order_views`` checkpoint as announced by PostgreSQL,
    which ``waiter`` watches. Unlike SQLite's, ``views`` is a plain field, not whatever table the
    projector fills now: the projector may run in another process, whose switch of tables this
    one's queries would never see.
    """

    clock: Clock
    db: PostgresDatabase
    store: PostgresEventStore
    views: PostgresOrderViews
    commands: CommandBus
    queries: QueryBus
    handlers: OrderCommandHandlers
    projector: Projector[OrderView]
    listener: PostgresListener
    checkpoint: RemoteCheckpoint
    waiter: ConsistencyWaiter
    query_handlers: PostgresOrderQueries

    def close(self) -> None:
        """Stop the projector (if started here) and the listener, and close the pool."""
        self.projector.stop()
        self.listener.stop()
        self.db.close()


def build_postgres_order_system(
    database: str | PostgresDatabase,
    *,
    clock: Clock | None = None,
    command_ids: IdFactory | None = None,
    order_ids: IdFactory | None = None,
    batch_size: int = 100,
) -> PostgresOrderSystem:
    """Wire the Order example on ``database`` (a URL, or a database already open).

    The tables are created if missing. The listener is started (so the waiter hears
    checkpoints from every process); the projector is not. Ids are random by default: a
    database outlives the process, and other processes create orders too.
    """
    db = database if isinstance(database, PostgresDatabase) else PostgresDatabase(database)
    clock = clock or SystemClock()
    store = PostgresEventStore(db, order_event_registry(), clock)
    views = PostgresOrderViews(db)
    projector: Projector[OrderView] = Projector(
        store, OrderViewProjection(), views, batch_size=batch_size, clock=clock
    )
    listener = PostgresListener(db)
    checkpoint = RemoteCheckpoint(db, views.name, listener)
    listener.start()  # after the checkpoint's callback is in place: it reads the table then
    waiter = ConsistencyWaiter(store, [checkpoint], clock=clock)
    query_handlers = PostgresOrderQueries(views)
    buses = order_buses(
        store, clock, command_ids or UuidIds("cmd"), order_ids or UuidIds("order"), query_handlers
    )
    return PostgresOrderSystem(
        clock=clock,
        db=db,
        store=store,
        views=views,
        commands=buses.commands,
        queries=buses.queries,
        handlers=buses.handlers,
        projector=projector,
        listener=listener,
        checkpoint=checkpoint,
        waiter=waiter,
        query_handlers=query_handlers,
    )


def build_order_projector_runner(
    database: str | PostgresDatabase,
    *,
    batch_size: int = 100,
    clock: Clock | None = None,
    on_failure: Callable[[BaseException], None] | None = None,
) -> ProjectorRunner:
    """What ``python -m cqrs_lab project`` runs: the order views' projector, woken by appends
    from every process. Not started; the caller closes ``runner.listener.db`` after it."""
    db = database if isinstance(database, PostgresDatabase) else PostgresDatabase(database)
    store = PostgresEventStore(db, order_event_registry(), clock)
    views = PostgresOrderViews(db)
    projector: Projector[OrderView] = Projector(
        store, OrderViewProjection(), views, batch_size=batch_size, clock=clock
    )
    return ProjectorRunner([projector], PostgresListener(db), on_failure=on_failure)
