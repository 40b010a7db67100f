"""The Order example written with the ``eventsourcing`` library: the benchmarks' yardstick.

Only the benchmarks import this module (the bench extra brings the library). It is
written the way the library's own documentation writes an application: an ``Aggregate`` whose
``@event`` methods both record and apply the events, and an ``Application`` whose methods are the
commands -- create the aggregate or get it from the repository, call it, ``save`` it. The rules
are the kit's own (``validate_line``, a non-blank customer, at least one line, only an open order
changes), and lines are the kit's ``OrderLine``, stored through a ``Transcoding`` as the library
asks for any value type of one's own. Ids are UUIDs and times are read from the real clock: the
library's defaults, and what the kit is given in the benchmarks.

The application runs on the library's default infrastructure: plain Python objects in memory.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import JSONTranscoder, Transcoding

from cqrs_lab.examples.orders import OrderLine, OrderView
from cqrs_lab.examples.orders.order import InvalidOrderError, validate_line

__all__ = ["EsOrder", "EsOrders", "OrderLineAsDict", "place_orders", "project_notifications"]


class OrderLineAsDict(Transcoding):
    """Stores an ``OrderLine`` as a dict of its three fields."""

    type = OrderLine
    name = "order_line"

    def encode(self, obj: OrderLine) -> dict[str, Any]:
        return {"product_id": obj.product_id, "quantity": obj.quantity, "price": obj.price}

    def decode(self, data: dict[str, Any]) -> OrderLine:
        return OrderLine(**data)


class EsOrder(Aggregate):
    """An order: created with lines, then added to while open."""

    @event("Created")
    def __init__(self, customer_id: str, items: tuple[OrderLine, ...]) -> None:
        self.customer_id = customer_id
        self.lines = list(items)
        self.status = "open"

    def add_item(self, product_id: str, quantity: int, price: float) -> None:
        """Check the rules, then record ``ItemAdded``."""
        if self.status != "open":
            raise InvalidOrderError(f"cannot add an item to order {self.id}: it is {self.status}")
        validate_line(product_id, quantity, price)
        self.item_added(product_id, quantity, price)

    @event("ItemAdded")
    def item_added(self, product_id: str, quantity: int, price: float) -> None:
        self.lines.append(OrderLine(product_id=product_id, quantity=quantity, price=price))


class EsOrders(Application[UUID]):
    """The two commands of the benchmarks' workload, as application methods."""

    # a page of the notification log holds up to this many events: the kit projector's batch
    log_section_size = 100

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(OrderLineAsDict())

    def create_order(self, customer_id: str, items: tuple[OrderLine, ...]) -> UUID:
        """Open an order; returns its id."""
        if not customer_id.strip():
            raise InvalidOrderError(
                f"customer_id must be a non-blank string, found {customer_id!r}"
            )
        if not items:
            raise InvalidOrderError("an order needs at least one item, found none")
        for line in items:
            if not isinstance(line, OrderLine):
                raise InvalidOrderError(f"items must be OrderLine values, found {line!r}")
            validate_line(line.product_id, line.quantity, line.price)
        order = EsOrder(customer_id, items)
        self.save(order)
        return order.id

    def add_order_item(self, order_id: UUID, product_id: str, quantity: int, price: float) -> None:
        """Add a line to an open order."""
        order: EsOrder = self.repository.get(order_id)
        order.add_item(product_id, quantity, price)
        self.save(order)


def place_orders(app: EsOrders, orders: int) -> None:
    """The benchmarks' write workload: each order created with one line, then one line added."""
    for n in range(orders):
        line = OrderLine(product_id="tea", quantity=1, price=3.5)
        order_id = app.create_order(f"cust-{n % 1000:04d}", (line,))
        app.add_order_item(order_id, "cake", 2, 4.25)


def project_notifications(app: EsOrders, views: dict[UUID, OrderView]) -> int:
    """Read ``app``'s whole notification log, page by page, into ``views``: one ``OrderView``
    per order, as the kit's ``OrderViewProjection`` builds it. Returns the events read."""
    to_event = app.mapper.to_domain_event
    page_size = app.log_section_size
    read = 0
    start = 1
    while notifications := app.notification_log.select(start, page_size):
        for notification in notifications:
            domain_event: Any = to_event(notification)  # Created or ItemAdded
            if isinstance(domain_event, EsOrder.Created):
                views[domain_event.originator_id] = _created(domain_event)
            else:
                views[domain_event.originator_id] = _item_added(
                    views[domain_event.originator_id], domain_event
                )
        read += len(notifications)
        start = notifications[-1].id + 1
    return read


def _created(created: Any) -> OrderView:
    items: tuple[OrderLine, ...] = tuple(created.items)
    products: list[str] = []
    for line in items:
        if line.product_id not in products:
            products.append(line.product_id)
    timestamp: datetime = created.timestamp
    return OrderView(
        order_id=str(created.originator_id),
        customer_id=created.customer_id,
        status="open",
        total_amount=float(sum(line.quantity * line.price for line in items)),
        item_count=len(items),
        created_at=timestamp,
        product_ids=tuple(products),
    )


def _item_added(before: OrderView, added: Any) -> OrderView:
    # built with the row's constructor, whatever kind of record OrderView is
    products = before.product_ids
    if added.product_id not in products:
        products = (*products, added.product_id)
    return OrderView(
        order_id=before.order_id,
        customer_id=before.customer_id,
        status=before.status,
        total_amount=before.total_amount + added.quantity * added.price,
        item_count=before.item_count + 1,
        created_at=before.created_at,
        shipped_at=before.shipped_at,
        product_ids=products,
    )
