"""The Order queries through the query bus: paging, filters, search, validation, rebuilds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cqrs_lab.clock import ManualClock
from cqrs_lab.errors import InvalidArgumentError, InvalidQueryError
from cqrs_lab.examples.orders import (
    MAX_PAGE_SIZE,
    SORTABLE_FIELDS,
    AddOrderItem,
    CancelOrder,
    CreateOrder,
    GetCustomerOrders,
    GetOrderById,
    OrderLine,
    OrderQueryHandlers,
    OrderReadModel,
    OrderStatus,
    OrderSystem,
    OrderView,
    OrderViewProjection,
    Page,
    SearchOrders,
    ShipOrder,
    build_order_system,
)
from cqrs_lab.messages import Command, RecordedEvent
from cqrs_lab.projection import Changes, InMemoryReadModel, RowReader
from cqrs_lab.projector import Projector
from cqrs_lab.rebuild import RebuildMode

LIVE_TIMEOUT = 5.0  # generous: the wait returns as soon as the projector commits


@pytest.fixture
def orders_system() -> OrderSystem:
    """The Order example as notebooks build it: the clock moves 1 s per reading."""
    return build_order_system()


@pytest.fixture
def tied_system() -> OrderSystem:
    """The Order example on a clock that never moves: every order is created at one instant."""
    return build_order_system(clock=ManualClock(step=0.0))


def line(product_id: str = "tea", quantity: int = 1, price: float = 2.5) -> OrderLine:
    return OrderLine(product_id=product_id, quantity=quantity, price=price)


def create(system: OrderSystem, customer_id: str = "ada", *lines: OrderLine) -> str:
    receipt = system.commands.dispatch(
        CreateOrder(customer_id=customer_id, items=lines or (line(),))
    )
    return receipt.stream_id


def ids(page: Page[OrderView]) -> list[str]:
    return [view.order_id for view in page.items]


@pytest.fixture
def shop(orders_system: OrderSystem) -> OrderSystem:
    """Five orders of four customers, in every status, caught up.

    order-0001 ada  tea x2 @3.5 + cup @2.0          9.00  open
    order-0002 bob  Green-Tea @10.0                10.00  shipped
    order-0003 Ada  cake @4.0                        4.00  cancelled
    order-0004 cy   coffee x3 @1.25, then TEA @1.0   4.75  open
    order-0005 dee  milk @0.5, cup @2.0              2.50  open
    """
    run = orders_system.commands.dispatch
    create(orders_system, "ada", line("tea", 2, 3.5), line("cup", 1, 2.0))
    create(orders_system, "bob", line("Green-Tea", 1, 10.0))
    create(orders_system, "Ada", line("cake", 1, 4.0))
    create(orders_system, "cy", line("coffee", 3, 1.25))
    run(AddOrderItem(order_id="order-0004", product_id="TEA", quantity=1, price=1.0))
    create(orders_system, "dee", line("milk", 1, 0.5), line("cup", 1, 2.0))
    run(ShipOrder(order_id="order-0002"))
    run(CancelOrder(order_id="order-0003", reason="changed mind"))
    orders_system.catch_up()
    return orders_system


# -- GetOrderById ------------------------------------------------------------------------------


def test_get_order_by_id_returns_the_view_or_none(shop: OrderSystem) -> None:
    found = shop.queries.dispatch(GetOrderById(order_id="order-0002"))
    missing = shop.queries.dispatch(GetOrderById(order_id="order-9999"))

    assert isinstance(found, OrderView)
    assert (found.customer_id, found.status, found.total_amount) == ("bob", "shipped", 10.0)
    assert missing is None


def test_a_query_reads_only_what_the_projector_has_applied(orders_system: OrderSystem) -> None:
    order_id = create(orders_system)

    before = orders_system.queries.dispatch(GetOrderById(order_id=order_id))
    orders_system.catch_up()
    after = orders_system.queries.dispatch(GetOrderById(order_id=order_id))

    assert before is None
    assert after is not None and after.order_id == order_id


# -- GetCustomerOrders: pages ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("orders", "page", "expected", "total_pages"),
    [
        (0, 1, [], 0),
        (1, 1, [1], 1),
        (5, 1, [5, 4, 3, 2, 1], 1),  # exactly one page
        (6, 1, [6, 5, 4, 3, 2], 2),  # one more than a page
        (6, 2, [1], 2),
        (12, 3, [2, 1], 3),  # the last page, partial
        (12, 4, [], 3),  # beyond the end: empty, with the right total
        (12, 99, [], 3),
    ],
)
def test_customer_orders_come_a_page_at_a_time_newest_first(
    orders_system: OrderSystem, orders: int, page: int, expected: list[int], total_pages: int
) -> None:
    for _ in range(orders):
        create(orders_system, "ada")
    create(orders_system, "bob")
    orders_system.catch_up()

    result = orders_system.queries.dispatch(
        GetCustomerOrders(customer_id="ada", page=page, page_size=5)
    )

    assert isinstance(result, Page)
    assert ids(result) == [f"order-{n:04d}" for n in expected]
    assert (result.total, result.page, result.page_size) == (orders, page, 5)
    assert result.total_pages == total_pages
    assert result.has_next == (page < total_pages)


def test_orders_created_at_the_same_instant_come_greater_order_id_first(
    tied_system: OrderSystem,
) -> None:
    for _ in range(3):
        create(tied_system, "ada")
    tied_system.catch_up()
    rows = tied_system.read_model.rows()
    assert len({row.created_at for row in rows}) == 1  # really a tie

    result = tied_system.queries.dispatch(GetCustomerOrders(customer_id="ada"))

    assert ids(result) == ["order-0003", "order-0002", "order-0001"]


def test_customer_orders_can_be_filtered_by_status(orders_system: OrderSystem) -> None:
    first, second, third, fourth = (create(orders_system, "ada") for _ in range(4))
    orders_system.commands.dispatch(ShipOrder(order_id=second))
    orders_system.commands.dispatch(CancelOrder(order_id=third, reason="no"))
    orders_system.catch_up()

    def by_status(status: Any) -> Page[OrderView]:
        page: Page[OrderView] = orders_system.queries.dispatch(
            GetCustomerOrders(customer_id="ada", status=status)
        )
        return page

    assert ids(by_status("open")) == [fourth, first]
    assert ids(by_status(OrderStatus.SHIPPED)) == [second]
    assert ids(by_status("cancelled")) == [third]
    assert ids(by_status(None)) == [fourth, third, second, first]
    assert by_status("open").total == 2


def test_a_customer_without_orders_gets_an_empty_first_page(shop: OrderSystem) -> None:
    result = shop.queries.dispatch(GetCustomerOrders(customer_id="zed"))

    assert (ids(result), result.total, result.total_pages, result.has_next) == ([], 0, 0, False)


def test_customer_ids_are_matched_exactly(shop: OrderSystem) -> None:
    lower = shop.queries.dispatch(GetCustomerOrders(customer_id="ada"))
    upper = shop.queries.dispatch(GetCustomerOrders(customer_id="Ada"))

    assert (ids(lower), ids(upper)) == (["order-0001"], ["order-0003"])


# -- Page --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "page_size", "pages"),
    [(0, 20, 0), (1, 20, 1), (20, 20, 1), (21, 20, 2), (100, 7, 15), (100, 100, 1)],
)
def test_total_pages_is_the_ceiling_and_zero_without_results(
    total: int, page_size: int, pages: int
) -> None:
    assert Page(items=(), total=total, page=1, page_size=page_size).total_pages == pages


def test_a_page_checks_its_own_numbers() -> None:
    with pytest.raises(InvalidQueryError, match="page must be a whole number >= 1, found 0"):
        Page(items=(), total=0, page=0, page_size=20)
    with pytest.raises(InvalidQueryError, match="total must be a whole number >= 0, found -1"):
        Page(items=(), total=-1, page=1, page_size=20)


# -- invalid arguments -------------------------------------------------------------------------


INVALID: list[tuple[type[Any], dict[str, Any], tuple[str, ...]]] = [
    (GetOrderById, {"order_id": None}, ("order_id must be a string", "found NoneType")),
    (GetCustomerOrders, {"customer_id": 7}, ("customer_id must be a string", "found int")),
    (GetCustomerOrders, {"customer_id": "a", "page": 0}, ("page must", ">= 1", "found 0")),
    (GetCustomerOrders, {"customer_id": "a", "page": -2}, ("page must", ">= 1", "found -2")),
    (GetCustomerOrders, {"customer_id": "a", "page": 1.5}, ("page must", "whole", "found 1.5")),
    (GetCustomerOrders, {"customer_id": "a", "page": True}, ("page must", "found True")),
    (
        GetCustomerOrders,
        {"customer_id": "a", "page_size": 0},
        ("page_size must", f"from 1 to {MAX_PAGE_SIZE}", "found 0"),
    ),
    (
        GetCustomerOrders,
        {"customer_id": "a", "page_size": MAX_PAGE_SIZE + 1},
        ("page_size must", f"from 1 to {MAX_PAGE_SIZE}", f"found {MAX_PAGE_SIZE + 1}"),
    ),
    (
        GetCustomerOrders,
        {"customer_id": "a", "status": "pending"},
        ("status must be one of 'open', 'cancelled', 'shipped' or None", "found 'pending'"),
    ),
    (GetCustomerOrders, {"customer_id": "a", "status": 3}, ("status must be one of", "found 3")),
    (SearchOrders, {"text": None}, ("text must be a string", "found NoneType")),
    (SearchOrders, {"status": "OPEN"}, ("status must be one of", "found 'OPEN'")),
    (SearchOrders, {"page": 0}, ("page must", ">= 1", "found 0")),
    (SearchOrders, {"page_size": 500}, ("page_size must", "from 1 to 100", "found 500")),
    (SearchOrders, {"min_total": "5"}, ("min_total must be a number or None", "found str")),
    (SearchOrders, {"max_total": True}, ("max_total must be a number or None", "found bool")),
    (SearchOrders, {"min_total": float("nan")}, ("min_total must be a finite", "found nan")),
    (SearchOrders, {"max_total": float("inf")}, ("max_total must be a finite", "found inf")),
    (
        SearchOrders,
        {"min_total": 10, "max_total": 5.5},
        ("min_total must be <= max_total", "found min_total=10 > max_total=5.5"),
    ),
    (SearchOrders, {"sort_by": "price"}, ("sort_by must be one of created_at, customer_id",)),
    (SearchOrders, {"sort_by": None}, ("sort_by must be one of", "not on that list")),
    (SearchOrders, {"descending": "yes"}, ("descending must be True or False", "found str")),
]


@pytest.mark.parametrize(("query_type", "kwargs", "fragments"), INVALID)
def test_an_invalid_argument_is_an_invalid_query_error_saying_what_and_why(
    query_type: type[Any], kwargs: dict[str, Any], fragments: tuple[str, ...]
) -> None:
    with pytest.raises(InvalidQueryError) as raised:
        query_type(**kwargs)

    assert isinstance(raised.value, ValueError)
    for fragment in fragments:
        assert fragment in str(raised.value)


def test_the_largest_page_size_and_an_equal_amount_range_are_accepted() -> None:
    query = SearchOrders(min_total=4.75, max_total=4.75, page_size=MAX_PAGE_SIZE)

    assert (query.min_total, query.page_size) == (4.75, 100)


# -- SearchOrders ------------------------------------------------------------------------------


def search(system: OrderSystem, **kwargs: Any) -> Page[OrderView]:
    page: Page[OrderView] = system.queries.dispatch(SearchOrders(**kwargs))
    return page


def test_search_text_ignores_case_and_looks_in_product_ids(shop: OrderSystem) -> None:
    assert sorted(ids(search(shop, text="TEA"))) == ["order-0001", "order-0002", "order-0004"]
    assert ids(search(shop, text="green-")) == ["order-0002"]


def test_search_text_ignores_case_and_looks_in_customer_ids(shop: OrderSystem) -> None:
    assert sorted(ids(search(shop, text="ada"))) == ["order-0001", "order-0003"]
    assert sorted(ids(search(shop, text="  aDA "))) == ["order-0001", "order-0003"]


def test_search_text_does_not_look_in_order_ids_or_statuses(shop: OrderSystem) -> None:
    assert search(shop, text="order").total == 0
    assert search(shop, text="shipped").total == 0


def test_empty_search_text_matches_every_order(shop: OrderSystem) -> None:
    result = search(shop)

    assert result.total == 5
    assert ids(result) == ["order-0005", "order-0004", "order-0003", "order-0002", "order-0001"]


def test_search_filters_by_status(shop: OrderSystem) -> None:
    assert ids(search(shop, status="shipped")) == ["order-0002"]
    assert ids(search(shop, status=OrderStatus.CANCELLED)) == ["order-0003"]
    assert search(shop, status="open").total == 3


def test_search_amount_bounds_are_inclusive(shop: OrderSystem) -> None:
    between = search(shop, min_total=4.75, max_total=9.0, sort_by="total_amount")
    at_least = search(shop, min_total=9.0, sort_by="total_amount", descending=False)
    at_most = search(shop, max_total=2.5)

    assert ids(between) == ["order-0001", "order-0004"]
    assert ids(at_least) == ["order-0001", "order-0002"]
    assert ids(at_most) == ["order-0005"]


def test_search_filters_combine(shop: OrderSystem) -> None:
    result = search(shop, text="tea", status="open", min_total=5)

    assert (ids(result), result.total) == (["order-0001"], 1)


def test_search_sorts_by_amount_both_ways(shop: OrderSystem) -> None:
    ascending = search(shop, sort_by="total_amount", descending=False)
    descending = search(shop, sort_by="total_amount")

    order = ["order-0005", "order-0003", "order-0004", "order-0001", "order-0002"]
    assert ids(ascending) == order
    assert ids(descending) == order[::-1]


_NEVER = datetime.min.replace(tzinfo=UTC)


def expected_order(rows: list[OrderView], field: str, descending: bool) -> list[str]:
    """The specification: by the field, then order id; a missing value after all others."""

    def key(row: OrderView) -> tuple[Any, ...]:
        value = getattr(row, field)
        return (value is None, _NEVER if value is None else value, row.order_id)

    return [row.order_id for row in sorted(rows, key=key, reverse=descending)]


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("sort_by", SORTABLE_FIELDS)
def test_search_sorts_by_every_whitelisted_field_ties_by_order_id(
    tied_system: OrderSystem, sort_by: str, descending: bool
) -> None:
    # one instant for every order and equal counts and amounts: the order id must break ties
    for customer in ("bob", "ada", "bob", "cy", "ada"):
        create(tied_system, customer, line("tea", 1, 2.0))
    create(tied_system, "ada", line("tea", 1, 1.0), line("cake", 1, 1.0))
    tied_system.commands.dispatch(ShipOrder(order_id="order-0002"))
    tied_system.commands.dispatch(ShipOrder(order_id="order-0005"))
    tied_system.commands.dispatch(CancelOrder(order_id="order-0003", reason="no"))
    tied_system.catch_up()
    rows = tied_system.read_model.rows()

    pages = [
        search(tied_system, sort_by=sort_by, descending=descending, page=n, page_size=4)
        for n in (1, 2, 3)
    ]

    assert [ids(page) for page in pages] == [
        expected_order(rows, sort_by, descending)[:4],
        expected_order(rows, sort_by, descending)[4:],
        [],
    ]
    assert [page.total for page in pages] == [6, 6, 6]


def test_unshipped_orders_sort_after_shipped_ones_and_first_when_descending(
    shop: OrderSystem,
) -> None:
    ascending = ids(search(shop, sort_by="shipped_at", descending=False))
    descending = ids(search(shop, sort_by="shipped_at"))

    assert ascending[0] == "order-0002" and descending[-1] == "order-0002"


def test_the_sort_whitelist_is_the_playbooks_view_fields() -> None:
    fields = list(OrderView._fields)

    assert set(SORTABLE_FIELDS) == set(fields[:7])
    assert list(SORTABLE_FIELDS) == sorted(SORTABLE_FIELDS)


def test_a_malicious_sort_by_is_rejected_and_never_echoed(shop: OrderSystem) -> None:
    attack = "created_at; DROP TABLE order_views"

    with pytest.raises(InvalidQueryError) as raised:
        SearchOrders(sort_by=attack)

    message = str(raised.value)
    assert "DROP" not in message
    assert all(name in message for name in SORTABLE_FIELDS)


def test_a_sort_by_forged_past_validation_is_still_rejected_by_the_handler(
    shop: OrderSystem,
) -> None:
    forged = SearchOrders()
    object.__setattr__(forged, "sort_by", "total_amount DESC; --")

    with pytest.raises(InvalidQueryError, match="sort_by must be one of"):
        shop.queries.dispatch(forged)
    assert len(shop.read_model) == 5


def test_a_search_page_beyond_the_end_is_empty_with_the_right_total(shop: OrderSystem) -> None:
    result = search(shop, page=3, page_size=2)
    beyond = search(shop, page=4, page_size=2)

    assert (ids(result), result.total_pages) == (["order-0001"], 3)
    assert (ids(beyond), beyond.total, beyond.total_pages) == ([], 5, 3)


# -- wiring: the bus, the source of the read model, strong consistency ------------------------


def test_every_order_query_is_registered_on_the_query_bus(orders_system: OrderSystem) -> None:
    registered = orders_system.queries.registered

    assert {"GetOrderById", "GetCustomerOrders", "SearchOrders"} <= set(registered)


def test_building_the_system_starts_nothing(orders_system: OrderSystem) -> None:
    assert not orders_system.projector.running
    assert orders_system.waiter.names == ["order_views"]
    assert not hasattr(orders_system.commands, "waiter")  # the write side knows no read model


class ShoutedCustomers(OrderViewProjection):
    """A new version of the projection: customer ids in capitals."""

    def project(self, record: RecordedEvent, view: RowReader[OrderView]) -> Changes:
        return {
            key: row._replace(customer_id=row.customer_id.upper())
            for key, row in super().project(record, view).items()
        }


def test_a_blue_green_switch_is_seen_by_the_next_query(orders_system: OrderSystem) -> None:
    first, second = create(orders_system, "ada"), create(orders_system, "ada")
    orders_system.catch_up()
    blue = orders_system.projector.read_model
    rebuild = orders_system.projector.start_rebuild(
        RebuildMode.BLUE_GREEN, projection=ShoutedCustomers()
    )

    rebuild.step(limit=1)
    during = orders_system.queries.dispatch(GetCustomerOrders(customer_id="ada"))
    while not rebuild.finished:
        rebuild.step(limit=1)
    after = orders_system.queries.dispatch(GetCustomerOrders(customer_id="ADA"))

    assert ids(during) == [second, first]  # still the old view, complete
    assert orders_system.projector.read_model is not blue
    assert isinstance(orders_system.projector.read_model, OrderReadModel)
    assert ids(after) == [second, first]
    assert orders_system.queries.dispatch(GetCustomerOrders(customer_id="ada")).total == 0


def test_handlers_reject_a_source_that_is_not_an_order_read_model() -> None:
    handlers = OrderQueryHandlers(lambda: InMemoryReadModel[OrderView]("order_views"))

    with pytest.raises(InvalidArgumentError, match=r"need an OrderReadModel.*InMemoryReadModel"):
        handlers.get_order_by_id(GetOrderById(order_id="order-0001"))


@pytest.fixture
def live_system(orders_system: OrderSystem) -> Iterator[OrderSystem]:
    """The Order system with its projector running in its thread; stopped after the test."""
    orders_system.projector.start()
    yield orders_system
    orders_system.projector.stop()


def test_a_strong_dispatch_returns_once_the_order_views_have_the_write(
    live_system: OrderSystem,
) -> None:
    dispatched = live_system.dispatch(
        CreateOrder(customer_id="ada", items=(line(),)), consistency="strong", timeout=LIVE_TIMEOUT
    )

    assert dispatched.caught_up is True
    assert live_system.projector.checkpoint >= dispatched.position
    order_id = dispatched.receipt.stream_id
    assert live_system.queries.dispatch(GetOrderById(order_id=order_id)) is not None


# -- live, in-place and blue/green views agree -------------------------------------------------

CUSTOMERS = ("ada", "bob", "cy")
PRODUCTS = ("tea", "cake", "Milk")
PRICES = (0.5, 1.25, 2.0, 3.5)

_line = st.builds(line, st.sampled_from(PRODUCTS), st.integers(1, 3), st.sampled_from(PRICES))
_operation = st.one_of(
    st.tuples(
        st.just("create"), st.sampled_from(CUSTOMERS), st.lists(_line, min_size=1, max_size=3)
    ),
    st.tuples(st.just("add"), st.integers(0, 99), _line),
    st.tuples(st.just("cancel"), st.integers(0, 99)),
    st.tuples(st.just("ship"), st.integers(0, 99)),
)


class Shopper:
    """Turns a drawn operation into a valid command: changes only ever target an open order."""

    def __init__(self) -> None:
        self.open_orders: list[str] = []
        self.created = 0

    def command(self, operation: tuple[Any, ...]) -> Command:
        kind = operation[0]
        if kind == "create" or not self.open_orders:
            customer, lines = (
                (operation[1], operation[2]) if kind == "create" else ("ada", [line()])
            )
            self.created += 1
            self.open_orders.append(f"order-{self.created:04d}")
            return CreateOrder(customer_id=customer, items=tuple(lines))
        order_id = self.open_orders[operation[1] % len(self.open_orders)]
        if kind == "add":
            item: OrderLine = operation[2]
            return AddOrderItem(
                order_id=order_id,
                product_id=item.product_id,
                quantity=item.quantity,
                price=item.price,
            )
        self.open_orders.remove(order_id)
        if kind == "cancel":
            return CancelOrder(order_id=order_id, reason="drawn")
        return ShipOrder(order_id=order_id)


def assert_queries_see_the_complete_view(system: OrderSystem, live: OrderReadModel) -> None:
    """Every order in the store up to the checkpoint is visible, exactly as the live view has it."""
    checkpoint = system.projector.checkpoint
    assert checkpoint == live.checkpoint == system.store.head
    records = system.store.read_all(0, checkpoint) if checkpoint else []
    created = [r.stream_id for r in records if r.event_type == "OrderCreated"]
    for order_id in created:
        seen = system.queries.dispatch(GetOrderById(order_id=order_id))
        assert seen is not None and seen == live.get(order_id)
    assert len(system.read_model) == len(created)
    for customer in CUSTOMERS:
        page = system.queries.dispatch(GetCustomerOrders(customer_id=customer, page_size=100))
        expected = [
            row.order_id
            for row in sorted(
                (row for row in live.rows() if row.customer_id == customer),
                key=lambda row: (row.created_at, row.order_id),
                reverse=True,
            )
        ]
        assert ids(page) == expected


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    before=st.lists(_operation, max_size=12),
    during=st.lists(_operation, max_size=12),
    limits=st.lists(st.integers(1, 4), min_size=1, max_size=6),
    clock_step=st.sampled_from([0.0, 1.0]),
)
def test_live_in_place_and_blue_green_views_are_equal(
    before: list[tuple[Any, ...]],
    during: list[tuple[Any, ...]],
    limits: list[int],
    clock_step: float,
) -> None:
    system = build_order_system(clock=ManualClock(step=clock_step))
    live = OrderReadModel()  # the view built live, one catch-up after each command
    live_projector = Projector(system.store, OrderViewProjection(), live)
    shopper = Shopper()

    def run(operation: tuple[Any, ...]) -> None:
        system.commands.dispatch(shopper.command(operation))
        live_projector.catch_up()
        system.projector.catch_up()
        assert_queries_see_the_complete_view(system, live)

    for operation in before:
        run(operation)

    rebuild = system.projector.start_rebuild(RebuildMode.BLUE_GREEN)
    pending, steps = list(during), 0
    while not rebuild.finished:
        rebuild.step(limit=limits[steps % len(limits)])
        steps += 1
        assert_queries_see_the_complete_view(system, live)
        if pending:
            run(pending.pop(0))
    for operation in pending:
        run(operation)

    blue_green = system.read_model.rows()
    assert isinstance(system.projector.read_model, OrderReadModel)
    system.projector.rebuild(RebuildMode.IN_PLACE)
    in_place = system.read_model.rows()

    assert blue_green == live.rows() == in_place
    assert len(in_place) == shopper.created
