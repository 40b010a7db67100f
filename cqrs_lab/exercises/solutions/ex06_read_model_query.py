"""Worked solution of exercise 6: the awaiting-shipment read model and its paged query."""

from cqrs_lab import Changes, InMemoryReadModel, InvalidQueryError, Projection, RecordedEvent
from cqrs_lab.examples.orders import OrderCancelled, OrderCreated, OrderItemAdded, OrderShipped
from cqrs_lab.exercises import ex06
from cqrs_lab.projection import RowReader


class AwaitingShipment(Projection[ex06.AwaitingOrder]):
    """One row per open order; shipped and cancelled orders leave the queue."""

    name = "awaiting_shipment"
    handles = frozenset({"OrderCreated", "OrderItemAdded", "OrderShipped", "OrderCancelled"})

    def project(self, record: RecordedEvent, view: RowReader[ex06.AwaitingOrder]) -> Changes:
        """The row changes of one Order event."""
        event = record.event
        if isinstance(event, OrderCreated):
            row = ex06.AwaitingOrder(
                order_id=event.order_id,
                customer_id=event.customer_id,
                item_count=len(event.items),
                total_amount=sum(item.quantity * item.price for item in event.items),
                created_at=record.recorded_at,  # when the store recorded it: the queue's order
            )
            return {event.order_id: row}
        if isinstance(event, OrderItemAdded):
            before = view.get(event.order_id)
            if before is None:  # not open any more: nothing to update
                return {}
            after = ex06.AwaitingOrder(
                order_id=before.order_id,
                customer_id=before.customer_id,
                item_count=before.item_count + 1,
                total_amount=before.total_amount + event.quantity * event.price,
                created_at=before.created_at,  # an added item does not re-queue the order
            )
            return {event.order_id: after}
        if isinstance(event, OrderShipped | OrderCancelled):
            return {event.order_id: None}  # the order leaves the queue
        return {}


def orders_awaiting_shipment(
    query: ex06.OrdersAwaitingShipment, view: InMemoryReadModel[ex06.AwaitingOrder]
) -> ex06.Page:
    """One page of the open orders, oldest first; pages count from 1."""
    page, size = query.page, query.page_size
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise InvalidQueryError(f"page must be an int >= 1, found {page!r}")
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= ex06.MAX_PAGE_SIZE:
        raise InvalidQueryError(
            f"page_size must be an int from 1 to {ex06.MAX_PAGE_SIZE}, found {size!r}"
        )
    rows = sorted(view.rows(), key=lambda row: (row.created_at, row.order_id))
    start = (page - 1) * size
    return ex06.Page(
        items=tuple(rows[start : start + size]), page=page, page_size=size, total=len(rows)
    )
