"""The Order queries, their paged result, and the handlers that answer them from the read model.

Queries check their arguments when they are built, so an invalid one never reaches a handler;
every mistake is an :class:`~cqrs_lab.errors.InvalidQueryError` (also a ``ValueError``) naming
the argument, what it accepts and what it found. ``sort_by`` is looked up in a whitelist of
view fields and never formatted into anything -- not even into its own error message.

>>> from cqrs_lab.examples.orders.app import build_order_system
>>> from cqrs_lab.examples.orders.commands import CreateOrder, OrderLine
>>> system = build_order_system()
>>> tea = (OrderLine(product_id="tea", quantity=1, price=2.0),)
>>> for customer in ("ada", "ada", "bob"):
...     _ = system.commands.dispatch(CreateOrder(customer_id=customer, items=tea))
>>> system.catch_up()
3
>>> page = system.queries.dispatch(GetCustomerOrders(customer_id="ada", page_size=1))
>>> [view.order_id for view in page.items], page.total, page.total_pages
(['order-0002'], 2, 2)
>>> GetCustomerOrders(customer_id="ada", page=0)
Traceback (most recent call last):
...
cqrs_lab.errors.InvalidQueryError: page must be a whole number >= 1, found 0
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, Generic, TypeVar

from cqrs_lab.errors import InvalidArgumentError, InvalidQueryError
from cqrs_lab.examples.orders.order import OrderStatus
from cqrs_lab.examples.orders.views import OrderReadModel, OrderView
from cqrs_lab.messages import Query
from cqrs_lab.projection import ReadModel
from cqrs_lab.query_bus import QueryBus

__all__ = [
    "MAX_PAGE",
    "MAX_PAGE_SIZE",
    "SORTABLE_FIELDS",
    "GetCustomerOrders",
    "GetOrderById",
    "OrderQueryHandlers",
    "Page",
    "SearchOrders",
    "sort_key",
]

T = TypeVar("T")

MAX_PAGE_SIZE = 100
"""The largest ``page_size`` a query accepts."""

MAX_PAGE = 1_000_000
"""The largest ``page`` a query accepts.

A page past it is refused when the query is built, so both backends answer alike: a page's
offset, ``(page - 1) * page_size``, always fits a SQLite INTEGER (one past 2**63 - 1 would
raise ``OverflowError`` in the SQL handlers, where the in-memory ones found an empty page).
"""

_NEVER = datetime.min.replace(tzinfo=UTC)  # stands in for a missing shipped_at when sorting


def _shipped_at_key(view: OrderView) -> tuple[Any, ...]:
    # orders not shipped yet sort after the shipped ones (first, when descending)
    shipped_at = view.shipped_at
    if shipped_at is None:
        return (True, _NEVER, view.order_id)
    return (False, shipped_at, view.order_id)


# Every key ends with the order id, which is unique: ties are broken the same way every time.
_SORT_KEYS: dict[str, Callable[[OrderView], Any]] = {
    "created_at": attrgetter("created_at", "order_id"),
    "customer_id": attrgetter("customer_id", "order_id"),
    "item_count": attrgetter("item_count", "order_id"),
    "order_id": attrgetter("order_id"),
    "shipped_at": _shipped_at_key,
    "status": attrgetter("status", "order_id"),
    "total_amount": attrgetter("total_amount", "order_id"),
}

SORTABLE_FIELDS: tuple[str, ...] = tuple(sorted(_SORT_KEYS))
"""The :class:`~cqrs_lab.examples.orders.views.OrderView` fields ``SearchOrders`` may sort by."""

_STATUSES = ", ".join(repr(status.value) for status in OrderStatus)


def sort_key(sort_by: object) -> Callable[[OrderView], Any]:
    """The key that sorts views by ``sort_by``, ties by order id; only whitelisted names pass.

    Raises :class:`~cqrs_lab.errors.InvalidQueryError` for any other value, without echoing it:
    a caller-chosen identifier goes nowhere but this lookup.

    >>> sort_key("created_at; DROP TABLE order_views")
    Traceback (most recent call last):
    ...
    cqrs_lab.errors.InvalidQueryError: sort_by must be one of created_at, ...; found a name not...
    """
    key = _SORT_KEYS.get(sort_by) if isinstance(sort_by, str) else None
    if key is None:
        raise InvalidQueryError(
            f"sort_by must be one of {', '.join(SORTABLE_FIELDS)}; found a name not on that list"
        )
    return key


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def _is_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_page(page: object, page_size: object) -> None:
    if not _is_whole(page) or page < 1:  # type: ignore[operator]
        raise InvalidQueryError(f"page must be a whole number >= 1, found {_shown(page)}")
    if page > MAX_PAGE:  # type: ignore[operator]
        raise InvalidQueryError(f"page must be at most {MAX_PAGE}, found {_shown(page)}")
    if not _is_whole(page_size) or not 1 <= page_size <= MAX_PAGE_SIZE:  # type: ignore[operator]
        raise InvalidQueryError(
            f"page_size must be a whole number from 1 to {MAX_PAGE_SIZE}, found {_shown(page_size)}"
        )


def _check_text(name: str, value: object) -> None:
    if not isinstance(value, str):
        raise InvalidQueryError(f"{name} must be a string, found {type(value).__name__}")


def _check_status(status: object) -> None:
    if status is None:
        return
    if isinstance(status, str):
        try:
            OrderStatus(status)
        except ValueError:
            pass
        else:
            return
    raise InvalidQueryError(f"status must be one of {_STATUSES} or None, found {_shown(status)}")


def _status_value(status: str | None) -> str | None:
    return None if status is None else OrderStatus(status).value


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a query's results, newest or best first, and how many there are in all.

    ``total_pages`` is 0 when there are no results: page 1 of nothing is an empty page.

    >>> Page(items=(), total=0, page=1, page_size=20).total_pages
    0
    >>> Page(items=("a",), total=41, page=3, page_size=20).total_pages
    3
    """

    items: tuple[T, ...]
    total: int
    page: int
    page_size: int

    def __post_init__(self) -> None:
        _check_page(self.page, self.page_size)
        if not _is_whole(self.total) or self.total < 0:
            raise InvalidQueryError(f"total must be a whole number >= 0, found {self.total!r}")

    @property
    def total_pages(self) -> int:
        """How many pages ``total`` results fill (0 when there are none)."""
        return -(-self.total // self.page_size)

    @property
    def has_next(self) -> bool:
        """Whether a later page holds more results."""
        return self.page < self.total_pages


@dataclass(frozen=True, kw_only=True)
class GetOrderById(Query):
    """One order's view, or ``None`` if the read model has no such order (yet)."""

    order_id: str

    def __post_init__(self) -> None:
        _check_text("order_id", self.order_id)


@dataclass(frozen=True, kw_only=True)
class GetCustomerOrders(Query):
    """A page of one customer's orders, newest first, optionally only those in one status.

    Orders created at the same instant come greater order id first.
    """

    customer_id: str
    status: OrderStatus | str | None = None
    page: int = 1
    page_size: int = 20

    def __post_init__(self) -> None:
        _check_text("customer_id", self.customer_id)
        _check_status(self.status)
        _check_page(self.page, self.page_size)


@dataclass(frozen=True, kw_only=True)
class SearchOrders(Query):
    """A page of the orders matching every filter given, sorted by one view field.

    ``text`` matches, ignoring case, part of the customer id or of any product id ("" matches
    all). ``min_total``/``max_total`` bound ``total_amount``, both inclusive. ``sort_by`` is one
    of :data:`SORTABLE_FIELDS`; ties are broken by order id, and orders not shipped sort after
    the shipped ones by ``shipped_at`` (before them when ``descending``).
    """

    text: str = ""
    status: OrderStatus | str | None = None
    min_total: float | None = None
    max_total: float | None = None
    sort_by: str = "created_at"
    descending: bool = True
    page: int = 1
    page_size: int = 20

    def __post_init__(self) -> None:
        _check_text("text", self.text)
        _check_status(self.status)
        for name in ("min_total", "max_total"):
            bound = getattr(self, name)
            if bound is None:
                continue
            if isinstance(bound, bool) or not isinstance(bound, int | float):
                raise InvalidQueryError(
                    f"{name} must be a number or None, found {type(bound).__name__}"
                )
            if not math.isfinite(bound):
                raise InvalidQueryError(f"{name} must be a finite number, found {bound!r}")
        low, high = self.min_total, self.max_total
        if low is not None and high is not None and low > high:
            raise InvalidQueryError(
                f"min_total must be <= max_total, found min_total={low!r} > max_total={high!r}"
            )
        sort_key(self.sort_by)
        if not isinstance(self.descending, bool):
            raise InvalidQueryError(
                f"descending must be True or False, found {type(self.descending).__name__}"
            )
        _check_page(self.page, self.page_size)


class OrderQueryHandlers:
    """Answers the Order queries from whatever read model ``read_model_source()`` returns now.

    Pass ``lambda: projector.read_model``: a blue/green rebuild replaces the projector's read
    model, and the next query reads the new one.
    """

    def __init__(self, read_model_source: Callable[[], ReadModel[OrderView]]) -> None:
        self._source = read_model_source

    def register(self, bus: QueryBus) -> None:
        """Register every handler on ``bus``."""
        bus.register(GetOrderById, self.get_order_by_id)
        bus.register(GetCustomerOrders, self.get_customer_orders)
        bus.register(SearchOrders, self.search_orders)

    def read_model(self) -> OrderReadModel:
        """The read model queries read now."""
        model = self._source()
        if not isinstance(model, OrderReadModel):
            raise InvalidArgumentError(
                f"the Order queries need an OrderReadModel (it keeps the per-customer index), "
                f"found {type(model).__name__}; give the projector read_model=OrderReadModel()"
            )
        return model

    def get_order_by_id(self, query: GetOrderById) -> OrderView | None:
        """The order's view, or ``None``."""
        return self.read_model().get(query.order_id)

    def get_customer_orders(self, query: GetCustomerOrders) -> Page[OrderView]:
        """A page of the customer's orders, newest first: O(page size), from the index."""
        rows, total = self.read_model().customer_orders(
            query.customer_id,
            _status_value(query.status),
            offset=(query.page - 1) * query.page_size,
            limit=query.page_size,
        )
        return Page(items=tuple(rows), total=total, page=query.page, page_size=query.page_size)

    def search_orders(self, query: SearchOrders) -> Page[OrderView]:
        """A page of the matching orders: filters every row, then keeps only the page's top."""
        rows = self.read_model().snapshot()
        status = _status_value(query.status)
        if status is not None:
            rows = [row for row in rows if row.status == status]
        if query.min_total is not None:
            low = query.min_total
            rows = [row for row in rows if row.total_amount >= low]
        if query.max_total is not None:
            high = query.max_total
            rows = [row for row in rows if row.total_amount <= high]
        needle = query.text.strip().casefold()
        if needle:
            rows = [row for row in rows if _mentions(row, needle)]
        total = len(rows)
        offset = (query.page - 1) * query.page_size
        items: list[OrderView] = []
        if offset < total:
            wanted, key = offset + query.page_size, sort_key(query.sort_by)
            top = heapq.nlargest if query.descending else heapq.nsmallest
            items = top(wanted, rows, key=key)[offset:]
        return Page(items=tuple(items), total=total, page=query.page, page_size=query.page_size)


def _mentions(view: OrderView, needle: str) -> bool:
    if needle in view.customer_id.casefold():
        return True
    return any(needle in product.casefold() for product in view.product_ids)
