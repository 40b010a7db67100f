"""A page number is bounded where the query is built, so every backend answers alike.

Issue 12: a page past SQLite's INTEGER range raised ``OverflowError`` in the SQL handlers while
the in-memory handlers answered an empty page. The bound lives in the query types, so neither
backend ever sees such a page.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cqrs_lab.errors import InvalidQueryError
from cqrs_lab.examples.orders import OrderSystem, build_order_system
from cqrs_lab.examples.orders.commands import CreateOrder, OrderLine
from cqrs_lab.examples.orders.queries import (
    MAX_PAGE,
    MAX_PAGE_SIZE,
    GetCustomerOrders,
    Page,
    SearchOrders,
)
from cqrs_lab.examples.orders.sqlite_app import SqliteOrderSystem, build_sqlite_order_system
from cqrs_lab.ids import SequentialIds

HUGE_PAGES = [MAX_PAGE + 1, 4611686018427387904, 10**20]


@pytest.fixture(params=["memory", "sqlite"])
def shop(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[OrderSystem | SqliteOrderSystem]:
    """Either backend with two of ann's orders, projected."""
    system: OrderSystem | SqliteOrderSystem
    if request.param == "memory":
        system = build_order_system()
    else:
        system = build_sqlite_order_system(
            tmp_path / "orders.sqlite3", order_ids=SequentialIds("order"), synchronous="NORMAL"
        )
    tea = (OrderLine(product_id="tea", quantity=1, price=2.0),)
    for _ in range(2):
        system.commands.dispatch(CreateOrder(customer_id="ann", items=tea))
    system.catch_up()
    yield system
    if isinstance(system, SqliteOrderSystem):
        system.close()


@pytest.mark.parametrize("page", HUGE_PAGES)
@pytest.mark.parametrize("query_type", [GetCustomerOrders, SearchOrders])
def test_a_page_past_the_bound_is_refused_when_the_query_is_built(
    query_type: type[GetCustomerOrders] | type[SearchOrders], page: int
) -> None:
    arguments: dict[str, object] = {"page": page}
    if query_type is GetCustomerOrders:
        arguments["customer_id"] = "ann"
    with pytest.raises(InvalidQueryError) as refused:
        query_type(**arguments)  # type: ignore[arg-type]
    message = str(refused.value)
    assert message.startswith(f"page must be at most {MAX_PAGE}")
    assert "found " in message


def test_the_page_bound_message_keeps_a_huge_number_short() -> None:
    with pytest.raises(InvalidQueryError) as refused:
        SearchOrders(page=10**100)
    assert len(str(refused.value)) < 120


def test_the_largest_page_is_accepted_and_is_empty_on_both_backends(
    shop: OrderSystem | SqliteOrderSystem,
) -> None:
    by_customer = shop.queries.dispatch(
        GetCustomerOrders(customer_id="ann", page=MAX_PAGE, page_size=MAX_PAGE_SIZE)
    )
    searched = shop.queries.dispatch(SearchOrders(page=MAX_PAGE, page_size=MAX_PAGE_SIZE))

    for page in (by_customer, searched):
        assert isinstance(page, Page)
        assert (page.items, page.total, page.page) == ((), 2, MAX_PAGE)


def test_a_page_holds_the_same_bound() -> None:
    with pytest.raises(InvalidQueryError, match=f"page must be at most {MAX_PAGE}"):
        Page(items=(), total=0, page=MAX_PAGE + 1, page_size=20)


def test_the_bound_keeps_the_sql_offset_inside_sqlite_integers() -> None:
    # (page - 1) * page_size is bound as an INTEGER: it must stay below 2**63
    assert (MAX_PAGE - 1) * MAX_PAGE_SIZE < 2**63 - 1
