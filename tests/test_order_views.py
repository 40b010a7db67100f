"""The Order read model: the projection of each event, the row type, the per-customer index."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cqrs_lab.clock import DEFAULT_START, ManualClock
from cqrs_lab.errors import ProjectionFailedError
from cqrs_lab.event_store import NO_STREAM, InMemoryEventStore
from cqrs_lab.examples.orders import (
    ORDER_EVENTS,
    AddOrderItem,
    CancelOrder,
    CreateOrder,
    OrderCreated,
    OrderItemAdded,
    OrderLine,
    OrderStatus,
    OrderSystem,
    ShipOrder,
    build_order_system,
)
from cqrs_lab.examples.orders.views import (
    OrderReadModel,
    OrderView,
    OrderViewError,
    OrderViewProjection,
)
from cqrs_lab.messages import Event, RecordedEvent
from cqrs_lab.projection import InMemoryReadModel
from cqrs_lab.projector import Projector

T0 = DEFAULT_START


@pytest.fixture
def orders_system() -> OrderSystem:
    """The Order example as notebooks build it: the clock moves 1 s per reading."""
    return build_order_system()


def line(product_id: str = "tea", quantity: int = 1, price: float = 2.5) -> OrderLine:
    return OrderLine(product_id=product_id, quantity=quantity, price=price)


def create(system: OrderSystem, customer_id: str = "ada", *lines: OrderLine) -> str:
    receipt = system.commands.dispatch(
        CreateOrder(customer_id=customer_id, items=lines or (line(),))
    )
    return receipt.stream_id


def recorded_at(system: OrderSystem, order_id: str, version: int) -> datetime:
    return system.store.read_stream(order_id, version)[0].recorded_at


def view(
    order_id: str,
    customer_id: str = "ada",
    created_at: datetime = T0,
    status: str = "open",
    *,
    total: float = 1.0,
    shipped_at: datetime | None = None,
) -> OrderView:
    return OrderView(order_id, customer_id, status, total, 1, created_at, shipped_at, ("tea",))


# -- the projection, event by event -----------------------------------------------------------


def test_order_created_becomes_an_open_row_dated_by_the_envelope(
    orders_system: OrderSystem,
) -> None:
    order_id = create(orders_system, "ada", line("tea", 2, 3.5))
    orders_system.catch_up()

    row = orders_system.read_model.get(order_id)

    assert row == OrderView(
        order_id=order_id,
        customer_id="ada",
        status="open",
        total_amount=7.0,
        item_count=1,
        created_at=recorded_at(orders_system, order_id, 1),
        shipped_at=None,
        product_ids=("tea",),
    )


def test_several_lines_are_summed_and_each_product_listed_once_in_first_order(
    orders_system: OrderSystem,
) -> None:
    lines = (line("tea", 2, 3.5), line("cake", 1, 4.0), line("tea", 1, 3.5))
    order_id = create(orders_system, "ada", *lines)
    orders_system.catch_up()

    row = orders_system.read_model.get(order_id)

    assert row is not None
    assert (row.total_amount, row.item_count, row.product_ids) == (14.5, 3, ("tea", "cake"))


def test_total_amount_is_a_float_even_for_whole_prices(orders_system: OrderSystem) -> None:
    order_id = create(orders_system, "ada", line("tea", 2, 3))
    orders_system.catch_up()

    row = orders_system.read_model.get(order_id)

    assert row is not None
    assert type(row.total_amount) is float
    assert row.total_amount == 6.0


def test_item_added_raises_total_and_item_count_and_adds_only_new_products(
    orders_system: OrderSystem,
) -> None:
    order_id = create(orders_system, "ada", line("tea", 1, 2.0))
    for product, quantity, price in (("cake", 2, 1.25), ("tea", 3, 2.0)):
        orders_system.commands.dispatch(
            AddOrderItem(order_id=order_id, product_id=product, quantity=quantity, price=price)
        )
    orders_system.catch_up()

    row = orders_system.read_model.get(order_id)

    assert row is not None
    assert (row.total_amount, row.item_count, row.product_ids) == (10.5, 3, ("tea", "cake"))
    assert row.created_at == recorded_at(orders_system, order_id, 1)
    assert row.status == "open"


def test_shipped_sets_the_status_and_shipped_at_from_the_envelope(
    orders_system: OrderSystem,
) -> None:
    order_id = create(orders_system)
    orders_system.commands.dispatch(ShipOrder(order_id=order_id))
    orders_system.catch_up()

    row = orders_system.read_model.get(order_id)

    assert row is not None
    assert row.status == OrderStatus.SHIPPED
    assert row.shipped_at == recorded_at(orders_system, order_id, 2)
    assert row.shipped_at > row.created_at
    assert row.total_amount == 2.5


def test_cancelled_sets_the_status_and_leaves_shipped_at_empty(
    orders_system: OrderSystem,
) -> None:
    order_id = create(orders_system)
    orders_system.commands.dispatch(CancelOrder(order_id=order_id, reason="changed my mind"))
    orders_system.catch_up()

    row = orders_system.read_model.get(order_id)

    assert row is not None
    assert (row.status, row.shipped_at, row.item_count) == ("cancelled", None, 1)


def test_the_projection_handles_exactly_the_four_order_events() -> None:
    assert OrderViewProjection.handles == {event.type_name for event in ORDER_EVENTS}
    assert OrderViewProjection.name == "order_views" == OrderReadModel().name


def test_project_returns_the_change_and_touches_nothing(orders_system: OrderSystem) -> None:
    order_id = create(orders_system)
    record = orders_system.store.read_all()[0]
    model = OrderReadModel()

    changes = OrderViewProjection().project(record, model)

    assert list(changes) == [order_id]
    assert (len(model), model.checkpoint, model.customer_orders("ada", offset=0, limit=5)) == (
        0,
        0,
        ([], 0),
    )


def test_an_event_for_an_order_never_created_is_an_error_naming_it() -> None:
    event = OrderItemAdded(order_id="order-9", product_id="tea", quantity=1, price=1.0)
    record = RecordedEvent(7, "order-9", 2, T0, "OrderItemAdded", 1, event)

    with pytest.raises(OrderViewError, match=r"position 7 names order 'order-9'.*OrderCreated"):
        OrderViewProjection().project(record, OrderReadModel())


def test_the_projector_stops_before_an_event_for_an_unknown_order() -> None:
    store = InMemoryEventStore(clock=ManualClock())
    event = OrderItemAdded(order_id="order-9", product_id="tea", quantity=1, price=1.0)
    store.append("order-9", [event], NO_STREAM)
    projector = Projector(store, OrderViewProjection(), OrderReadModel(), clock=ManualClock())

    with pytest.raises(ProjectionFailedError) as failed:
        projector.catch_up()

    assert isinstance(failed.value.__cause__, OrderViewError)
    assert projector.checkpoint == 0


# -- the row type ------------------------------------------------------------------------------


def test_rows_built_by_the_projection_are_frozen_order_views_equal_to_plain_ones(
    orders_system: OrderSystem,
) -> None:
    # one row left by each way the projection builds rows
    run = orders_system.commands.dispatch
    shipped = create(orders_system, "ada", line("tea", 2, 3.5))  # one line
    cancelled = create(orders_system, "bob", line("tea"), line("cake"))  # several lines
    added_to = create(orders_system, "cy")
    run(AddOrderItem(order_id=added_to, product_id="cake", quantity=1, price=1.0))
    run(ShipOrder(order_id=shipped))
    run(CancelOrder(order_id=cancelled, reason="no"))
    orders_system.catch_up()
    rows = orders_system.read_model.rows()
    assert [row.status for row in rows] == ["shipped", "cancelled", "open"]

    for row in rows:
        plain = OrderView(**{name: getattr(row, name) for name in OrderView._fields})

        assert type(row) is OrderView
        assert row == plain and hash(row) == hash(plain) and repr(row) == repr(plain)
        with pytest.raises(AttributeError):
            row.status = "open"  # type: ignore[misc]
        assert not hasattr(row, "__dict__")


def test_the_playbook_fields_come_first() -> None:
    names = list(OrderView._fields)

    assert names[:7] == [
        "order_id",
        "customer_id",
        "status",
        "total_amount",
        "item_count",
        "created_at",
        "shipped_at",
    ]


# -- the per-customer index --------------------------------------------------------------------


def order_ids(model: OrderReadModel, customer_id: str, status: str | None = None) -> list[str]:
    rows, total = model.customer_orders(customer_id, status, offset=0, limit=1_000)
    assert total == len(rows)
    return [row.order_id for row in rows]


def test_a_customers_orders_come_newest_first() -> None:
    model = OrderReadModel()
    later = T0 + timedelta(seconds=5)
    model.commit(1, {"o-1": view("o-1", created_at=T0), "o-2": view("o-2", created_at=later)})
    model.commit(2, {"o-3": view("o-3", created_at=T0 + timedelta(seconds=1))})
    model.commit(3, {"o-4": view("o-4", "bob")})

    assert order_ids(model, "ada") == ["o-2", "o-3", "o-1"]
    assert order_ids(model, "bob") == ["o-4"]
    assert order_ids(model, "nobody") == []


def test_orders_created_at_the_same_instant_come_greater_order_id_first() -> None:
    model = OrderReadModel()
    model.commit(1, {key: view(key) for key in ("o-2", "o-10", "o-1")})

    assert order_ids(model, "ada") == ["o-2", "o-10", "o-1"]


def test_a_page_is_a_slice_from_the_newest() -> None:
    model = OrderReadModel()
    model.commit(1, {f"o-{i}": view(f"o-{i}", created_at=T0 + timedelta(i)) for i in range(7)})

    def page(offset: int, limit: int) -> tuple[list[str], int]:
        rows, total = model.customer_orders("ada", offset=offset, limit=limit)
        return [row.order_id for row in rows], total

    assert page(0, 3) == (["o-6", "o-5", "o-4"], 7)
    assert page(6, 3) == (["o-0"], 7)
    assert page(7, 3) == ([], 7)


def test_the_status_index_follows_each_change_of_status(orders_system: OrderSystem) -> None:
    first, second, third = (create(orders_system) for _ in range(3))
    orders_system.commands.dispatch(ShipOrder(order_id=first))
    orders_system.commands.dispatch(CancelOrder(order_id=third, reason="no"))
    orders_system.catch_up()
    model = orders_system.read_model

    assert order_ids(model, "ada") == [third, second, first]
    assert order_ids(model, "ada", "open") == [second]
    assert order_ids(model, "ada", "shipped") == [first]
    assert order_ids(model, "ada", OrderStatus.CANCELLED) == [third]


def test_deleting_and_moving_rows_updates_the_index() -> None:
    model = OrderReadModel()
    model.commit(1, {"o-1": view("o-1"), "o-2": view("o-2", created_at=T0 + timedelta(1))})
    model.commit(2, {"o-1": None, "o-2": view("o-2", "bob", T0 - timedelta(1), "shipped")})

    assert order_ids(model, "ada") == []
    assert order_ids(model, "bob") == order_ids(model, "bob", "shipped") == ["o-2"]
    assert model.customers() == ["bob"]


def test_a_status_given_as_an_enum_member_is_indexed_under_its_value() -> None:
    model = OrderReadModel()
    model.apply_out_of_order({"o-1": view("o-1", status=OrderStatus.SHIPPED)})

    assert order_ids(model, "ada", "shipped") == ["o-1"]
    assert order_ids(model, "ada", "open") == []


class IndexFailsOn(OrderReadModel):
    """The order model with an index hook that raises for one order id."""

    def __init__(self, failing_id: str) -> None:
        super().__init__()
        self.failing_id = failing_id

    def _on_change(self, key: str, before: OrderView | None, after: OrderView | None) -> None:
        if key == self.failing_id and after is not None and after.status != "open":
            raise RuntimeError(f"index full for {key}")
        super()._on_change(key, before, after)


def test_a_commit_whose_index_hook_raises_changes_neither_rows_index_nor_checkpoint() -> None:
    model = IndexFailsOn("o-2")
    first, second = view("o-1"), view("o-2", created_at=T0 + timedelta(1))
    model.commit(1, {"o-1": first, "o-2": second})

    with pytest.raises(RuntimeError, match="index full for o-2"):
        model.commit(
            2, {"o-1": view("o-1", status="shipped"), "o-2": view("o-2", status="cancelled")}
        )

    assert (model.get("o-1"), model.get("o-2"), model.checkpoint) == (first, second, 1)
    assert order_ids(model, "ada", "open") == ["o-2", "o-1"]
    assert order_ids(model, "ada", "shipped") == order_ids(model, "ada", "cancelled") == []


def test_clear_empties_the_rows_and_the_index() -> None:
    model = OrderReadModel()
    model.commit(1, {"o-1": view("o-1")})

    model.clear()

    assert (len(model), model.checkpoint, model.customers()) == (0, 0, [])
    assert order_ids(model, "ada") == order_ids(model, "ada", "open") == []


_customers = st.sampled_from(["ada", "bob", "cy"])
_statuses = st.sampled_from([status.value for status in OrderStatus])
_times = st.integers(0, 3).map(lambda s: T0 + timedelta(seconds=s))
_rows = st.builds(view, st.just(""), _customers, _times, _statuses)
_changes = st.dictionaries(
    st.sampled_from([f"o-{i}" for i in range(8)]), st.none() | _rows, max_size=5
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_changes, max_size=12))
def test_the_index_always_agrees_with_sorting_the_rows(
    batches: list[dict[str, OrderView | None]],
) -> None:
    model, plain = OrderReadModel(), InMemoryReadModel[OrderView]("plain")
    for position, batch in enumerate(batches, start=1):
        changes = {
            key: None if row is None else row._replace(order_id=key) for key, row in batch.items()
        }
        model.commit(position, changes)
        plain.commit(position, changes)

        assert model.rows() == plain.rows()
        for customer in ("ada", "bob", "cy"):
            for status in (None, "open", "cancelled", "shipped"):
                expected = sorted(
                    (
                        row
                        for row in plain.rows()
                        if row.customer_id == customer and status in (None, row.status)
                    ),
                    key=lambda row: (row.created_at, row.order_id),
                    reverse=True,
                )
                assert order_ids(model, customer, status) == [row.order_id for row in expected]


# -- as a table --------------------------------------------------------------------------------


def test_to_dataframe_is_indexed_by_order_id_with_plain_status_strings(
    orders_system: OrderSystem,
) -> None:
    shipped = create(orders_system, "ada", line("tea", 2, 3.5))
    still_open = create(orders_system, "bob")
    orders_system.commands.dispatch(ShipOrder(order_id=shipped))
    orders_system.catch_up()

    frame = orders_system.read_model.to_dataframe()

    assert frame.index.name == "order_id"
    assert list(frame.index) == [shipped, still_open]
    assert list(frame.columns) == [
        "customer_id",
        "status",
        "total_amount",
        "item_count",
        "created_at",
        "shipped_at",
        "product_ids",
    ]
    assert list(frame["status"]) == ["shipped", "open"]
    assert all(type(value) is str for value in frame["status"])
    assert frame.loc[shipped, "total_amount"] == 7.0
    assert frame["shipped_at"].isna().tolist() == [False, True]


def test_to_dataframe_of_an_empty_model_still_has_the_columns() -> None:
    frame = OrderReadModel().to_dataframe()

    assert frame.empty
    assert "status" in frame.columns and frame.index.name == "order_id"


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderItemAddedV2(Event):
    """A newer class stored under the same name, as an upcaster would read it back."""

    type_name = "OrderItemAdded"
    schema_version = 2
    order_id: str
    product_id: str
    quantity: int
    price: float
    note: str = ""


def test_an_event_read_back_as_a_newer_class_of_the_same_name_is_projected() -> None:
    model = OrderReadModel()
    tea = OrderLine(product_id="tea", quantity=1, price=2.0)
    created = OrderCreated(order_id="order-1", customer_id="ada", items=(tea,))
    added = OrderItemAddedV2(order_id="order-1", product_id="jam", quantity=2, price=1.5)
    projection = OrderViewProjection()
    for position, event in enumerate([created, added], start=1):
        record = RecordedEvent(
            position, "order-1", position, DEFAULT_START, event.type_name, 1, event
        )
        model.commit(position, projection.project(record, model))

    row = model.get("order-1")
    assert row is not None
    assert (row.total_amount, row.item_count, row.product_ids) == (5.0, 2, ("tea", "jam"))
