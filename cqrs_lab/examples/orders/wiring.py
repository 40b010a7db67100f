"""What every wiring of the Order example shares, in memory, on SQLite or on PostgreSQL.

:class:`~cqrs_lab.examples.orders.app.OrderSystem`,
:class:`~cqrs_lab.examples.orders.sqlite_app.SqliteOrderSystem` and
:class:`~cqrs_lab.examples.orders.postgres_app.PostgresOrderSystem` differ in their store and
their views; they dispatch and catch up the same way (:class:`OrderSystemBase`), and their
builders put the buses together the same way (:func:`order_buses`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol

from cqrs_lab.clock import Clock
from cqrs_lab.command_bus import CommandBus
from cqrs_lab.consistency import ConsistencyWaiter
from cqrs_lab.event_store import EventStore
from cqrs_lab.examples.orders.handlers import OrderCommandHandlers
from cqrs_lab.examples.orders.views import OrderView
from cqrs_lab.ids import IdFactory
from cqrs_lab.messages import Command
from cqrs_lab.projector import Projector
from cqrs_lab.query_bus import QueryBus
from cqrs_lab.read_your_writes import Consistency, Dispatched, dispatch

__all__ = ["OrderBuses", "OrderSystemBase", "QueryHandlers", "order_buses"]


class OrderSystemBase:
    """Dispatch with read-your-writes, and catch-up, for a system that has these three fields.

    Each system is a dataclass that declares them (with the rest of its parts) as its fields.
    """

    commands: CommandBus
    waiter: ConsistencyWaiter
    projector: Projector[OrderView]

    def dispatch(
        self,
        command: Command,
        *,
        consistency: Consistency | str = Consistency.EVENTUAL,
        projections: Sequence[str] | None = None,
        timeout: float = 1.0,
        command_id: str | None = None,
        correlation_id: str | None = None,
    ) -> Dispatched:
        """Dispatch ``command``; with ``consistency="strong"`` also wait for the order views.

        See :func:`cqrs_lab.read_your_writes.dispatch`: the command succeeds either way, the
        result's ``position`` is the write's, ``caught_up`` says whether the views saw it
        within ``timeout`` seconds (on PostgreSQL, whichever process projects them), and
        ``stopped`` why they will not, when their projector has stopped on a failure.
        """
        return dispatch(
            self.commands,
            self.waiter,
            command,
            consistency=consistency,
            projections=projections,
            timeout=timeout,
            command_id=command_id,
            correlation_id=correlation_id,
        )

    def catch_up(self) -> int:
        """Project, in this process, every event not yet in the order views; returns how many."""
        return self.projector.catch_up()


class QueryHandlers(Protocol):
    """Query handlers that register themselves on a query bus."""

    def register(self, bus: QueryBus) -> None:
        """Register every handler on ``bus``."""


class OrderBuses(NamedTuple):
    """The buses of an Order system, with the command handlers registered on ``commands``."""

    commands: CommandBus
    handlers: OrderCommandHandlers
    queries: QueryBus


def order_buses(
    store: EventStore,
    clock: Clock,
    command_ids: IdFactory,
    order_ids: IdFactory,
    query_handlers: QueryHandlers,
) -> OrderBuses:
    """A command bus with the Order command handlers on it, and a query bus with
    ``query_handlers`` on it."""
    commands = CommandBus(clock=clock, ids=command_ids)
    handlers = OrderCommandHandlers(store, order_ids)
    handlers.register(commands)
    queries = QueryBus()
    query_handlers.register(queries)
    return OrderBuses(commands, handlers, queries)
