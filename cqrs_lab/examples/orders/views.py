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
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from cqrs_lab.construction import unfrozen_twin
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

_OPEN: str = OrderStatus.OPEN.value
_CANCELLED: str = OrderStatus.CANCELLED.value
_SHIPPED: str = OrderStatus.SHIPPED.value
_CREATED = OrderCreated.type_name
_ITEM_ADDED = OrderItemAdded.type_name
_CANCELLED_TYPE = OrderCancelled.type_name
_SHIPPED_TYPE = OrderShipped.type_name


class OrderViewError(CqrsLabError, LookupError):
    """Raised when an event names an order the view has not seen created."""


@dataclass(frozen=True, slots=True)
class OrderView:
    """One order as the read side shows it: the playbook's seven fields, then its product ids.

    ``created_at`` and ``shipped_at`` are when the store recorded ``OrderCreated`` and
    ``OrderShipped``; ``product_ids`` lists each product once, in the order first added.
    """

    order_id: str
    customer_id: str
    status: str
    total_amount: float
    item_count: int
    created_at: datetime
    shipped_at: datetime | None = None
    product_ids: tuple[str, ...] = ()


# A frozen dataclass's __init__ sets each field through object.__setattr__: ~1 us per row here,
# half the per-event budget of a catch-up. The projection builds the rows of its two frequent
# events as OrderView's unfrozen twin, slot by slot, then gives each OrderView's class: same
# layout and values, frozen from then on (a third of the cost; see construction.unfrozen_twin).
# tests/test_order_views.py checks such rows equal plain OrderViews.
_Draft = unfrozen_twin(OrderView)


ORDER_VIEW_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(OrderView))
"""The fields of :class:`OrderView`, in order: the columns of its DataFrame."""


class OrderViewProjection(Projection[OrderView]):
    """Turns the four Order events into :class:`OrderView` rows keyed by order id."""

    name: ClassVar[str] = "order_views"
    handles: ClassVar[frozenset[str]] = frozenset(
        {_CREATED, _ITEM_ADDED, _CANCELLED_TYPE, _SHIPPED_TYPE}
    )

    def project(self, record: RecordedEvent, view: RowReader[OrderView]) -> Changes:
        """``{order_id: new row}`` for ``record``; changes nothing itself."""
        # The hot path of every catch-up and rebuild: rows are built inline (see _Draft).
        event: Any = record.event
        kind = record.event_type
        order_id = event.order_id
        if kind == _CREATED:
            items = event.items
            if len(items) == 1:
                line = items[0]
                total = 0.0 + line.quantity * line.price  # a float, as in the loop below
                products: tuple[str, ...] = (line.product_id,)
            else:
                total = 0.0
                seen: list[str] = []
                for line in items:
                    total += line.quantity * line.price
                    if line.product_id not in seen:
                        seen.append(line.product_id)
                products = tuple(seen)
            row: Any = _Draft()  # slot by slot: no frozen __init__ on the hot path
            row.order_id = order_id
            row.customer_id = event.customer_id
            row.status = _OPEN
            row.total_amount = total
            row.item_count = len(items)
            row.created_at = record.recorded_at
            row.shipped_at = None
            row.product_ids = products
            row.__class__ = OrderView
            return {order_id: row}
        before = view.get(order_id)
        if before is None:
            raise OrderViewError(
                f"{kind} at position {record.position} names order {order_id!r}, which the view "
                f"has not seen created; expected OrderCreated first"
            )
        if kind == _ITEM_ADDED:
            products = before.product_ids
            if event.product_id not in products:
                products = (*products, event.product_id)
            row = _Draft()
            row.order_id = order_id
            row.customer_id = before.customer_id
            row.status = before.status
            row.total_amount = before.total_amount + event.quantity * event.price
            row.item_count = before.item_count + 1
            row.created_at = before.created_at
            row.shipped_at = before.shipped_at
            row.product_ids = products
            row.__class__ = OrderView
        elif kind == _SHIPPED_TYPE:
            row = replace(before, status=_SHIPPED, shipped_at=record.recorded_at)
        else:  # OrderCancelled
            row = replace(before, status=_CANCELLED)
        return {order_id: row}


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

    def _write(self, changes: Changes) -> None:
        # The base's loop (rows first, then the indexes, for each key) with _on_change inlined
        # for the usual cases: a catch-up calls this per batch, and a method call per row was a
        # fifth of the per-event budget. Any other change goes through _on_change.
        rows = self._rows
        by_customer = self._by_customer
        open_orders = self._by_status[_OPEN]
        for key, after in changes.items():
            before = rows.get(key)
            if after is None:
                rows.pop(key, None)
                self._on_change(key, before, after)
                continue
            rows[key] = after
            if before is None:
                if after.status is not _OPEN:
                    self._on_change(key, before, after)
                    continue
                # a new open order, usually its customer's newest: an append to two lists
                created_at = after.created_at
                entry = (created_at, key)
                customer = after.customer_id
                entries = by_customer.get(customer)
                if entries is None:
                    by_customer[customer] = [entry]
                elif entries[-1][0] < created_at:
                    entries.append(entry)
                else:
                    insort(entries, entry)
                entries = open_orders.get(customer)
                if entries is None:
                    open_orders[customer] = [entry]
                elif entries[-1][0] < created_at:
                    entries.append(entry)
                else:
                    insort(entries, entry)
            elif (
                after.status != before.status
                or after.customer_id != before.customer_id
                or after.created_at != before.created_at
            ):
                self._on_change(key, before, after)
            # else: an item added; no index moves

    def _on_change(self, key: str, before: OrderView | None, after: OrderView | None) -> None:
        # str(): an OrderStatus member hashes unlike its value, so the indexes key by the value
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
