"""The order views in PostgreSQL: the playbook's ``order_views`` table and SQL for its queries.

The PostgreSQL twin of :mod:`cqrs_lab.examples.orders.sqlite_views` (needs the ``postgres``
extra): the same :class:`~cqrs_lab.examples.orders.views.OrderView` rows, filled by the same
projection, checkpoint committed with them (see
:class:`~cqrs_lab.adapters.postgres_read_model.PostgresReadModel`), and the same answers to the
same queries. Every value is a bound parameter; ``ORDER BY`` is the fixed fragment
:data:`~cqrs_lab.examples.orders.sqlite_views.ORDER_BY` looks up by the whitelisted ``sort_by``.

Two PostgreSQL details keep the answers equal to the in-memory ones: text columns use the
``"C"`` collation, which orders by code point as Python does (a database's default collation
may sort ``"B" < "a"`` either way), and times are ``timestamptz``, compared as instants.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

from cqrs_lab.adapters.postgres_read_model import PostgresReadModel
from cqrs_lab.errors import InvalidQueryError
from cqrs_lab.examples.orders.order import OrderStatus
from cqrs_lab.examples.orders.queries import (
    SORTABLE_FIELDS,
    GetCustomerOrders,
    GetOrderById,
    Page,
    SearchOrders,
)
from cqrs_lab.examples.orders.sqlite_views import ORDER_BY, like_pattern
from cqrs_lab.examples.orders.views import OrderView, OrderViewProjection
from cqrs_lab.query_bus import QueryBus

__all__ = ["PostgresOrderQueries", "PostgresOrderViews"]

_VIEW_COLUMNS: Final = (
    "order_id, customer_id, status, total_amount, item_count, created_at, shipped_at, product_ids"
)


class PostgresOrderViews(PostgresReadModel[OrderView]):
    """The ``order_views`` table: one row per order, indexed for the customer and search queries.

    Beside the playbook's columns it keeps ``product_ids`` (a ``text[]``) and, for searching,
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
            order_id TEXT COLLATE "C" PRIMARY KEY,
            customer_id TEXT COLLATE "C" NOT NULL,
            status TEXT COLLATE "C" NOT NULL,
            total_amount DOUBLE PRECISION NOT NULL,
            item_count INTEGER NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            shipped_at TIMESTAMPTZ,
            product_ids TEXT[] NOT NULL DEFAULT '{{}}',
            customer_search TEXT COLLATE "C" NOT NULL,
            product_search TEXT[] NOT NULL DEFAULT '{{}}'
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
            row.created_at,
            row.shipped_at,
            products,
            row.customer_id.casefold(),
            [p.casefold() for p in products],
        )

    def from_columns(self, values: tuple[Any, ...]) -> OrderView:
        """The :class:`OrderView` of one stored row (the search columns are not part of it)."""
        return _view(values)


def _view(values: tuple[Any, ...]) -> OrderView:
    order_id, customer_id, status, total, count, created, shipped, products = values[:8]
    return OrderView(
        order_id, customer_id, status, float(total), int(count), created, shipped, tuple(products)
    )


class PostgresOrderQueries:
    """Answers the Order queries with SQL over :class:`PostgresOrderViews`.

    Same queries, same answers as :class:`~cqrs_lab.examples.orders.queries.OrderQueryHandlers`
    over the in-memory read model; a page's rows and its total are read in one snapshot.
    """

    def __init__(self, views: PostgresOrderViews) -> None:
        self.views = views
        table = views.table  # an identifier checked by PostgresReadModel
        self._by_id = f"SELECT {_VIEW_COLUMNS} FROM {table} WHERE order_id = %s"
        self._from = f"FROM {table}"

    def register(self, bus: QueryBus) -> None:
        """Register every handler on ``bus``."""
        bus.register(GetOrderById, self.get_order_by_id)
        bus.register(GetCustomerOrders, self.get_customer_orders)
        bus.register(SearchOrders, self.search_orders)

    def get_order_by_id(self, query: GetOrderById) -> OrderView | None:
        """The order's view, or ``None``."""
        values = self.views.db.fetchone(self._by_id, (query.order_id,))
        return None if values is None else _view(values)

    def get_customer_orders(self, query: GetCustomerOrders) -> Page[OrderView]:
        """A page of the customer's orders, newest first (the customer index serves it)."""
        where = ["customer_id = %(customer_id)s"]
        parameters: dict[str, Any] = {"customer_id": query.customer_id}
        if query.status is not None:
            where.append("status = %(status)s")
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
            where.append("status = %(status)s")
            parameters["status"] = OrderStatus(query.status).value
        if query.min_total is not None:
            where.append("total_amount >= %(min_total)s")
            parameters["min_total"] = query.min_total
        if query.max_total is not None:
            where.append("total_amount <= %(max_total)s")
            parameters["max_total"] = query.max_total
        needle = query.text.strip().casefold()
        if needle:
            # a LIKE pattern's escape character is the backslash by default, as like_pattern uses
            where.append(
                "(customer_search LIKE %(pattern)s OR EXISTS (SELECT 1 FROM "
                "unnest(product_search) AS product WHERE product LIKE %(pattern)s))"
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
        # every piece of SQL below is a constant of this module; only %(name)s carry values
        condition = f" WHERE {' AND '.join(where)}" if where else ""
        count_sql = f"SELECT COUNT(*) {self._from}{condition}"
        rows_sql = (
            f"SELECT {_VIEW_COLUMNS} {self._from}{condition} ORDER BY {order_by} "
            "LIMIT %(limit)s OFFSET %(offset)s"
        )
        paging = {"limit": query.page_size, "offset": (query.page - 1) * query.page_size}
        with self.views.db.snapshot() as connection:
            counted = connection.execute(count_sql, parameters).fetchone()
            rows = connection.execute(rows_sql, parameters | paging).fetchall()
        return Page(
            items=tuple(_view(values) for values in rows),
            total=int(counted[0]) if counted else 0,
            page=query.page,
            page_size=query.page_size,
        )
