"""The order views in PostgreSQL answer every Order query exactly as the in-memory read model does.

The same histories and queries as tests/test_sqlite_views.py, against a database created for this
module (skipped, with a line at the end saying how to run them, when no server is named).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from test_sqlite_views import (
    DROP,
    assert_a_bus_pages_adas_orders,
    assert_answers_agree,
    assert_every_query_agrees,
    commands,
    queries,
    shop,
    to_command,
)

from cqrs_lab.clock import ManualClock
from cqrs_lab.errors import DomainError, InvalidQueryError
from cqrs_lab.examples.orders import OrderSystem, build_order_system
from cqrs_lab.examples.orders.queries import (
    SearchOrders,
)
from cqrs_lab.examples.orders.views import OrderViewProjection
from cqrs_lab.projector import Projector

pytest.importorskip("psycopg", reason="the postgres extra is not installed")

from cqrs_lab.examples.orders.postgres_views import (
    PostgresOrderQueries,
    PostgresOrderViews,
)

Views = tuple[PostgresOrderViews, PostgresOrderQueries]


@pytest.fixture
def project(make_postgres: Callable[[], Any]) -> Callable[[OrderSystem], Views]:
    """Projects a system's log into new PostgreSQL order views."""

    def into_postgres(system: OrderSystem) -> Views:
        views = PostgresOrderViews(make_postgres())
        Projector(system.store, OrderViewProjection(), views, batch_size=7).catch_up()
        return views, PostgresOrderQueries(views)

    return into_postgres


def test_the_postgres_rows_equal_the_in_memory_rows(project: Callable[..., Views]) -> None:
    system = shop()
    views, _ = project(system)

    assert views.rows() == system.read_model.rows()
    assert views.checkpoint == system.read_model.checkpoint == system.store.head
    assert views.keys() == system.read_model.keys()


def test_every_query_gets_the_same_answer_from_both(project: Callable[..., Views]) -> None:
    for step in (1.0, 0.0):  # 0: every order created at the same instant, ties by order id
        system = shop(clock_step=step)
        _, sql = project(system)
        assert_every_query_agrees(sql, system.query_handlers)


def test_hostile_input_stays_a_value(project: Callable[..., Views]) -> None:
    views, sql = project(shop())
    forged = SearchOrders()
    object.__setattr__(forged, "sort_by", "created_at; DROP TABLE order_views; --")

    with pytest.raises(InvalidQueryError, match="sort_by must be one of"):
        sql.search_orders(forged)
    dropped = sql.search_orders(SearchOrders(text=DROP))
    percent = sql.search_orders(SearchOrders(text="%"))

    assert [v.order_id for v in dropped.items] == ["order-0004"]
    assert [v.order_id for v in percent.items] == ["order-0002"]
    assert views.db.fetchone("SELECT COUNT(*) FROM order_views") == (5,)


def test_the_handlers_answer_through_a_query_bus_and_pandas_sees_the_table(
    project: Callable[..., Views],
) -> None:
    views, sql = project(shop())

    assert_a_bus_pages_adas_orders(sql)
    assert list(views.to_dataframe().index) == [f"order-000{n}" for n in range(1, 6)]


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(history=commands, asked=queries.flatmap(lambda q: queries.map(lambda r: [q, r])))
def test_any_history_gives_the_same_rows_and_answers(
    make_postgres: Callable[[], Any], history: list[tuple[Any, ...]], asked: list[Any]
) -> None:
    system = build_order_system(clock=ManualClock(step=1.0))
    for item in history:
        with contextlib.suppress(DomainError):
            system.commands.dispatch(to_command(item))
    system.catch_up()
    views = PostgresOrderViews(make_postgres())
    try:
        Projector(system.store, OrderViewProjection(), views, batch_size=5).catch_up()
        sql = PostgresOrderQueries(views)

        assert views.rows() == system.read_model.rows()
        assert_answers_agree(asked, sql, system.query_handlers)
    finally:
        views.db.close()  # one pool per example, not thirty open at once
