"""The Order domain wired together: one call gives a store, both buses and the handlers.

>>> system = build_order_system()
>>> receipt = system.commands.dispatch(
...     CreateOrder(
...         customer_id="cust-1", items=(OrderLine(product_id="tea", quantity=2, price=3.5),)
...     )
... )
>>> receipt
Receipt(stream_id='order-0001', stream_version=1, position=1, command_id='cmd-0001')
"""

from __future__ import annotations

from dataclasses import dataclass

from cqrs_lab.clock import Clock, ManualClock
from cqrs_lab.command_bus import CommandBus
from cqrs_lab.event_store import InMemoryEventStore
from cqrs_lab.examples.orders.commands import CreateOrder, OrderLine
from cqrs_lab.examples.orders.events import order_event_registry
from cqrs_lab.examples.orders.handlers import OrderCommandHandlers
from cqrs_lab.ids import IdFactory, SequentialIds
from cqrs_lab.query_bus import QueryBus

__all__ = ["OrderSystem", "build_order_system"]

_ = (CreateOrder, OrderLine)  # used by the doctest above


@dataclass
class OrderSystem:
    """Everything a notebook needs to run the Order example."""

    clock: Clock
    store: InMemoryEventStore
    commands: CommandBus
    queries: QueryBus
    handlers: OrderCommandHandlers


def build_order_system(
    *,
    clock: Clock | None = None,
    command_ids: IdFactory | None = None,
    order_ids: IdFactory | None = None,
) -> OrderSystem:
    """Wire the Order example; by default deterministic (a manual clock ticking 1 s per reading,
    sequential ids ``cmd-0001`` and ``order-0001``), so notebooks print the same on every run."""
    clock = clock or ManualClock(step=1.0)
    store = InMemoryEventStore(clock=clock, registry=order_event_registry())
    commands = CommandBus(clock=clock, ids=command_ids or SequentialIds("cmd"))
    handlers = OrderCommandHandlers(store, order_ids or SequentialIds("order"))
    handlers.register(commands)
    return OrderSystem(
        clock=clock, store=store, commands=commands, queries=QueryBus(), handlers=handlers
    )
