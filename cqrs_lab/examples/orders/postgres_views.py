"""The order views in PostgreSQL: the playbook's ``order_views`` table and SQL for its queries.

The PostgreSQL twin of :mod:`cqrs_lab.examples.orders.sqlite_views` (needs the ``postgres``
extra): the same :class:`~cqrs_lab.examples.orders.views.OrderView` rows, filled by the same
projection, checkpoint committed with them (see
:class:`~cqrs_lab.adapters.postgres_read_model.PostgresReadModel`), and the same answers to the
same queries. Every value is a bound parameter; ``ORDER BY`` is the fixed fragment
:data:`~cqrs_lab.examples.orders.sql_views.ORDER_BY` looks up by the whitelisted ``sort_by``.
:data:`POSTGRES_SQL` is the SQL of the queries; :mod:`cqrs_lab.examples.orders.sql_views` puts
it together, as it does SQLite's.

Two PostgreSQL details keep the answers equal to the in-memory ones: text columns use the
``"C"`` collation, which orders by code point as Python does (a database's default collation
may sort ``"B" < "a"`` either way), and times are ``timestamptz``, compared as instants.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

from cqrs_lab.adapters.postgres_read_model import PostgresReadModel
from cqrs_lab.examples.orders.sql_views import STORED_COLUMNS, OrderSql, SqlOrderQueriesBase
from cqrs_lab.examples.orders.views import OrderView, OrderViewProjection

__all__ = ["POSTGRES_SQL", "PostgresOrderQueries", "PostgresOrderViews"]

POSTGRES_SQL: Final = OrderSql(
    order_id="order_id = %s",
    customer="customer_id = %(customer_id)s",
    status="status = %(status)s",
    min_total="total_amount >= %(min_total)s",
    max_total="total_amount <= %(max_total)s",
    # a LIKE pattern's escape character is the backslash by default, as like_pattern uses;
    # a product matches when one element of the array does
    text=(
        "(customer_search LIKE %(pattern)s OR EXISTS (SELECT 1 FROM "
        "unnest(product_search) AS product WHERE product LIKE %(pattern)s))"
    ),
    page="LIMIT %(limit)s OFFSET %(offset)s",
)
"""The SQL of the Order queries in PostgreSQL: ``%(name)s`` binds a value, ``%s`` the order id."""


class PostgresOrderViews(PostgresReadModel[OrderView]):
    """The ``order_views`` table: one row per order, indexed for the customer and search queries.

    Beside the playbook's columns it keeps ``product_ids`` (a ``text[]``) and, for searching,
    ``customer_search`` and ``product_search``: the same texts case-folded, exactly as the
    in-memory search folds them.
    """

    default_table: ClassVar[str] = OrderViewProjection.name
    key_column: ClassVar[str] = "order_id"
    columns: ClassVar[tuple[str, ...]] = STORED_COLUMNS
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


class PostgresOrderQueries(SqlOrderQueriesBase):
    """Answers the Order queries with SQL over :class:`PostgresOrderViews`.

    Same queries, same answers as :class:`~cqrs_lab.examples.orders.queries.OrderQueryHandlers`
    over the in-memory read model; a page's rows and its total are read in one snapshot.
    """

    def __init__(self, views: PostgresOrderViews) -> None:
        super().__init__(POSTGRES_SQL)
        self.views = views

    def _views_now(self) -> PostgresOrderViews:
        return self.views
