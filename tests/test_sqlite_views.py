"""The order views in SQLite answer every Order query exactly as the in-memory read model does."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cqrs_lab.clock import ManualClock
from cqrs_lab.errors import DomainError, InvalidArgumentError, InvalidQueryError
from cqrs_lab.examples.orders import (
    AddOrderItem,
    CancelOrder,
    CreateOrder,
    OrderLine,
    OrderSystem,
    ShipOrder,
    build_order_system,
)
from cqrs_lab.examples.orders.queries import (
    SORTABLE_FIELDS,
    GetCustomerOrders,
    GetOrderById,
    OrderQueryHandlers,
    SearchOrders,
)
from cqrs_lab.examples.orders.sql_views import SqlOrderQueriesBase
from cqrs_lab.examples.orders.sqlite_app import build_sqlite_order_system
from cqrs_lab.examples.orders.sqlite_views import (
    ORDER_BY,
    SqliteOrderViews,
    SqlOrderQueries,
    like_pattern,
)
from cqrs_lab.examples.orders.views import OrderViewProjection
from cqrs_lab.ids import SequentialIds
from cqrs_lab.messages import Command
from cqrs_lab.projector import Projector
from cqrs_lab.query_bus import QueryBus

DROP = "'; DROP TABLE order_views; --"


def line(product: str, quantity: int = 1, price: float = 2.0) -> OrderLine:
    return OrderLine(product_id=product, quantity=quantity, price=price)


def project_into_sqlite(system: OrderSystem) -> tuple[SqliteOrderViews, SqlOrderQueries]:
    views = SqliteOrderViews(":memory:")
    Projector(system.store, OrderViewProjection(), views, batch_size=7).catch_up()
    return views, SqlOrderQueries(lambda: views)


def shop(clock_step: float = 1.0) -> OrderSystem:
    """A few customers' orders in every status, some with awkward product names."""
    system = build_order_system(clock=ManualClock(step=clock_step))
    run = system.commands.dispatch
    run(CreateOrder(customer_id="ada", items=(line("tea", 2, 3.5), line("cup"))))
    run(CreateOrder(customer_id="bob", items=(line("50%_off", 1, 10.0),)))
    run(CreateOrder(customer_id="Ada", items=(line("Straße-map"),)))
    run(CreateOrder(customer_id="ada", items=(line(DROP, 3, 1.25),)))
    run(AddOrderItem(order_id="order-0001", product_id="milk", quantity=1, price=0.5))
    run(ShipOrder(order_id="order-0002"))
    run(CancelOrder(order_id="order-0003", reason="changed mind"))
    run(CreateOrder(customer_id="cy", items=(line("tea"),)))
    system.catch_up()
    return system


def assert_every_query_agrees(sql: SqlOrderQueriesBase, memory: OrderQueryHandlers) -> None:
    """Ask both handlers a grid of queries over :func:`shop`'s orders; the answers are equal."""
    for order_id in ["order-0001", "order-0002", "nope", DROP]:
        query = GetOrderById(order_id=order_id)
        assert sql.get_order_by_id(query) == memory.get_order_by_id(query)
    for customer in ["ada", "Ada", "bob", "nobody"]:
        for status in [None, "open", "shipped", "cancelled"]:
            for page, size in [(1, 20), (1, 1), (2, 1), (3, 1)]:
                customer_query = GetCustomerOrders(
                    customer_id=customer, status=status, page=page, page_size=size
                )
                assert sql.get_customer_orders(customer_query) == memory.get_customer_orders(
                    customer_query
                ), customer_query
    for sort_by in SORTABLE_FIELDS:
        for descending in (True, False):
            for text in ["", "ADA", "a", "%", "_", "50%", "strasse", DROP, "zzz"]:
                search = SearchOrders(
                    text=text, sort_by=sort_by, descending=descending, page_size=3
                )
                assert sql.search_orders(search) == memory.search_orders(search), search


def assert_answers_agree(
    asked: list[GetCustomerOrders | SearchOrders],
    sql: SqlOrderQueriesBase,
    memory: OrderQueryHandlers,
) -> None:
    """Both handlers give the same page for every query ``asked``."""
    for query in asked:
        if isinstance(query, SearchOrders):
            assert sql.search_orders(query) == memory.search_orders(query)
        else:
            assert sql.get_customer_orders(query) == memory.get_customer_orders(query)


def assert_a_bus_pages_adas_orders(sql: SqlOrderQueriesBase) -> None:
    """Registered on a query bus, ``sql`` pages :func:`shop`'s orders of "ada", newest first."""
    bus = QueryBus()
    sql.register(bus)

    page = bus.dispatch(GetCustomerOrders(customer_id="ada", page_size=1))

    assert [v.order_id for v in page.items] == ["order-0004"]
    assert (page.total, page.total_pages) == (2, 2)


def test_the_sqlite_rows_equal_the_in_memory_rows() -> None:
    system = shop()
    views, _ = project_into_sqlite(system)

    assert views.rows() == system.read_model.rows()
    assert views.checkpoint == system.read_model.checkpoint == system.store.head
    shipped, expected = views.get("order-0002"), system.read_model.get("order-0002")
    assert shipped is not None and expected is not None
    assert shipped.shipped_at == expected.shipped_at is not None


def test_every_query_gets_the_same_answer_from_both() -> None:
    for step in (1.0, 0.0):  # 0: every order created at the same instant, ties by order id
        system = shop(clock_step=step)
        _, sql = project_into_sqlite(system)
        assert_every_query_agrees(sql, system.query_handlers)


def test_a_malicious_sort_by_is_rejected_before_any_sql() -> None:
    system = shop()
    views, sql = project_into_sqlite(system)

    with pytest.raises(InvalidQueryError, match="sort_by must be one of") as rejected:
        SearchOrders(sort_by=DROP)
    assert DROP not in str(rejected.value)

    # a query forged past its own validation still cannot reach the statement
    forged = SearchOrders()
    object.__setattr__(forged, "sort_by", "created_at; DROP TABLE order_views; --")
    with pytest.raises(InvalidQueryError, match="sort_by must be one of"):
        sql.search_orders(forged)

    assert len(views) == 5
    assert views.db.fetchone("SELECT COUNT(*) FROM order_views") == (5,)


def test_malicious_search_text_is_a_literal_value() -> None:
    system = shop()
    views, sql = project_into_sqlite(system)

    dropped = sql.search_orders(SearchOrders(text=DROP))
    percent = sql.search_orders(SearchOrders(text="%"))
    underscore = sql.search_orders(SearchOrders(text="_"))
    everything = sql.search_orders(SearchOrders(text=""))

    assert [v.order_id for v in dropped.items] == ["order-0004"]  # its product has that name
    assert [v.order_id for v in percent.items] == ["order-0002"]  # "%" matches only a real "%"
    # "_" is not "any one character": only names with a real "_" ("50%_off", "order_views")
    assert [v.order_id for v in underscore.items] == ["order-0004", "order-0002"]
    assert underscore == system.query_handlers.search_orders(SearchOrders(text="_"))
    assert everything.total == 5
    assert views.db.fetchone("SELECT COUNT(*) FROM order_views") == (5,)


def test_like_patterns_escape_their_wildcards() -> None:
    assert like_pattern("a%b_c\\d") == "%a\\%b\\_c\\\\d%"


def test_every_whitelisted_field_has_a_fixed_order_by_fragment() -> None:
    assert {field for field, _ in ORDER_BY} == set(SORTABLE_FIELDS)
    assert all(fragment.endswith(("ASC", "DESC")) for fragment in ORDER_BY.values())


def test_the_customer_query_uses_the_customer_index() -> None:
    views, _ = project_into_sqlite(shop())
    plan = views.db.fetchall(
        "EXPLAIN QUERY PLAN SELECT order_id FROM order_views WHERE customer_id = ? "
        "ORDER BY created_at DESC, order_id DESC LIMIT 20",
        ("ada",),
    )
    details = " ".join(str(row[-1]) for row in plan)
    assert "INDEX order_views_customer (customer_id=?)" in details
    assert "TEMP B-TREE" not in details


def test_pandas_reads_the_table_over_the_connection() -> None:
    views, _ = project_into_sqlite(shop())

    frame = pd.read_sql(
        "SELECT status, COUNT(*) AS orders, SUM(total_amount) AS total FROM order_views "
        "GROUP BY status ORDER BY status",
        views.db.connection,
    )

    assert frame.to_dict("records") == [
        {"status": "cancelled", "orders": 1, "total": 2.0},
        {"status": "open", "orders": 3, "total": 15.25},
        {"status": "shipped", "orders": 1, "total": 10.0},
    ]
    assert list(views.to_dataframe().index) == [f"order-000{n}" for n in range(1, 6)]


def test_the_sqlite_handlers_answer_through_a_query_bus() -> None:
    _, sql = project_into_sqlite(shop())

    assert_a_bus_pages_adas_orders(sql)


# -- property: any history of commands, any query: the same answer -------------------------------

names = st.text(alphabet="aAbß%_\\ İ'", min_size=1, max_size=4).filter(lambda s: s.strip() != "")
prices = st.sampled_from([0.0, 0.5, 1.25, 3.0, 10.0])
commands = st.lists(
    st.one_of(
        st.builds(
            lambda c, p, q, x: ("create", c, p, q, x), names, names, st.integers(1, 3), prices
        ),
        st.builds(lambda n, p, x: ("add", n, p, x), st.integers(1, 8), names, prices),
        st.builds(lambda n: ("cancel", n), st.integers(1, 8)),
        st.builds(lambda n: ("ship", n), st.integers(1, 8)),
    ),
    max_size=14,
)
queries = st.one_of(
    st.builds(
        GetCustomerOrders,
        customer_id=names,
        status=st.sampled_from([None, "open", "shipped", "cancelled"]),
        page=st.integers(1, 3),
        page_size=st.integers(1, 4),
    ),
    st.builds(
        SearchOrders,
        text=st.just("") | names,
        status=st.sampled_from([None, "open", "shipped", "cancelled"]),
        min_total=st.none() | prices,
        max_total=st.none() | st.just(100.0),
        sort_by=st.sampled_from(SORTABLE_FIELDS),
        descending=st.booleans(),
        page=st.integers(1, 3),
        page_size=st.integers(1, 4),
    ),
)


def to_command(step: tuple[Any, ...]) -> Command:
    kind, *args = step
    order = f"order-{args[0]:04d}" if kind != "create" else ""
    if kind == "create":
        customer, product, quantity, price = args
        return CreateOrder(customer_id=customer, items=(line(product, quantity, price),))
    if kind == "add":
        return AddOrderItem(order_id=order, product_id=args[1], quantity=1, price=args[2])
    if kind == "cancel":
        return CancelOrder(order_id=order, reason="")
    return ShipOrder(order_id=order)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    history=commands,
    asked=st.lists(queries, min_size=1, max_size=6),
    step=st.sampled_from([0.0, 1.0]),
)
def test_any_history_gives_the_same_rows_and_answers(
    history: list[tuple[Any, ...]], asked: list[GetCustomerOrders | SearchOrders], step: float
) -> None:
    system = build_order_system(clock=ManualClock(step=step))
    for item in history:
        # an order that does not exist, or is no longer open, is refused: nothing appended
        with contextlib.suppress(DomainError):
            system.commands.dispatch(to_command(item))
    system.catch_up()
    views, sql = project_into_sqlite(system)

    assert views.rows() == system.read_model.rows()
    assert_answers_agree(asked, sql, system.query_handlers)


def test_times_are_stored_so_text_order_is_time_order() -> None:
    from datetime import UTC, datetime, timezone

    from cqrs_lab.examples.orders.views import OrderView

    views = SqliteOrderViews(":memory:")
    east = timezone(timedelta(hours=5))
    early = datetime(2026, 1, 1, 12, 0, tzinfo=east)  # 07:00 UTC
    late = datetime(2026, 1, 1, 8, 0, 0, 1, tzinfo=UTC)
    views.commit(
        1,
        {
            "a": OrderView("a", "c", "open", 1.0, 1, late),
            "b": OrderView("b", "c", "open", 1.0, 1, early),
        },
    )
    page = SqlOrderQueries(lambda: views).get_customer_orders(GetCustomerOrders(customer_id="c"))
    assert [v.order_id for v in page.items] == ["a", "b"]
    assert page.items[1].created_at == early
    assert page.items[0]._replace() == views.get("a")


# -- blue/green rebuilds (issue 12, item 8) -------------------------------------------------------


def test_after_a_blue_green_rebuild_the_sql_queries_read_the_new_views(tmp_path: Path) -> None:
    system = build_sqlite_order_system(
        tmp_path / "orders.sqlite3", order_ids=SequentialIds("order"), synchronous="NORMAL"
    )
    try:
        system.commands.dispatch(CreateOrder(customer_id="ada", items=(line("tea"),)))
        system.catch_up()
        blue = system.views
        green = SqliteOrderViews(blue.db, table="order_views_green")

        system.projector.rebuild("blue_green", read_model=green)
        system.commands.dispatch(CreateOrder(customer_id="ada", items=(line("cup"),)))
        system.catch_up()

        after = system.queries.dispatch(GetOrderById(order_id="order-0002"))
        assert after is not None and after.product_ids == ("cup",)
        assert system.queries.dispatch(GetCustomerOrders(customer_id="ada")).total == 2
        assert system.queries.dispatch(SearchOrders(text="cup")).total == 1
        assert system.views is green
        assert blue.get("order-0002") is None  # the old table stays as the switch left it
    finally:
        system.close()


def test_sql_queries_over_views_that_are_not_in_sqlite_say_what_they_need() -> None:
    system = build_sqlite_order_system(":memory:", order_ids=SequentialIds("order"))
    try:
        system.commands.dispatch(CreateOrder(customer_id="ada", items=(line("tea"),)))
        system.projector.rebuild("blue_green")  # no read_model: the green one is in memory

        with pytest.raises(InvalidArgumentError) as refused:
            system.queries.dispatch(GetOrderById(order_id="order-0001"))
    finally:
        system.close()
    assert str(refused.value).startswith("the SQL Order queries need SqliteOrderViews")
    assert "found InMemoryReadModel" in str(refused.value)
