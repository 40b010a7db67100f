"""The order views in SQLite: the playbook's ``order_views`` table and SQL for the Order queries.

The rows are the same :class:`~cqrs_lab.examples.orders.views.OrderView` values the in-memory
read model holds, filled by the same projection; the checkpoint is committed with them (see
:class:`~cqrs_lab.adapters.sqlite_read_model.SqliteReadModel`). The queries are the ones in
:mod:`cqrs_lab.examples.orders.queries`, validated there; here they become SQL in which every
value is a bound parameter and ``ORDER BY`` is a fixed fragment looked up by the whitelisted
``sort_by`` name -- the caller's text is never part of a statement.

>>> from cqrs_lab.clock import DEFAULT_START
>>> views = SqliteOrderViews(":memory:")
>>> views.commit(1, {"order-1": OrderView("order-1", "ada", "open", 7.0, 1, DEFAULT_START)})
True
>>> SqlOrderQueries(lambda: views).get_order_by_id(GetOrderById(order_id="order-1")).total_amount
7.0
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, Final

from cqrs_lab.adapters.sqlite_read_model import SqliteReadModel
from cqrs_lab.errors import InvalidArgumentError, InvalidQueryError
from cqrs_lab.examples.orders.order import OrderStatus
from cqrs_lab.examples.orders.queries import (
    SORTABLE_FIELDS,
    GetCustomerOrders,
    GetOrderById,
    Page,
    SearchOrders,
)
from cqrs_lab.examples.orders.views import OrderView, OrderViewProjection
from cqrs_lab.projection import ReadModel
from cqrs_lab.query_bus import QueryBus

__all__ = ["ORDER_BY", "SqlOrderQueries", "SqliteOrderViews", "like_pattern"]

_VIEW_COLUMNS: Final = (
    "order_id, customer_id, status, total_amount, item_count, created_at, shipped_at, product_ids"
)


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


def _stored_time(moment: datetime) -> str:
    """Fixed-width UTC text, so that comparing the text compares the instants."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")


class SqliteOrderViews(SqliteReadModel[OrderView]):
    """The ``order_views`` table: one row per order, indexed for the customer and search queries.

    Beside the playbook's columns it keeps ``product_ids`` (a JSON array) and, for searching,
    ``customer_search`` and ``product_search``: the same texts case-folded, exactly as the
    in-memory search folds them.
    """

    default_table: ClassVar[str] = OrderViewProjection.name
    key_column: ClassVar[str] = "order_id"
    columns: ClassVar[tuple[str, ...]] = (
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
    ddl: ClassVar[tuple[str, ...]] = (
        """CREATE TABLE IF NOT EXISTS {table} (
            order_id TEXT PRIMARY KEY,
            customer_id TEXT NOT NULL,
            status TEXT NOT NULL,
            total_amount REAL NOT NULL,
            item_count INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            shipped_at TEXT,
            product_ids TEXT NOT NULL DEFAULT '[]',
            customer_search TEXT NOT NULL,
            product_search TEXT NOT NULL DEFAULT '[]'
        )""",
        "CREATE INDEX IF NOT EXISTS {table}_customer "
        "ON {table} (customer_id, created_at, order_id)",
        "CREATE INDEX IF NOT EXISTS {table}_created ON {table} (created_at, order_id)",
    )

    def to_columns(self, key: str, row: OrderView) -> tuple[Any, ...]:
        """The row's column values, search columns included."""
        products = list(row.product_ids)
        return (
            key,
            row.customer_id,
            str(row.status),
            row.total_amount,
            row.item_count,
            _stored_time(row.created_at),
            None if row.shipped_at is None else _stored_time(row.shipped_at),
            json.dumps(products, ensure_ascii=False),
            row.customer_id.casefold(),
            json.dumps([p.casefold() for p in products], ensure_ascii=False),
        )

    def from_columns(self, values: tuple[Any, ...]) -> OrderView:
        """The :class:`OrderView` of one stored row (the search columns are not part of it)."""
        return _view(values)


def _view(values: tuple[Any, ...]) -> OrderView:
    order_id, customer_id, status, total, count, created, shipped, products = values[:8]
    return OrderView(
        order_id,
        customer_id,
        status,
        float(total),
        int(count),
        datetime.fromisoformat(created),
        None if shipped is None else datetime.fromisoformat(shipped),
        tuple(json.loads(products)),
    )


class SqlOrderQueries:
    """Answers the Order queries with SQL over whatever views ``views_source()`` returns now.

    Same queries, same answers as :class:`~cqrs_lab.examples.orders.queries.OrderQueryHandlers`
    over the in-memory read model; a page's rows and its total are read in one snapshot. Pass
    ``lambda: projector.read_model``: a blue/green rebuild into new :class:`SqliteOrderViews`
    (another table) switches the projector's read model, and the next query reads the new table.
    """

    def __init__(self, views_source: Callable[[], ReadModel[OrderView]]) -> None:
        self._source = views_source

    def register(self, bus: QueryBus) -> None:
        """Register every handler on ``bus``."""
        bus.register(GetOrderById, self.get_order_by_id)
        bus.register(GetCustomerOrders, self.get_customer_orders)
        bus.register(SearchOrders, self.search_orders)

    def views(self) -> SqliteOrderViews:
        """The views queries read now."""
        views = self._source()
        if not isinstance(views, SqliteOrderViews):
            raise InvalidArgumentError(
                f"the SQL Order queries need SqliteOrderViews, found {type(views).__name__}; "
                "rebuild with read_model=SqliteOrderViews(db, table=...)"
            )
        return views

    def get_order_by_id(self, query: GetOrderById) -> OrderView | None:
        """The order's view, or ``None``."""
        views = self.views()  # its table is an identifier checked by SqliteReadModel
        by_id = f"SELECT {_VIEW_COLUMNS} FROM {views.table} WHERE order_id = ?"
        values = views.db.fetchone(by_id, (query.order_id,))
        return None if values is None else _view(values)

    def get_customer_orders(self, query: GetCustomerOrders) -> Page[OrderView]:
        """A page of the customer's orders, newest first (the customer index serves it)."""
        where = ["customer_id = :customer_id"]
        parameters: dict[str, Any] = {"customer_id": query.customer_id}
        if query.status is not None:
            where.append("status = :status")
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
            where.append("status = :status")
            parameters["status"] = OrderStatus(query.status).value
        if query.min_total is not None:
            where.append("total_amount >= :min_total")
            parameters["min_total"] = query.min_total
        if query.max_total is not None:
            where.append("total_amount <= :max_total")
            parameters["max_total"] = query.max_total
        needle = query.text.strip().casefold()
        if needle:
            where.append(
                "(customer_search LIKE :pattern ESCAPE '\\' OR EXISTS (SELECT 1 FROM "
                "json_each(product_search) WHERE json_each.value LIKE :pattern ESCAPE '\\'))"
            )
            parameters["pattern"] = like_pattern(needle)
        return self._page(where, parameters, order_by, query)

    def _page(
        self,
        where: list[str],
        parameters: dict[str, Any],
        order_by: str,
        query: GetCustomerOrders | SearchOrders,
    ) -> Page[OrderView]:
        # every piece of SQL below is a constant of this module or the checked table name;
        # only :names carry values
        views = self.views()
        condition = f" WHERE {' AND '.join(where)}" if where else ""
        count_sql = f"SELECT COUNT(*) FROM {views.table}{condition}"
        rows_sql = (
            f"SELECT {_VIEW_COLUMNS} FROM {views.table}{condition} ORDER BY {order_by} "
            "LIMIT :limit OFFSET :offset"
        )
        paging = {"limit": query.page_size, "offset": (query.page - 1) * query.page_size}
        with views.db.snapshot() as connection:
            total = connection.execute(count_sql, parameters).fetchone()[0]
            rows = connection.execute(rows_sql, parameters | paging).fetchall()
        return Page(
            items=tuple(_view(values) for values in rows),
            total=total,
            page=query.page,
            page_size=query.page_size,
        )
