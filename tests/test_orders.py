"""The Order example: every rule refuses with a clear message and appends nothing; happy paths
record what they should; and an order rebuilt from the store equals the one built live."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cqrs_lab.clock import DEFAULT_START
from cqrs_lab.errors import DomainError
from cqrs_lab.event_store import InMemoryEventStore
from cqrs_lab.examples.orders import (
    AddOrderItem,
    CancelOrder,
    CreateOrder,
    InvalidOrderError,
    Order,
    OrderCancelled,
    OrderCreated,
    OrderItemAdded,
    OrderLine,
    OrderNotFoundError,
    OrderShipped,
    OrderState,
    OrderStatus,
    OrderSystem,
    ShipOrder,
    build_order_system,
)
from cqrs_lab.messages import Command, RecordedEvent

TEA = OrderLine(product_id="tea", quantity=2, price=3.5)


def snapshot(store: InMemoryEventStore) -> tuple[int, list[RecordedEvent]]:
    return store.head, store.read_all()


def create(system: OrderSystem, *lines: OrderLine, customer_id: str = "cust-1") -> str:
    return system.commands.dispatch(CreateOrder(customer_id=customer_id, items=lines)).stream_id


def refused(system: OrderSystem, command: Command, message: str) -> DomainError:
    """Dispatch ``command``, expect a DomainError matching ``message`` and an unchanged store."""
    before = snapshot(system.store)
    with pytest.raises(DomainError, match=message) as caught:
        system.commands.dispatch(command)
    assert snapshot(system.store) == before
    return caught.value


# --- rules -------------------------------------------------------------------------------------


def test_an_order_without_items_is_refused(system: OrderSystem) -> None:
    error = refused(
        system, CreateOrder(customer_id="cust-1", items=()), "needs at least one item, found none"
    )

    assert isinstance(error, InvalidOrderError)
    assert isinstance(error, ValueError)


def test_a_refused_order_uses_up_no_order_id(system: OrderSystem) -> None:
    refused(system, CreateOrder(customer_id="cust-1", items=()), "needs at least one item")

    assert create(system, TEA) == "order-0001"


def test_an_order_created_with_a_new_id_draws_it_only_once_the_input_is_valid() -> None:
    drawn: list[str] = []

    def new_id() -> str:
        drawn.append(f"order-{len(drawn) + 1}")
        return drawn[-1]

    with pytest.raises(InvalidOrderError):
        Order.create_with_new_id(new_id, "cust-1", ())
    order = Order.create_with_new_id(new_id, "cust-1", (TEA,))

    assert drawn == ["order-1"]
    assert order.id == "order-1"
    assert order.pending_events == (
        OrderCreated(order_id="order-1", customer_id="cust-1", items=(TEA,)),
    )


@pytest.mark.parametrize("customer_id", ["", "   ", None])
def test_an_order_for_a_blank_customer_is_refused(system: OrderSystem, customer_id: Any) -> None:
    refused(
        system,
        CreateOrder(customer_id=customer_id, items=(TEA,)),
        f"customer_id must be a non-blank string, found {customer_id!r}",
    )


@pytest.mark.parametrize("quantity", [0, -1, 1.5, True, "2", None])
def test_a_line_whose_quantity_is_not_a_whole_number_above_zero_is_refused(
    system: OrderSystem, quantity: Any
) -> None:
    message = rf"quantity of 'tea' must be a whole number > 0, found {quantity!r}"
    line = OrderLine(product_id="tea", quantity=quantity, price=1.0)
    refused(system, CreateOrder(customer_id="cust-1", items=(line,)), message)
    order_id = create(system, TEA)
    refused(
        system,
        AddOrderItem(order_id=order_id, product_id="tea", quantity=quantity, price=1.0),
        message,
    )


@pytest.mark.parametrize(
    ("price", "message"),
    [
        (-0.01, r"price of 'tea' must be >= 0, found -0\.01"),
        (-5, "price of 'tea' must be >= 0, found -5"),
        (math.nan, "price of 'tea' must be a finite number, found nan"),
        (math.inf, "price of 'tea' must be a finite number, found inf"),
        (-math.inf, "price of 'tea' must be a finite number, found -inf"),
        (True, "price of 'tea' must be a finite number, found True"),
        ("3.50", "price of 'tea' must be a finite number, found '3.50'"),
    ],
)
def test_a_line_whose_price_is_negative_or_not_a_finite_number_is_refused(
    system: OrderSystem, price: Any, message: str
) -> None:
    line = OrderLine(product_id="tea", quantity=1, price=price)
    refused(system, CreateOrder(customer_id="cust-1", items=(line,)), message)
    order_id = create(system, TEA)
    refused(
        system, AddOrderItem(order_id=order_id, product_id="tea", quantity=1, price=price), message
    )


def test_a_line_with_a_blank_product_is_refused(system: OrderSystem) -> None:
    order_id = create(system, TEA)

    refused(
        system,
        AddOrderItem(order_id=order_id, product_id=" ", quantity=1, price=1.0),
        "product_id must be a non-blank string, found ' '",
    )


def test_items_that_are_not_order_lines_are_refused(system: OrderSystem) -> None:
    refused(
        system,
        CreateOrder(customer_id="cust-1", items=({"product_id": "tea"},)),  # type: ignore[arg-type]
        "items must be OrderLine values",
    )


def test_a_line_is_checked_even_after_valid_ones(system: OrderSystem) -> None:
    bad = OrderLine(product_id="cake", quantity=0, price=1.0)

    refused(system, CreateOrder(customer_id="cust-1", items=(TEA, bad)), "quantity of 'cake'")


@pytest.mark.parametrize(
    "command",
    [
        AddOrderItem(order_id="order-9999", product_id="tea", quantity=1, price=1.0),
        CancelOrder(order_id="order-9999", reason="changed mind"),
        ShipOrder(order_id="order-9999"),
    ],
    ids=["add", "cancel", "ship"],
)
def test_a_command_for_an_unknown_order_is_order_not_found(
    system: OrderSystem, command: Command
) -> None:
    create(system, TEA)

    error = refused(system, command, "order 'order-9999' not found")

    assert isinstance(error, OrderNotFoundError)
    assert isinstance(error, LookupError)


@pytest.mark.parametrize(
    ("end", "status"),
    [
        (lambda order_id: CancelOrder(order_id=order_id, reason="r"), "cancelled"),
        (lambda order_id: ShipOrder(order_id=order_id), "shipped"),
    ],
    ids=["cancelled", "shipped"],
)
@pytest.mark.parametrize(
    ("then", "action"),
    [
        (
            lambda order_id: AddOrderItem(order_id=order_id, product_id="j", quantity=1, price=1.0),
            "add an item to",
        ),
        (lambda order_id: CancelOrder(order_id=order_id, reason="again"), "cancel"),
        (lambda order_id: ShipOrder(order_id=order_id), "ship"),
    ],
    ids=["add", "cancel", "ship"],
)
def test_a_closed_order_cannot_change(
    system: OrderSystem, end: Any, status: str, then: Any, action: str
) -> None:
    order_id = create(system, TEA)
    system.commands.dispatch(end(order_id))

    error = refused(
        system,
        then(order_id),
        f"cannot {action} order '{order_id}': it is {status}, only an open order can change",
    )

    assert isinstance(error, InvalidOrderError)


# --- happy paths -------------------------------------------------------------------------------


def test_creating_an_order_returns_the_receipt_of_its_first_event(system: OrderSystem) -> None:
    receipt = system.commands.dispatch(
        CreateOrder(customer_id="cust-1", items=(TEA,), shipping_address="1 Main St")
    )

    assert (receipt.stream_id, receipt.stream_version, receipt.position) == ("order-0001", 1, 1)
    assert receipt.command_id == "cmd-0001"
    (record,) = system.store.read_stream("order-0001")
    assert record.event == OrderCreated(
        order_id="order-0001", customer_id="cust-1", items=(TEA,), shipping_address="1 Main St"
    )


def test_stored_events_name_the_command_that_caused_them(system: OrderSystem) -> None:
    order_id = create(system, TEA)
    receipt = system.commands.dispatch(
        AddOrderItem(order_id=order_id, product_id="cake", quantity=1, price=4.25)
    )

    created, added = system.store.read_stream(order_id)

    assert (created.causation_id, created.correlation_id) == ("cmd-0001", "cmd-0001")
    assert (added.causation_id, added.correlation_id) == ("cmd-0002", "cmd-0002")
    assert receipt.command_id == added.causation_id


def test_a_client_correlation_id_follows_the_command_into_its_events(system: OrderSystem) -> None:
    order_id = create(system, TEA)

    system.commands.dispatch(
        ShipOrder(order_id=order_id), command_id="web-42", correlation_id="checkout-7"
    )

    shipped = system.store.read_stream(order_id)[-1]
    assert shipped.event == OrderShipped(order_id=order_id)
    assert (shipped.causation_id, shipped.correlation_id) == ("web-42", "checkout-7")


def test_events_are_recorded_at_the_clock_time_of_their_append(system: OrderSystem) -> None:
    create(system, TEA)  # the clock is read for the envelope, then at append: 09:00:00, :01

    (record,) = system.store.read_all()

    assert record.recorded_at == DEFAULT_START + timedelta(seconds=1)


def test_adding_an_item_extends_the_lines_and_the_total(system: OrderSystem) -> None:
    order_id = create(system, TEA)

    receipt = system.commands.dispatch(
        AddOrderItem(order_id=order_id, product_id="cake", quantity=1, price=4.25)
    )

    order = system.handlers.orders.load(order_id)
    assert (receipt.stream_version, receipt.position) == (2, 2)
    assert order.state.lines == (TEA, OrderLine(product_id="cake", quantity=1, price=4.25))
    assert order.state.total == 11.25
    assert isinstance(system.store.read_all()[-1].event, OrderItemAdded)


def test_cancelling_an_order_keeps_the_reason(system: OrderSystem) -> None:
    order_id = create(system, TEA)

    system.commands.dispatch(CancelOrder(order_id=order_id, reason="changed mind"))

    order = system.handlers.orders.load(order_id)
    assert order.state.status is OrderStatus.CANCELLED
    assert order.state.cancel_reason == "changed mind"
    assert system.store.read_all()[-1].event == OrderCancelled(
        order_id=order_id, reason="changed mind"
    )


def test_shipping_an_order_closes_it(system: OrderSystem) -> None:
    order_id = create(system, TEA)

    receipt = system.commands.dispatch(ShipOrder(order_id=order_id))

    assert system.handlers.orders.load(order_id).state.status is OrderStatus.SHIPPED
    assert receipt.stream_version == 2


def test_orders_get_their_own_streams(system: OrderSystem) -> None:
    first = create(system, TEA, customer_id="cust-1")
    second = create(system, TEA, customer_id="cust-2")

    assert (first, second) == ("order-0001", "order-0002")
    assert system.store.stream_ids() == ["order-0001", "order-0002"]
    assert system.handlers.orders.load(second).state.customer_id == "cust-2"


# --- property: an order rebuilt from the store equals the one built live -----------------------


@dataclass(frozen=True)
class Create:
    customer_id: str
    lines: tuple[OrderLine, ...]


@dataclass(frozen=True)
class Add:
    order: int  # picks one of the orders created so far; before the first, an unknown one
    line: OrderLine


@dataclass(frozen=True)
class Cancel:
    order: int
    reason: str


@dataclass(frozen=True)
class Ship:
    order: int


Step = Create | Add | Cancel | Ship

lines = st.builds(
    OrderLine,
    product_id=st.sampled_from(["tea", "cake", "jam"]),
    quantity=st.integers(min_value=1, max_value=100),
    price=st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False),
)
order_index = st.integers(min_value=0, max_value=7)
steps: st.SearchStrategy[Step] = st.one_of(
    st.builds(
        Create,
        st.sampled_from(["cust-1", "cust-2"]),
        st.lists(lines, min_size=1, max_size=3).map(tuple),
    ),
    st.builds(Add, order_index, lines),
    st.builds(Cancel, order_index, st.sampled_from(["changed mind", ""])),
    st.builds(Ship, order_index),
)


def live_saved(order: Order) -> None:
    """What the repository does on save, for an order driven by hand."""
    order.mark_saved(order.version + len(order.pending_events))


@settings(max_examples=100, deadline=None)
@given(st.lists(steps, max_size=25))
def test_every_order_rebuilt_from_the_store_equals_the_order_built_live(
    script: list[Step],
) -> None:
    system = build_order_system()
    live: dict[str, Order] = {}
    order_ids: list[str] = []

    for step in script:
        if isinstance(step, Create):
            receipt = system.commands.dispatch(
                CreateOrder(customer_id=step.customer_id, items=step.lines)
            )
            order = Order.create(receipt.stream_id, step.customer_id, step.lines)
            live_saved(order)
            live[receipt.stream_id] = order
            order_ids.append(receipt.stream_id)
            continue

        known = bool(order_ids)
        order_id = order_ids[step.order % len(order_ids)] if known else f"order-{9000 + step.order}"
        if isinstance(step, Add):
            command: Command = AddOrderItem(
                order_id=order_id,
                product_id=step.line.product_id,
                quantity=step.line.quantity,
                price=step.line.price,
            )
        elif isinstance(step, Cancel):
            command = CancelOrder(order_id=order_id, reason=step.reason)
        else:
            command = ShipOrder(order_id=order_id)

        if not known:
            refused(system, command, "not found")
            continue
        order = live[order_id]
        if order.state.status is not OrderStatus.OPEN:
            refused(system, command, f"it is {order.state.status.value}")
            continue
        system.commands.dispatch(command)
        if isinstance(step, Add):
            order.add_item(step.line.product_id, step.line.quantity, step.line.price)
        elif isinstance(step, Cancel):
            order.cancel(step.reason)
        else:
            order.ship()
        live_saved(order)

    assert system.store.stream_ids() == sorted(live)
    for order_id, order in live.items():
        rebuilt = system.handlers.orders.load(order_id)
        assert rebuilt.state == order.state
        assert rebuilt.version == order.version == system.store.stream_version(order_id)
    assert system.store.head == sum(order.version for order in live.values())


def test_a_fresh_order_state_is_open_and_empty() -> None:
    assert Order("order-1").state == OrderState()
    assert OrderState().status is OrderStatus.OPEN
    assert OrderState().total == 0
