"""The Order domain wired together: one call gives a store, both buses, handlers and the read side.

>>> system = build_order_system()
>>> receipt = system.commands.dispatch(
...     CreateOrder(
...         customer_id="cust-1", items=(OrderLine(product_id="tea", quantity=2, price=3.5),)
...     )
... )
>>> receipt
Receipt(stream_id='order-0001', stream_version=1, position=1, command_id='cmd-0001')
>>> system.queries.dispatch(GetOrderById(order_id="order-0001")) is None  # not projected yet
True
>>> system.catch_up()
1
>>> system.queries.dispatch(GetOrderById(order_id="order-0001")).total_amount
7.0
"""

from __future__ import annotations

from dataclasses import dataclass

from cqrs_lab.clock import Clock, ManualClock
from cqrs_lab.command_bus import CommandBus
from cqrs_lab.consistency import ConsistencyWaiter
from cqrs_lab.event_store import InMemoryEventStore
from cqrs_lab.examples.orders.commands import CreateOrder, OrderLine
from cqrs_lab.examples.orders.events import order_event_registry
from cqrs_lab.examples.orders.handlers import OrderCommandHandlers
from cqrs_lab.examples.orders.queries import GetOrderById, OrderQueryHandlers
from cqrs_lab.examples.orders.views import OrderReadModel, OrderView, OrderViewProjection
from cqrs_lab.examples.orders.wiring import OrderSystemBase, order_buses
from cqrs_lab.ids import IdFactory, SequentialIds
from cqrs_lab.projector import Projector
from cqrs_lab.query_bus import QueryBus

__all__ = ["OrderSystem", "build_order_system"]

_ = (CreateOrder, OrderLine, GetOrderById)  # used by the doctest above


@dataclass
class OrderSystem(OrderSystemBase):
    """Everything a notebook needs to run the Order example, write side and read side.

    ``projector`` fills the order views; drive it by hand (:meth:`catch_up`,
    ``projector.step()``) or ``projector.start()`` it. ``waiter`` watches it: :meth:`dispatch`
    (from :class:`~cqrs_lab.examples.orders.wiring.OrderSystemBase`) with
    ``consistency="strong"`` waits on it for read-your-writes. ``query_handlers`` answer
    from the projector's current read model, so they follow a blue/green rebuild.
    """

    clock: Clock
    store: InMemoryEventStore
    commands: CommandBus
    queries: QueryBus
    handlers: OrderCommandHandlers
    projector: Projector[OrderView]
    waiter: ConsistencyWaiter
    query_handlers: OrderQueryHandlers

    @property
    def read_model(self) -> OrderReadModel:
        """The order views queries read now."""
        return self.query_handlers.read_model()


def build_order_system(
    *,
    clock: Clock | None = None,
    command_ids: IdFactory | None = None,
    order_ids: IdFactory | None = None,
) -> OrderSystem:
    """Wire the Order example; by default deterministic (a manual clock ticking 1 s per reading,
    sequential ids ``cmd-0001`` and ``order-0001``), so notebooks print the same on every run.

    The projector is not started: nothing runs in the background until you call
    ``system.projector.start()``.
    """
    clock = clock or ManualClock(step=1.0)
    store = InMemoryEventStore(clock=clock, registry=order_event_registry())
    projector: Projector[OrderView] = Projector(
        store, OrderViewProjection(), OrderReadModel(), clock=clock
    )
    waiter = ConsistencyWaiter(store, [projector], clock=clock)
    query_handlers = OrderQueryHandlers(lambda: projector.read_model)
    buses = order_buses(
        store,
        clock,
        command_ids or SequentialIds("cmd"),
        order_ids or SequentialIds("order"),
        query_handlers,
    )
    return OrderSystem(
        clock=clock,
        store=store,
        commands=buses.commands,
        queries=buses.queries,
        handlers=buses.handlers,
        projector=projector,
        waiter=waiter,
        query_handlers=query_handlers,
    )
