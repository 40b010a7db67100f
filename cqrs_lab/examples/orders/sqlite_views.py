"""The order views in SQLite: the playbook's ``order_views`` table and SQL for the Order queries.

The rows are the same :class:`~cqrs_lab.examples.orders.views.OrderView` values the in-memory
read model holds, filled by the same projection; the checkpoint is committed with them (see
:class:`~cqrs_lab.adapters.sqlite_read_model.SqliteReadModel`). The queries are the ones in
:mod:`cqrs_lab.examples.orders.queries`, validated there; here they become SQL in which every
value is a bound parameter and ``ORDER BY`` is a fixed fragment looked up by the whitelisted
``sort_by`` name -- the caller's text is never part of a statement. :data:`SQLITE_SQL` is that
SQL; :mod:`cqrs_lab.examples.orders.sql_views` puts it together, as it does PostgreSQL's.

>>> from cqrs_lab.clock import DEFAULT_START
>>> from cqrs_lab.examples.orders.queries import GetOrderById
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
from cqrs_lab.errors import InvalidArgumentError
from cqrs_lab.examples.orders.sql_views import (
    ORDER_BY,
    STORED_COLUMNS,
    OrderSql,
    SqlOrderQueriesBase,
    like_pattern,
)
from cqrs_lab.examples.orders.views import OrderView, OrderViewProjection
from cqrs_lab.projection import ReadModel

__all__ = ["ORDER_BY", "SQLITE_SQL", "SqlOrderQueries", "SqliteOrderViews", "like_pattern"]

SQLITE_SQL: Final = OrderSql(
    order_id="order_id = ?",
    customer="customer_id = :customer_id",
    status="status = :status",
    min_total="total_amount >= :min_total",
    max_total="total_amount <= :max_total",
    # a product matches when one element of the JSON array does
    text=(
        "(customer_search LIKE :pattern ESCAPE '\\' OR EXISTS (SELECT 1 FROM "
        "json_each(product_search) WHERE json_each.value LIKE :pattern ESCAPE '\\'))"
    ),
    page="LIMIT :limit OFFSET :offset",
)
"""The SQL of the Order queries in SQLite: ``:name`` binds a value, ``?`` the order id."""


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
    columns: ClassVar[tuple[str, ...]] = STORED_COLUMNS
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


class SqlOrderQueries(SqlOrderQueriesBase):
    """Answers the Order queries with SQL over whatever views ``views_source()`` returns now.

    Same queries, same answers as :class:`~cqrs_lab.examples.orders.queries.OrderQueryHandlers`
    over the in-memory read model; a page's rows and its total are read in one snapshot. Pass
    ``lambda: projector.read_model``: a blue/green rebuild into new :class:`SqliteOrderViews`
    (another table) switches the projector's read model, and the next query reads the new table.
    """

    def __init__(self, views_source: Callable[[], ReadModel[OrderView]]) -> None:
        super().__init__(SQLITE_SQL)
        self._source = views_source

    def views(self) -> SqliteOrderViews:
        """The views queries read now."""
        views = self._source()
        if not isinstance(views, SqliteOrderViews):
            raise InvalidArgumentError(
                f"the SQL Order queries need SqliteOrderViews, found {type(views).__name__}; "
                "rebuild with read_model=SqliteOrderViews(db, table=...)"
            )
        return views

    def _views_now(self) -> SqliteOrderViews:
        return self.views()
