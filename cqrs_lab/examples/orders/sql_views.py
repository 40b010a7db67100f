"""What the SQL order views share, whatever the database: columns, ``ORDER BY`` and the queries.

:mod:`~cqrs_lab.examples.orders.sqlite_views` and :mod:`~cqrs_lab.examples.orders.postgres_views`
store the same columns and answer the same Order queries the same way; only the SQL differs
(how a value is bound, how a list of products is searched). Each of them writes its SQL in an
:class:`OrderSql` and subclasses :class:`SqlOrderQueriesBase`, which turns a query into
``WHERE`` conditions, bound values and a page. ``ORDER BY`` is a fixed fragment looked up by the
whitelisted ``sort_by`` name: the caller's text is never part of a statement.

>>> ORDER_BY["total_amount", True]
'total_amount DESC, order_id DESC'
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Final, NamedTuple, Protocol

from cqrs_lab.errors import InvalidQueryError
from cqrs_lab.examples.orders.order import OrderStatus
from cqrs_lab.examples.orders.queries import (
    SORTABLE_FIELDS,
    GetCustomerOrders,
    GetOrderById,
    Page,
    SearchOrders,
)
from cqrs_lab.examples.orders.views import OrderView
from cqrs_lab.query_bus import QueryBus

__all__ = [
    "ORDER_BY",
    "SELECTED_COLUMNS",
    "STORED_COLUMNS",
    "OrderSql",
    "SqlOrderQueriesBase",
    "SqlOrderViews",
    "like_pattern",
]

STORED_COLUMNS: Final[tuple[str, ...]] = (
    "order_id",
    "customer_id",
    "status",
    "total_amount",
    "item_count",
    "created_at",
    "shipped_at",
    "product_ids",
    "customer_search",
    "product_search",
)
"""The ``order_views`` columns: the playbook's, ``product_ids``, and two case-folded for search."""

SELECTED_COLUMNS: Final = (
    "order_id, customer_id, status, total_amount, item_count, created_at, shipped_at, product_ids"
)
"""The columns a query reads: an :class:`OrderView`'s (the search columns are not part of it)."""


def _order_by(column: str, descending: bool) -> str:
    way = "DESC" if descending else "ASC"
    if column == "order_id":
        return f"order_id {way}"
    if column == "shipped_at":  # not shipped sorts after shipped, as the in-memory handler does
        return f"(shipped_at IS NULL) {way}, shipped_at {way}, order_id {way}"
    return f"{column} {way}, order_id {way}"  # ties broken by the unique order id


ORDER_BY: Final[dict[tuple[str, bool], str]] = {
    (field, descending): _order_by(field, descending)
    for field in SORTABLE_FIELDS
    for descending in (False, True)
}
"""(sort_by, descending) -> the fixed ORDER BY fragment; built once from the whitelist."""


def like_pattern(text: str) -> str:
    r"""A LIKE pattern matching ``text`` anywhere, its ``%``, ``_`` and ``\`` taken literally.

    >>> like_pattern("50%_off")
    '%50\\%\\_off%'
    """
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class OrderSql(NamedTuple):
    """One database's SQL for the Order queries: a condition per filter, and the page's limit.

    The conditions name their values ``customer_id``, ``status``, ``min_total``, ``max_total``
    and ``pattern``; ``page`` names ``limit`` and ``offset``; ``order_id`` binds one value by
    position.
    """

    order_id: str
    customer: str
    status: str
    min_total: str
    max_total: str
    text: str
    page: str


class _Database(Protocol):
    def fetchone(self, sql: str, parameters: Sequence[Any] = (), /) -> tuple[Any, ...] | None:
        """Run one statement and return its first row, or None."""

    def snapshot(self) -> AbstractContextManager[Any]:
        """A read transaction whose statements all see one state of the database."""


class SqlOrderViews(Protocol):
    """What the queries need of the views: the checked table name, its database, and its rows."""

    @property
    def table(self) -> str:
        """The table's name, an identifier the read model has checked."""

    @property
    def db(self) -> _Database:
        """The database the table is in."""

    def from_columns(self, values: tuple[Any, ...]) -> OrderView:
        """The :class:`OrderView` of one row of :data:`SELECTED_COLUMNS`."""


class SqlOrderQueriesBase(ABC):
    """Answers the Order queries with SQL; a subclass gives its :class:`OrderSql` and its views.

    Same queries, same answers as :class:`~cqrs_lab.examples.orders.queries.OrderQueryHandlers`
    over the in-memory read model; a page's rows and its total are read in one snapshot.
    """

    def __init__(self, sql: OrderSql) -> None:
        self._sql = sql

    @abstractmethod
    def _views_now(self) -> SqlOrderViews:
        """The views the next query reads."""

    def register(self, bus: QueryBus) -> None:
        """Register every handler on ``bus``."""
        bus.register(GetOrderById, self.get_order_by_id)
        bus.register(GetCustomerOrders, self.get_customer_orders)
        bus.register(SearchOrders, self.search_orders)

    def get_order_by_id(self, query: GetOrderById) -> OrderView | None:
        """The order's view, or ``None``."""
        views = self._views_now()
        by_id = f"SELECT {SELECTED_COLUMNS} FROM {views.table} WHERE {self._sql.order_id}"
        values = views.db.fetchone(by_id, (query.order_id,))
        return None if values is None else views.from_columns(values)

    def get_customer_orders(self, query: GetCustomerOrders) -> Page[OrderView]:
        """A page of the customer's orders, newest first (the customer index serves it)."""
        where = [self._sql.customer]
        parameters: dict[str, Any] = {"customer_id": query.customer_id}
        if query.status is not None:
            where.append(self._sql.status)
            parameters["status"] = OrderStatus(query.status).value
        return self._page(where, parameters, ORDER_BY["created_at", True], query)

    def search_orders(self, query: SearchOrders) -> Page[OrderView]:
        """A page of the orders matching every filter, sorted by a whitelisted field."""
        order_by = ORDER_BY.get((query.sort_by, query.descending))
        if order_by is None:  # SearchOrders checks this too; a forged query stops here
            raise InvalidQueryError(
                f"sort_by must be one of {', '.join(SORTABLE_FIELDS)}; found a name not on that "
                "list"
            )
        where: list[str] = []
        parameters: dict[str, Any] = {}
        if query.status is not None:
            where.append(self._sql.status)
            parameters["status"] = OrderStatus(query.status).value
        if query.min_total is not None:
            where.append(self._sql.min_total)
            parameters["min_total"] = query.min_total
        if query.max_total is not None:
            where.append(self._sql.max_total)
            parameters["max_total"] = query.max_total
        needle = query.text.strip().casefold()
        if needle:
            where.append(self._sql.text)
            parameters["pattern"] = like_pattern(needle)
        return self._page(where, parameters, order_by, query)

    def _page(
        self,
        where: list[str],
        parameters: dict[str, Any],
        order_by: str,
        query: GetCustomerOrders | SearchOrders,
    ) -> Page[OrderView]:
        # every piece of SQL below is a constant (of this module or the OrderSql) or the checked
        # table name; only the named parameters carry values
        views = self._views_now()
        condition = f" WHERE {' AND '.join(where)}" if where else ""
        count_sql = f"SELECT COUNT(*) FROM {views.table}{condition}"
        rows_sql = (
            f"SELECT {SELECTED_COLUMNS} FROM {views.table}{condition} ORDER BY {order_by} "
            f"{self._sql.page}"
        )
        paging = {"limit": query.page_size, "offset": (query.page - 1) * query.page_size}
        with views.db.snapshot() as connection:
            counted = connection.execute(count_sql, parameters).fetchone()
            rows = connection.execute(rows_sql, parameters | paging).fetchall()
        return Page(
            items=tuple(views.from_columns(values) for values in rows),
            total=int(counted[0]) if counted else 0,
            page=query.page,
            page_size=query.page_size,
        )
