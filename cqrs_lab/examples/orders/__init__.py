"""The playbook's Order domain, the kit's worked example: commands, events, aggregate, handlers,
and the read side -- the order views, their projection and the queries that read them.

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
from cqrs_lab.examples.orders.queries import (
    MAX_PAGE_SIZE,
    SORTABLE_FIELDS,
    GetCustomerOrders,
    GetOrderById,
    OrderQueryHandlers,
    Page,
    SearchOrders,
)
from cqrs_lab.examples.orders.views import (
    ORDER_VIEW_COLUMNS,
    OrderReadModel,
    OrderView,
    OrderViewError,
    OrderViewProjection,
)

__all__ = [
    "MAX_PAGE_SIZE",
    "ORDER_EVENTS",
    "ORDER_VIEW_COLUMNS",
    "SORTABLE_FIELDS",
    "AddOrderItem",
    "CancelOrder",
    "CreateOrder",
    "GetCustomerOrders",
    "GetOrderById",
    "InvalidOrderError",
    "Order",
    "OrderCancelled",
    "OrderCommandHandlers",
    "OrderCreated",
    "OrderItemAdded",
    "OrderLine",
    "OrderNotFoundError",
    "OrderQueryHandlers",
    "OrderReadModel",
    "OrderShipped",
    "OrderState",
    "OrderStatus",
    "OrderSystem",
    "OrderView",
    "OrderViewError",
    "OrderViewProjection",
    "Page",
    "SearchOrders",
    "ShipOrder",
    "build_order_system",
    "order_event_registry",
]
