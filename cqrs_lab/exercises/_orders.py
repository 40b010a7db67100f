"""Order histories that the exercise checks replay through the real Order example."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from cqrs_lab.errors import InvalidArgumentError
from cqrs_lab.examples.orders import (
    AddOrderItem,
    CancelOrder,
    CreateOrder,
    OrderLine,
    OrderSystem,
    ShipOrder,
    build_order_system,
)
from cqrs_lab.messages import Command

__all__ = ["SHOP", "ListedIds", "line", "ordered_lines", "replay"]


def line(product_id: str, quantity: int, price: float) -> OrderLine:
    """One order line, short to write."""
    return OrderLine(product_id=product_id, quantity=quantity, price=price)


class ListedIds:
    """An id factory handing out the given ids in turn (so ids need not sort by age)."""

    def __init__(self, ids: Sequence[str]) -> None:
        self._ids = list(ids)
        self._next = 0

    def __call__(self) -> str:
        if self._next >= len(self._ids):
            raise InvalidArgumentError(
                f"expected at most {len(self._ids)} ids to be asked for, found one more"
            )
        self._next += 1
        return self._ids[self._next - 1]


SHOP: tuple[Command, ...] = (
    CreateOrder(customer_id="cust-ada", items=(line("tea", 2, 3.5), line("scone", 1, 2.25))),
    # the same product twice in one order: a projection must add both lines
    CreateOrder(
        customer_id="cust-bob",
        items=(line("coffee", 1, 4.0), line("tea", 1, 3.5), line("tea", 2, 3.5)),
    ),
    AddOrderItem(order_id="order-0001", product_id="jam", quantity=3, price=1.75),
    CreateOrder(customer_id="cust-ada", items=(line("coffee", 2, 4.0),)),
    ShipOrder(order_id="order-0001"),
    AddOrderItem(order_id="order-0003", product_id="tea", quantity=1, price=3.5),
    CancelOrder(order_id="order-0002", reason="changed their mind"),
    CreateOrder(customer_id="cust-cyd", items=(line("scone", 4, 2.25),)),
    AddOrderItem(order_id="order-0004", product_id="scone", quantity=2, price=2.25),
    CreateOrder(customer_id="cust-bob", items=(line("jam", 1, 1.75),)),
)
"""A small shop's day: ten commands, every event type, orders ``order-0001`` to ``order-0005``."""


def replay(commands: Iterable[Command], *, order_ids: Sequence[str] | None = None) -> OrderSystem:
    """A fresh deterministic Order system with ``commands`` dispatched in turn."""
    ids = ListedIds(order_ids) if order_ids is not None else None
    system = build_order_system(order_ids=ids)
    for command in commands:
        system.commands.dispatch(command)
    return system


def ordered_lines(commands: Iterable[Command]) -> list[tuple[str, list[OrderLine]]]:
    """(event type, lines) for every command that adds lines, in order."""
    lines: list[tuple[str, list[OrderLine]]] = []
    for command in commands:
        if isinstance(command, CreateOrder):
            lines.append(("OrderCreated", list(command.items)))
        elif isinstance(command, AddOrderItem):
            added = line(command.product_id, command.quantity, command.price)
            lines.append(("OrderItemAdded", [added]))
    return lines
