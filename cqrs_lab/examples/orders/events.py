"""The events of the Order domain: facts the write side recorded."""

from __future__ import annotations

from dataclasses import dataclass

from cqrs_lab.examples.orders.commands import OrderLine
from cqrs_lab.messages import Event
from cqrs_lab.upcasting import EventRegistry

__all__ = [
    "ORDER_EVENTS",
    "OrderCancelled",
    "OrderCreated",
    "OrderItemAdded",
    "OrderShipped",
    "order_event_registry",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class OrderCreated(Event):
    """An order was opened."""

    order_id: str
    customer_id: str
    items: tuple[OrderLine, ...]
    shipping_address: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class OrderItemAdded(Event):
    """A line was added to an open order."""

    order_id: str
    product_id: str
    quantity: int
    price: float


@dataclass(frozen=True, kw_only=True, slots=True)
class OrderCancelled(Event):
    """An open order was cancelled."""

    order_id: str
    reason: str


@dataclass(frozen=True, kw_only=True, slots=True)
class OrderShipped(Event):
    """An open order was shipped."""

    order_id: str


ORDER_EVENTS: tuple[type[Event], ...] = (OrderCreated, OrderItemAdded, OrderCancelled, OrderShipped)
"""Every event type of the domain."""


def order_event_registry() -> EventRegistry:
    """A registry that knows every Order event (add upcasters to it as schemas change)."""
    return EventRegistry(ORDER_EVENTS)
