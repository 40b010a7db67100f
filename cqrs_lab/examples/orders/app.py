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

from collections.abc import Sequence
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
from cqrs_lab.ids import IdFactory, SequentialIds
from cqrs_lab.messages import Command
from cqrs_lab.projector import Projector
from cqrs_lab.query_bus import QueryBus
from cqrs_lab.read_your_writes import Consistency, Dispatched, dispatch

__all__ = ["OrderSystem", "build_order_system"]

_ = (CreateOrder, OrderLine, GetOrderById)  # used by the doctest above


@dataclass
class OrderSystem:
    """Everything a notebook needs to run the Order example, write side and read side.

    ``projector`` fills the order views; drive it by hand (:meth:`catch_up`,
    ``projector.step()``) or ``projector.start()`` it. ``waiter`` watches it: :meth:`dispatch`
    with ``consistency="strong"`` waits on it for read-your-writes. ``query_handlers`` answer
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

        See :func:`cqrs_lab.read_your_writes.dispatch`: the command succeeds either way, and
        ``caught_up`` says whether the views saw it within ``timeout`` seconds.
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
        """Project every event not yet in the order views; returns how many were processed."""
        return self.projector.catch_up()


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
    commands = CommandBus(clock=clock, ids=command_ids or SequentialIds("cmd"))
    handlers = OrderCommandHandlers(store, order_ids or SequentialIds("order"))
    handlers.register(commands)
    queries = QueryBus()
    query_handlers = OrderQueryHandlers(lambda: projector.read_model)
    query_handlers.register(queries)
    return OrderSystem(
        clock=clock,
        store=store,
        commands=commands,
        queries=queries,
        handlers=handlers,
        projector=projector,
        waiter=waiter,
        query_handlers=query_handlers,
    )
