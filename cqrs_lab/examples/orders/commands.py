"""The commands of the Order domain: what a client asks the write side to do."""

from __future__ import annotations

from dataclasses import dataclass

from cqrs_lab.messages import Command

__all__ = ["AddOrderItem", "CancelOrder", "CreateOrder", "OrderLine", "ShipOrder"]


@dataclass(frozen=True, kw_only=True, slots=True)
class OrderLine:
    """One product in an order: how many, at what unit price."""

    product_id: str
    quantity: int
    price: float


@dataclass(frozen=True, kw_only=True)
class CreateOrder(Command):
    """Open a new order for a customer with at least one line."""

    customer_id: str
    items: tuple[OrderLine, ...]
    shipping_address: str = ""


@dataclass(frozen=True, kw_only=True)
class AddOrderItem(Command):
    """Add a line to an open order."""

    order_id: str
    product_id: str
    quantity: int
    price: float


@dataclass(frozen=True, kw_only=True)
class CancelOrder(Command):
    """Cancel an open order, saying why."""

    order_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class ShipOrder(Command):
    """Ship an open order."""

    order_id: str
