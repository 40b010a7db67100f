"""Command handlers of the Order domain: load, decide, save -- validation before any append."""

from __future__ import annotations

from cqrs_lab.aggregate import Repository
from cqrs_lab.command_bus import CommandBus
from cqrs_lab.errors import DomainError
from cqrs_lab.event_store import EventStore
from cqrs_lab.examples.orders.commands import AddOrderItem, CancelOrder, CreateOrder, ShipOrder
from cqrs_lab.examples.orders.order import Order
from cqrs_lab.ids import IdFactory
from cqrs_lab.messages import CommandEnvelope, Receipt

__all__ = ["OrderCommandHandlers", "OrderNotFoundError"]


class OrderNotFoundError(DomainError, LookupError):
    """Raised when a command names an order that does not exist."""


class OrderCommandHandlers:
    """The handlers for every Order command, sharing one repository and one order-id factory."""

    def __init__(self, store: EventStore, order_ids: IdFactory) -> None:
        self.orders: Repository[Order] = Repository(store, Order, not_found=_order_not_found)
        self._order_ids = order_ids

    def register(self, bus: CommandBus) -> None:
        """Register every handler on ``bus``."""
        bus.register(CreateOrder, self.create_order)
        bus.register(AddOrderItem, self.add_order_item)
        bus.register(CancelOrder, self.cancel_order)
        bus.register(ShipOrder, self.ship_order)

    def create_order(self, envelope: CommandEnvelope[CreateOrder]) -> Receipt:
        """Open an order; its id is the receipt's stream id, drawn once the command is valid."""
        command = envelope.command
        order = Order.create_with_new_id(
            self._order_ids, command.customer_id, command.items, command.shipping_address
        )
        return self.orders.save(order, cause=envelope)

    def add_order_item(self, envelope: CommandEnvelope[AddOrderItem]) -> Receipt:
        """Add a line to an open order."""
        command = envelope.command
        order = self.orders.load(command.order_id)
        order.add_item(command.product_id, command.quantity, command.price)
        return self.orders.save(order, cause=envelope)

    def cancel_order(self, envelope: CommandEnvelope[CancelOrder]) -> Receipt:
        """Cancel an open order."""
        command = envelope.command
        order = self.orders.load(command.order_id)
        order.cancel(command.reason)
        return self.orders.save(order, cause=envelope)

    def ship_order(self, envelope: CommandEnvelope[ShipOrder]) -> Receipt:
        """Ship an open order."""
        command = envelope.command
        order = self.orders.load(command.order_id)
        order.ship()
        return self.orders.save(order, cause=envelope)


def _order_not_found(order_id: str) -> Exception:
    return OrderNotFoundError(f"order {order_id!r} not found")
