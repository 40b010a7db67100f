"""The Order read model: one denormalised row per order, and a per-customer index for paging.

The projection is pure and lean (it runs once per event during a rebuild); ``created_at`` and
``shipped_at`` come from the envelope's ``recorded_at``, not from the events.

>>> from cqrs_lab.clock import DEFAULT_START
>>> from cqrs_lab.examples.orders.commands import OrderLine
>>> from cqrs_lab.examples.orders.events import OrderCreated
>>> from cqrs_lab.messages import RecordedEvent
>>> tea = OrderLine(product_id="tea", quantity=2, price=3.5)
>>> created = OrderCreated(order_id="order-1", customer_id="ada", items=(tea,))
>>> record = RecordedEvent(1, "order-1", 1, DEFAULT_START, "OrderCreated", 1, created)
>>> model = OrderReadModel()
>>> model.commit(1, OrderViewProjection().project(record, model))
True
>>> row = model.get("order-1")
>>> row.status, row.total_amount, row.item_count, row.product_ids
('open', 7.0, 1, ('tea',))
>>> [view.order_id for view in model.customer_orders("ada", offset=0, limit=10)[0]]
['order-1']
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from cqrs_lab.errors import CqrsLabError
from cqrs_lab.examples.orders.events import (
    OrderCancelled,
    OrderCreated,
    OrderItemAdded,
    OrderShipped,
)
from cqrs_lab.examples.orders.order import OrderStatus
from cqrs_lab.messages import RecordedEvent
from cqrs_lab.projection import Changes, InMemoryReadModel, Projection, RowReader

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ORDER_VIEW_COLUMNS",
    "OrderReadModel",
    "OrderView",
    "OrderViewError",
    "OrderViewProjection",
]


class OrderViewError(CqrsLabError, LookupError):
    """Raised when an event names an order the view has not seen created."""


class OrderView(NamedTuple):
    """One order as the read side shows it: the playbook's seven fields, then its product ids.

    ``created_at`` and ``shipped_at`` are when the store recorded ``OrderCreated`` and
    ``OrderShipped``; ``product_ids`` lists each product once, in the order first added. A row
    is an immutable record, a ``NamedTuple``: a catch-up builds one per event, and a new row
    from the old one with ``_replace`` costs a fraction of a frozen dataclass's ``replace``.
    """

    order_id: str
    customer_id: str
    status: str
    total_amount: float
    item_count: int
    created_at: datetime
    shipped_at: datetime | None = None
    product_ids: tuple[str, ...] = ()


ORDER_VIEW_COLUMNS: tuple[str, ...] = OrderView._fields
"""The fields of :class:`OrderView`, in order: the columns of its DataFrame."""


class OrderViewProjection(Projection[OrderView]):
    """Turns the four Order events into :class:`OrderView` rows keyed by order id."""

    name = "order_views"
    handles = frozenset(
        {
            OrderCreated.type_name,
            OrderItemAdded.type_name,
            OrderCancelled.type_name,
            OrderShipped.type_name,
        }
    )

    def project(self, record: RecordedEvent, view: RowReader[OrderView]) -> Changes:
        """``{order_id: new row}`` for ``record``; changes nothing itself.

        It goes by the stored type name, as ``handles`` does, so an event read back through an
        upcaster (a newer class under the same name) is projected like any other.
        """
        event: Any = record.event
        if record.event_type == OrderCreated.type_name:
            return {event.order_id: _created(event, record.recorded_at)}
        before = view.get(event.order_id)
        if before is None:
            raise OrderViewError(
                f"{record.event_type} at position {record.position} names order "
                f"{event.order_id!r}, which the view has not seen created; "
                "expected OrderCreated first"
            )
        match record.event_type:
            case OrderItemAdded.type_name:
                products = before.product_ids
                if event.product_id not in products:
                    products = (*products, event.product_id)
                row = before._replace(
                    total_amount=before.total_amount + event.quantity * event.price,
                    item_count=before.item_count + 1,
                    product_ids=products,
                )
            case OrderShipped.type_name:
                shipped = OrderStatus.SHIPPED.value
                row = before._replace(status=shipped, shipped_at=record.recorded_at)
            case OrderCancelled.type_name:
                row = before._replace(status=OrderStatus.CANCELLED.value)
            case _:
                raise OrderViewError(f"{self.name} cannot project {record.event_type}")
        return {event.order_id: row}


def _index_key(row: OrderView) -> tuple[str, str, datetime]:
    """What the indexes file a row under."""
    return row.customer_id, str(row.status), row.created_at


def _created(event: OrderCreated, recorded_at: datetime) -> OrderView:
    """The first row of an order: its lines summed, each product listed once."""
    products: list[str] = []
    for line in event.items:
        if line.product_id not in products:
            products.append(line.product_id)
    return OrderView(
        order_id=event.order_id,
        customer_id=event.customer_id,
        status=OrderStatus.OPEN.value,
        total_amount=float(sum(line.quantity * line.price for line in event.items)),
        item_count=len(event.items),
        created_at=recorded_at,
        product_ids=tuple(products),
    )


_Entry = tuple[datetime, str]  # (created_at, order_id): sorts oldest first, ties by order id


class OrderReadModel(InMemoryReadModel[OrderView]):
    """The order rows plus per-customer indexes, so a page of a customer's orders is cheap.

    For each customer, and for each (customer, status), a sorted list of
    ``(created_at, order_id)`` is kept as rows change; newest first is read from its end, so a
    page costs O(page size), never a scan. Orders created at the same instant come in a fixed
    order: the greater order id first when newest first.
    """

    def __init__(self, name: str = OrderViewProjection.name) -> None:
        super().__init__(name)
        self._by_customer: dict[str, list[_Entry]] = {}
        self._by_status: dict[str, dict[str, list[_Entry]]] = {s.value: {} for s in OrderStatus}

    def _on_change(self, key: str, before: OrderView | None, after: OrderView | None) -> None:
        # str(): an OrderStatus member hashes unlike its value, so the indexes key by the value
        if before is not None and after is not None and _index_key(before) == _index_key(after):
            return  # e.g. an item added: no index moves
        by_status = self._by_status
        if before is not None:
            entry = (before.created_at, key)
            _remove(self._by_customer, before.customer_id, entry)
            _remove(by_status.setdefault(str(before.status), {}), before.customer_id, entry)
        if after is not None:
            entry = (after.created_at, key)
            _insert(self._by_customer, after.customer_id, entry)
            _insert(by_status.setdefault(str(after.status), {}), after.customer_id, entry)

    def _on_clear(self) -> None:
        self._by_customer.clear()
        for by_customer in self._by_status.values():
            by_customer.clear()

    def customer_orders(
        self,
        customer_id: str,
        status: str | None = None,
        *,
        offset: int,
        limit: int,
    ) -> tuple[list[OrderView], int]:
        """Up to ``limit`` of a customer's orders newest first, after skipping ``offset``.

        ``status`` is an :class:`OrderStatus` value. Returns the rows and how many orders the
        customer has (in that status, if given). Costs O(``limit``), whatever the customer has.
        """
        with self._lock:
            index = self._by_customer if status is None else self._by_status.get(str(status), {})
            entries = index.get(customer_id)
            if not entries:
                return [], 0
            total = len(entries)
            end = total - offset
            if end <= 0 or limit <= 0:
                return [], total
            rows = self._rows
            page = entries[max(end - limit, 0) : end]
            return [rows[key] for _, key in reversed(page)], total

    def customers(self) -> list[str]:
        """Every customer with at least one order, sorted."""
        with self._lock:
            return sorted(self._by_customer)

    def snapshot(self) -> list[OrderView]:
        """Every row, in no particular order, as one consistent copy."""
        with self._lock:
            return list(self._rows.values())

    def to_dataframe(
        self, row_to_dict: Callable[[OrderView], Mapping[str, Any]] | None = None
    ) -> pd.DataFrame:
        """The rows as a table indexed by ``order_id``; ``status`` is its plain string value."""
        if row_to_dict is not None:
            return super().to_dataframe(row_to_dict)
        import pandas as pd

        records = [
            (
                row.order_id,
                row.customer_id,
                row.status,
                row.total_amount,
                row.item_count,
                row.created_at,
                row.shipped_at,
                row.product_ids,
            )
            for row in self.rows()
        ]
        return pd.DataFrame.from_records(records, columns=list(ORDER_VIEW_COLUMNS)).set_index(
            "order_id"
        )


def _insert(index: dict[str, list[_Entry]], key: str, entry: _Entry) -> None:
    entries = index.get(key)
    if entries is None:
        index[key] = [entry]
    elif entries[-1] < entry:  # a new order is usually its customer's newest
        entries.append(entry)
    else:
        insort(entries, entry)


def _remove(index: dict[str, list[_Entry]], key: str, entry: _Entry) -> None:
    entries = index.get(key)
    if entries is None:
        return
    at = bisect_left(entries, entry)
    if at < len(entries) and entries[at] == entry:
        del entries[at]
        if not entries:
            del index[key]
