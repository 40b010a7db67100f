"""Worked solution of exercise 2: units ordered per product."""

from cqrs_lab import Changes, Projection, RecordedEvent
from cqrs_lab.examples.orders import OrderCreated, OrderItemAdded
from cqrs_lab.projection import RowReader


class ProductUnits(Projection[int]):
    """Units ordered per product, cancelled or not."""

    name = "product_units"
    handles = frozenset({"OrderCreated", "OrderItemAdded"})

    def project(self, record: RecordedEvent, view: RowReader[int]) -> Changes:
        """Add each line's quantity to its product's row."""
        event = record.event
        if isinstance(event, OrderCreated):
            lines = [(line.product_id, line.quantity) for line in event.items]
        elif isinstance(event, OrderItemAdded):
            lines = [(event.product_id, event.quantity)]
        else:
            return {}
        changes: dict[str, int] = {}
        for product_id, quantity in lines:
            # start from this event's own change, if any: one order may list a product twice
            before = changes.get(product_id) or view.get(product_id) or 0
            changes[product_id] = before + quantity
        return changes
