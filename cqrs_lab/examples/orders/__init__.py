"""The playbook's Order domain, the kit's worked example: commands, events, aggregate, handlers.

The core (:mod:`cqrs_lab`) knows nothing of orders; everything order-shaped lives here.
"""

from cqrs_lab.examples.orders.app import OrderSystem, build_order_system
from cqrs_lab.examples.orders.commands import (
    AddOrderItem,
    CancelOrder,
    CreateOrder,
    OrderLine,
    ShipOrder,
)
from cqrs_lab.examples.orders.events import (
    ORDER_EVENTS,
    OrderCancelled,
    OrderCreated,
    OrderItemAdded,
    OrderShipped,
    order_event_registry,
)
from cqrs_lab.examples.orders.handlers import OrderCommandHandlers, OrderNotFoundError
from cqrs_lab.examples.orders.order import InvalidOrderError, Order, OrderState, OrderStatus

__all__ = [
    "ORDER_EVENTS",
    "AddOrderItem",
    "CancelOrder",
    "CreateOrder",
    "InvalidOrderError",
    "Order",
    "OrderCancelled",
    "OrderCommandHandlers",
    "OrderCreated",
    "OrderItemAdded",
    "OrderLine",
    "OrderNotFoundError",
    "OrderShipped",
    "OrderState",
    "OrderStatus",
    "OrderSystem",
    "ShipOrder",
    "build_order_system",
    "order_event_registry",
]
