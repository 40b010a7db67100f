"""The event codec: events to JSON data and text and back, old schemas upcast through the registry.

Both stores go through the same codec, so the last tests run once per store.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import Noted
from hypothesis import given
from hypothesis import strategies as st

from cqrs_lab.adapters.sqlite_store import SqliteEventStore
from cqrs_lab.clock import ManualClock
from cqrs_lab.codec import EncodedEvent, EventCodec
from cqrs_lab.errors import InvalidArgumentError, UnknownEventTypeError, UpcastError
from cqrs_lab.event_store import InMemoryEventStore
from cqrs_lab.examples.orders.commands import OrderLine
from cqrs_lab.examples.orders.events import OrderCreated, OrderItemAdded, order_event_registry
from cqrs_lab.messages import Event
from cqrs_lab.upcasting import EventRegistry


@dataclass(frozen=True, kw_only=True)
class LineAdded(Event):
    """Schema v1 was {sku, qty, price, added_at}; v2 nests the line."""

    schema_version = 2
    line: OrderLine
    added_at: datetime


def nest(data: dict[str, Any]) -> dict[str, Any]:
    """LineAdded v1 -> v2."""
    line = {"product_id": data["sku"], "quantity": data["qty"], "price": data["price"]}
    return {"line": line, "added_at": data["added_at"]}


def line_added_codec() -> EventCodec:
    registry = EventRegistry([LineAdded])
    registry.add_upcaster("LineAdded", 1, nest)
    return EventCodec(registry)


V1_TEXT = '{"sku":"tea","qty":2,"price":1,"added_at":"2026-01-01T09:00:00+00:00"}'
V2_EVENT = LineAdded(
    line=OrderLine(product_id="tea", quantity=2, price=1.0),
    added_at=datetime(2026, 1, 1, 9, tzinfo=UTC),
)


def test_encode_gives_json_data_at_the_current_schema_version() -> None:
    encoded = line_added_codec().encode(V2_EVENT)

    assert encoded == EncodedEvent(
        "LineAdded",
        2,
        {
            "line": {"product_id": "tea", "quantity": 2, "price": 1.0},
            "added_at": "2026-01-01T09:00:00+00:00",
        },
    )
    assert json.loads(json.dumps(encoded.data)) == encoded.data  # nothing JSON cannot hold


def test_an_order_created_round_trips_with_its_tuple_of_order_lines() -> None:
    codec = EventCodec(order_event_registry())
    event = OrderCreated(
        order_id="order-1",
        customer_id="cust-1",
        items=(
            OrderLine(product_id="tea", quantity=2, price=3.5),
            OrderLine(product_id="cup", quantity=1, price=7.0),
        ),
        shipping_address="1 Lane",
    )
    encoded = codec.encode(event)
    text = codec.dumps(encoded)

    decoded = codec.loads(encoded.type_name, encoded.schema_version, text)

    assert json.loads(text)["items"][0] == {"price": 3.5, "product_id": "tea", "quantity": 2}
    assert decoded == event
    assert repr(decoded) == repr(event)  # a tuple of OrderLine, not a list of dicts


def test_old_schema_versions_are_upcast_as_plain_data_then_rebuilt() -> None:
    event = line_added_codec().loads("LineAdded", 1, V1_TEXT)

    assert event == V2_EVENT
    assert repr(event) == repr(V2_EVENT)  # price 1 came back as the float 1.0


def test_data_that_does_not_fit_the_current_schema_after_upcasting_is_an_upcast_error() -> None:
    registry = EventRegistry([LineAdded])
    registry.add_upcaster("LineAdded", 1, lambda data: data)  # forgets to nest the line
    codec = EventCodec(registry)

    with pytest.raises(UpcastError, match="does not fit schema v2 after upcasting from v1"):
        codec.loads("LineAdded", 1, V1_TEXT)


def test_an_unknown_event_type_is_refused_on_read() -> None:
    codec = EventCodec(order_event_registry())

    with pytest.raises(UnknownEventTypeError, match="unknown event type 'Nope'"):
        codec.loads("Nope", 1, "{}")


def test_encode_refuses_what_is_not_an_event() -> None:
    codec = EventCodec(order_event_registry())

    with pytest.raises(InvalidArgumentError, match="expected an Event, found OrderLine"):
        codec.encode(OrderLine(product_id="p", quantity=1, price=1.0))  # type: ignore[arg-type]


def test_decode_keeps_values_an_upcaster_already_built() -> None:
    codec = EventCodec(order_event_registry())
    line = OrderLine(product_id="p", quantity=1, price=1.0)

    built = codec.decode(
        EncodedEvent("OrderCreated", 1, {"order_id": "o", "customer_id": "c", "items": [line]})
    )

    assert built == OrderCreated(order_id="o", customer_id="c", items=(line,))


def test_checked_copies_the_data_as_json_data() -> None:
    codec = EventCodec(order_event_registry())
    line = OrderLine(product_id="p", quantity=1, price=1.0)
    given = {"order_id": "o", "customer_id": "c", "items": (line,)}

    checked = codec.checked(EncodedEvent("OrderCreated", 1, given))

    assert checked == EncodedEvent(
        "OrderCreated",
        1,
        {
            "order_id": "o",
            "customer_id": "c",
            "items": [{"product_id": "p", "quantity": 1, "price": 1.0}],
        },
    )
    assert checked.data is not given


NOT_A_MAPPING: Any = ["text"]


@pytest.mark.parametrize(
    ("encoded", "error", "message"),
    [
        (Noted(text="x"), InvalidArgumentError, "expected EncodedEvent, found Noted"),
        (EncodedEvent("Ghost", 1, {}), UnknownEventTypeError, "unknown event type 'Ghost'"),
        (EncodedEvent("Noted", 0, {}), InvalidArgumentError, "schema version >= 1, found 0"),
        (EncodedEvent("Noted", 1, NOT_A_MAPPING), InvalidArgumentError, "a mapping .* found list"),
        (EncodedEvent("Noted", 1, {"b": b"\x00"}), InvalidArgumentError, "cannot encode a bytes"),
    ],
)
def test_checked_refuses_what_no_store_could_read_back(
    encoded: Any, error: type[Exception], message: str
) -> None:
    codec = EventCodec(EventRegistry([Noted]))

    with pytest.raises(error, match=message):
        codec.checked(encoded)


# -- every store goes through the codec ---------------------------------------------------------

Store = InMemoryEventStore | SqliteEventStore


@pytest.fixture(params=["memory", "sqlite"])
def line_store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """An empty store of each kind whose registry knows LineAdded v2 and its v1 upcaster."""
    registry = line_added_codec().registry
    if request.param == "memory":
        yield InMemoryEventStore(clock=ManualClock(), registry=registry)
    else:
        with SqliteEventStore(":memory:", registry=registry, clock=ManualClock()) as store:
            yield store


def test_every_store_reads_old_and_new_events_back_alike(line_store: Store) -> None:
    v1 = EncodedEvent("LineAdded", 1, json.loads(V1_TEXT))
    line_store.append_encoded("line-1", [v1])
    line_store.append("line-1", [V2_EVENT])

    events = [record.event for record in line_store.read_all()]

    assert [repr(event) for event in events] == [repr(V2_EVENT)] * 2
    assert [record.schema_version for record in line_store.read_all()] == [1, 2]


def test_a_store_keeps_a_copy_of_encoded_data_not_the_callers_dict(line_store: Store) -> None:
    data = json.loads(V1_TEXT)
    line_store.append_encoded("line-1", [EncodedEvent("LineAdded", 1, data)])

    data["sku"] = "changed after the append"

    assert line_store.read_all()[0].event == V2_EVENT


def test_a_store_refuses_encoded_data_json_cannot_hold_when_it_is_appended(
    line_store: Store,
) -> None:
    bad = EncodedEvent("LineAdded", 2, {"line": b"\x00", "added_at": "2026-01-01"})

    with pytest.raises(InvalidArgumentError, match="cannot encode a bytes"):
        line_store.append_encoded("line-1", [bad])

    assert line_store.head == 0


@dataclass(frozen=True, kw_only=True)
class Renamed(Event):
    """v1 was {"line": {"sku": ..., "qty": ..., "price": ...}}."""

    schema_version = 2
    line: OrderLine


def rename_in_place(data: dict[str, Any]) -> dict[str, Any]:
    """Renamed v1 -> v2, rewriting the nested dict it was given rather than a copy."""
    line = data["line"]
    line["product_id"] = line.pop("sku")
    line["quantity"] = line.pop("qty")
    return data


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_an_upcaster_writing_into_nested_data_never_changes_what_a_store_holds(kind: str) -> None:
    registry = EventRegistry([Renamed])
    registry.add_upcaster("Renamed", 1, rename_in_place)
    if kind == "memory":
        store: Store = InMemoryEventStore(clock=ManualClock(), registry=registry)
    else:
        store = SqliteEventStore(":memory:", registry=registry, clock=ManualClock())
    v1 = {"line": {"sku": "tea", "qty": 2, "price": 1.5}}
    store.append_encoded("r", [EncodedEvent("Renamed", 1, v1)])

    first = store.read_all()[0].event
    second = store.read_all()[0].event  # upcasts the stored v1 data again

    assert first == second == Renamed(line=OrderLine(product_id="tea", quantity=2, price=1.5))


# -- property: whatever the values, the round trip is exact --------------------------------------

names = st.text(max_size=12)
floats = st.floats(allow_nan=False)  # NaN != NaN; infinities round-trip through Python's json


@given(
    st.builds(
        OrderItemAdded,
        order_id=names,
        product_id=names,
        quantity=st.integers(min_value=1),
        price=floats,
    )
    | st.builds(
        OrderCreated,
        order_id=names,
        customer_id=names,
        items=st.lists(
            st.builds(OrderLine, product_id=names, quantity=st.integers(), price=floats),
            max_size=3,
        ).map(tuple),
        shipping_address=names,
    )
)
def test_order_events_round_trip_exactly(event: Event) -> None:
    codec = EventCodec(order_event_registry())

    encoded = codec.encode(event)
    back = codec.loads(encoded.type_name, encoded.schema_version, codec.dumps(encoded))

    assert back == event
    assert repr(back) == repr(event)  # the same types all the way down: 1.0 stays 1.0
