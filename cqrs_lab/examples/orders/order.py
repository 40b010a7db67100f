"""The Order aggregate: it checks the rules, records events, and is rebuilt from them."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from cqrs_lab.aggregate import Aggregate
from cqrs_lab.errors import DomainError
from cqrs_lab.examples.orders.commands import OrderLine
from cqrs_lab.examples.orders.events import (
    OrderCancelled,
    OrderCreated,
    OrderItemAdded,
    OrderShipped,
)
from cqrs_lab.ids import IdFactory
from cqrs_lab.messages import Event

__all__ = ["InvalidOrderError", "Order", "OrderState", "OrderStatus", "validate_line"]


class InvalidOrderError(DomainError):
    """Raised when a command would break an Order rule; nothing was appended."""


class OrderStatus(StrEnum):
    """Where an order is in its life."""

    OPEN = "open"
    CANCELLED = "cancelled"
    SHIPPED = "shipped"


@dataclass(frozen=True, slots=True)
class OrderState:
    """Everything the write side knows about one order: a snapshot, see :attr:`Order.state`."""

    customer_id: str = ""
    lines: tuple[OrderLine, ...] = ()
    status: OrderStatus = OrderStatus.OPEN
    shipping_address: str = ""
    cancel_reason: str = ""

    @property
    def total(self) -> float:
        """Sum of quantity times price over the lines."""
        return sum(line.quantity * line.price for line in self.lines)


def validate_line(product_id: str, quantity: int, price: float) -> None:
    """Raise :class:`InvalidOrderError` unless the line is a real product, count and price."""
    if not isinstance(product_id, str) or not product_id.strip():
        raise InvalidOrderError(f"product_id must be a non-blank string, found {product_id!r}")
    if not _is_int(quantity) or quantity <= 0:
        raise InvalidOrderError(
            f"quantity of {product_id!r} must be a whole number > 0, found {quantity!r}"
        )
    if not _is_number(price) or not math.isfinite(price):
        raise InvalidOrderError(f"price of {product_id!r} must be a finite number, found {price!r}")
    if price < 0:
        raise InvalidOrderError(f"price of {product_id!r} must be >= 0, found {price!r}")


def _is_int(value: object) -> bool:
    # a bool is an int to Python, but True is no quantity
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Order(Aggregate):
    """An order: created with lines, then added to, and finally cancelled or shipped."""

    def __init__(self, order_id: str) -> None:
        super().__init__(order_id)
        self.customer_id = ""
        self.lines: list[OrderLine] = []
        self.status = OrderStatus.OPEN
        self.shipping_address = ""
        self.cancel_reason = ""

    @property
    def state(self) -> OrderState:
        """Everything the write side knows about the order, as a frozen snapshot."""
        return OrderState(
            customer_id=self.customer_id,
            lines=tuple(self.lines),
            status=self.status,
            shipping_address=self.shipping_address,
            cancel_reason=self.cancel_reason,
        )

    @classmethod
    def create(
        cls,
        order_id: str,
        customer_id: str,
        items: tuple[OrderLine, ...],
        shipping_address: str = "",
    ) -> Order:
        """A new order recording :class:`OrderCreated`, once its input is valid."""
        return cls.create_with_new_id(lambda: order_id, customer_id, items, shipping_address)

    @classmethod
    def create_with_new_id(
        cls,
        new_id: IdFactory,
        customer_id: str,
        items: tuple[OrderLine, ...],
        shipping_address: str = "",
    ) -> Order:
        """Like :meth:`create`, with the id drawn from ``new_id`` only once the input is valid:
        a refused order uses up no id."""
        if not isinstance(customer_id, str) or not customer_id.strip():
            raise InvalidOrderError(
                f"customer_id must be a non-blank string, found {customer_id!r}"
            )
        if not items:
            raise InvalidOrderError("an order needs at least one item, found none")
        for line in items:
            if not isinstance(line, OrderLine):
                raise InvalidOrderError(f"items must be OrderLine values, found {line!r}")
            validate_line(line.product_id, line.quantity, line.price)
        order_id = new_id()
        order = cls(order_id)
        order.record(
            OrderCreated(
                order_id=order_id,
                customer_id=customer_id,
                items=tuple(items),
                shipping_address=shipping_address,
            )
        )
        return order

    def add_item(self, product_id: str, quantity: int, price: float) -> None:
        """Record :class:`OrderItemAdded` if the order is open and the line valid."""
        if self.status is not OrderStatus.OPEN:
            raise self._not_open("add an item to")
        validate_line(product_id, quantity, price)
        self.record(
            OrderItemAdded(order_id=self.id, product_id=product_id, quantity=quantity, price=price)
        )

    def cancel(self, reason: str) -> None:
        """Record :class:`OrderCancelled` if the order is open."""
        if self.status is not OrderStatus.OPEN:
            raise self._not_open("cancel")
        self.record(OrderCancelled(order_id=self.id, reason=reason))

    def ship(self) -> None:
        """Record :class:`OrderShipped` if the order is open."""
        if self.status is not OrderStatus.OPEN:
            raise self._not_open("ship")
        self.record(OrderShipped(order_id=self.id))

    def _not_open(self, action: str) -> InvalidOrderError:
        return InvalidOrderError(
            f"cannot {action} order {self.id!r}: it is {self.status.value}, "
            "only an open order can change"
        )

    def apply(self, event: Event) -> None:
        """Change state to reflect ``event``."""
        match event:
            case OrderCreated():
                self.customer_id = event.customer_id
                self.lines = list(event.items)
                self.status = OrderStatus.OPEN
                self.shipping_address = event.shipping_address
            case OrderItemAdded():
                self.lines.append(
                    OrderLine(
                        product_id=event.product_id, quantity=event.quantity, price=event.price
                    )
                )
            case OrderCancelled():
                self.status = OrderStatus.CANCELLED
                self.cancel_reason = event.reason
            case OrderShipped():
                self.status = OrderStatus.SHIPPED
            case _:
                raise TypeError(f"Order cannot apply {type(event).__name__}")

    def __repr__(self) -> str:
        return f"Order({self.id!r}, version={self.version}, state={self.state!r})"
