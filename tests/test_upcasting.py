"""Event schemas over time: the registry encodes events and decodes old ones through upcasters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from conftest import Noted

from cqrs_lab.clock import ManualClock
from cqrs_lab.errors import InvalidArgumentError, UnknownEventTypeError, UpcastError
from cqrs_lab.event_store import InMemoryEventStore
from cqrs_lab.examples.orders import OrderCreated, OrderLine, order_event_registry
from cqrs_lab.messages import Event
from cqrs_lab.upcasting import EncodedEvent, EventRegistry


@dataclass(frozen=True, kw_only=True)
class Deposited(Event):
    """Schema history: v1 {account_id, amount}, v2 {account_id, amount_cents}, v3 adds currency."""

    schema_version = 3
    account_id: str
    amount_cents: int
    currency: str


def cents(data: dict[str, Any]) -> dict[str, Any]:
    return {"account_id": data["account_id"], "amount_cents": round(data["amount"] * 100)}


def euro(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "currency": "EUR"}


def test_register_returns_the_class_so_it_works_as_a_decorator() -> None:
    registry = EventRegistry()

    @registry.register
    @dataclass(frozen=True, kw_only=True)
    class Withdrawn(Event):
        amount_cents: int

    assert registry.event_type("Withdrawn") is Withdrawn
    assert registry.type_names == ["Withdrawn"]


def test_registering_the_same_class_twice_is_harmless() -> None:
    registry = EventRegistry([Noted])

    registry.register(Noted)

    assert registry.type_names == ["Noted"]


def test_two_classes_under_one_type_name_are_refused_naming_the_first() -> None:
    registry = EventRegistry([Noted])

    @dataclass(frozen=True, kw_only=True)
    class OtherNoted(Event):
        type_name = "Noted"

    with pytest.raises(InvalidArgumentError, match="already registered for Noted") as caught:
        registry.register(OtherNoted)

    assert isinstance(caught.value, ValueError)
    assert registry.event_type("Noted") is Noted


def test_only_event_classes_can_be_registered() -> None:
    registry = EventRegistry()

    with pytest.raises(InvalidArgumentError, match="expected an Event subclass"):
        registry.register(dict)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="expected an Event subclass"):
        registry.register(Noted(text="an instance"))  # type: ignore[arg-type]


def test_encode_gives_plain_data_at_the_current_schema_and_decode_gives_the_event_back() -> None:
    registry = EventRegistry([Deposited])
    event = Deposited(account_id="acc-1", amount_cents=250, currency="EUR")

    encoded = registry.encode(event)

    assert encoded == EncodedEvent(
        "Deposited", 3, {"account_id": "acc-1", "amount_cents": 250, "currency": "EUR"}
    )
    assert registry.decode(encoded.type_name, encoded.schema_version, encoded.data) == event


def test_old_data_is_upcast_through_every_step_in_order() -> None:
    registry = EventRegistry([Deposited])
    calls: list[str] = []

    @registry.upcaster("Deposited", from_version=1)
    def v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
        calls.append("v1->v2")
        return cents(data)

    @registry.upcaster("Deposited", from_version=2)
    def v2_to_v3(data: dict[str, Any]) -> dict[str, Any]:
        calls.append("v2->v3")
        return euro(data)

    event = registry.decode("Deposited", 1, {"account_id": "acc-1", "amount": 2.5})

    assert event == Deposited(account_id="acc-1", amount_cents=250, currency="EUR")
    assert calls == ["v1->v2", "v2->v3"]


def test_data_at_an_intermediate_version_runs_only_the_remaining_steps() -> None:
    registry = EventRegistry([Deposited])
    registry.add_upcaster("Deposited", 1, lambda data: pytest.fail("v1->v2 must not run"))
    registry.add_upcaster("Deposited", 2, euro)

    event = registry.decode("Deposited", 2, {"account_id": "acc-1", "amount_cents": 99})

    assert event == Deposited(account_id="acc-1", amount_cents=99, currency="EUR")


def test_decoding_leaves_the_stored_data_untouched() -> None:
    registry = EventRegistry([Deposited])

    @registry.upcaster("Deposited", from_version=1)
    def in_place(data: dict[str, Any]) -> dict[str, Any]:
        data["amount_cents"] = round(data.pop("amount") * 100)
        return data

    registry.add_upcaster("Deposited", 2, euro)
    stored = {"account_id": "acc-1", "amount": 1.0}

    registry.decode("Deposited", 1, stored)

    assert stored == {"account_id": "acc-1", "amount": 1.0}


def test_a_missing_step_names_the_versions_and_the_steps_that_exist() -> None:
    registry = EventRegistry([Deposited])
    registry.add_upcaster("Deposited", 2, euro)

    with pytest.raises(UpcastError) as caught:
        registry.decode("Deposited", 1, {"account_id": "acc-1", "amount": 2.5})

    message = str(caught.value)
    assert "no upcaster from v1 to v2" in message
    assert "stored at schema v1" in message
    assert "current schema is v3" in message
    assert "['v2->v3']" in message
    assert "from_version=1" in message
    assert isinstance(caught.value, ValueError)


def test_data_newer_than_the_code_is_refused() -> None:
    registry = EventRegistry([Deposited])

    with pytest.raises(UpcastError, match=r"stored at schema v4, newer than the code's v3"):
        registry.decode("Deposited", 4, {"account_id": "acc-1"})


def test_an_unknown_type_is_refused_naming_the_known_ones() -> None:
    registry = EventRegistry([Deposited, Noted])

    known = r"'Withdrawn'.*\['Deposited', 'Noted'\]"
    with pytest.raises(UnknownEventTypeError, match=known) as caught:
        registry.decode("Withdrawn", 1, {})

    assert isinstance(caught.value, LookupError)


def test_a_second_upcaster_for_the_same_step_is_refused() -> None:
    registry = EventRegistry([Deposited])
    registry.add_upcaster("Deposited", 1, cents)

    with pytest.raises(InvalidArgumentError, match="Deposited v1->v2 already exists"):
        registry.add_upcaster("Deposited", 1, cents)


def test_an_upcaster_from_version_zero_is_refused() -> None:
    registry = EventRegistry([Deposited])

    with pytest.raises(InvalidArgumentError, match="from_version must be >= 1, found 0"):
        registry.add_upcaster("Deposited", 0, cents)


def test_data_that_does_not_fit_the_current_schema_after_upcasting_is_an_upcast_error() -> None:
    registry = EventRegistry([Deposited])
    registry.add_upcaster("Deposited", 1, lambda data: data)  # forgets to convert the amount
    registry.add_upcaster("Deposited", 2, euro)

    with pytest.raises(UpcastError, match="does not fit schema v3 after upcasting from v1"):
        registry.decode("Deposited", 1, {"account_id": "acc-1", "amount": 2.5})


def test_decode_rebuilds_nested_values_of_an_encoded_event() -> None:
    store = InMemoryEventStore(clock=ManualClock(), registry=order_event_registry())
    data = {
        "order_id": "order-0001",
        "customer_id": "cust-1",
        "items": [{"product_id": "tea", "quantity": 2, "price": 3.5}],
        "shipping_address": "",
    }
    store.append_encoded("order-0001", [EncodedEvent("OrderCreated", 1, data)])

    event = store.read_all()[0].event

    assert event == OrderCreated(
        order_id="order-0001",
        customer_id="cust-1",
        items=(OrderLine(product_id="tea", quantity=2, price=3.5),),
    )


def test_an_upcaster_that_raises_is_reported_with_the_type_and_versions() -> None:
    registry = EventRegistry([_V2Example])

    @registry.upcaster("_V2Example", from_version=1)
    def rename(data: dict[str, Any]) -> dict[str, Any]:
        return {"name": data["title"]}  # KeyError on data without "title"

    with pytest.raises(UpcastError, match=r"_V2Example from v1 to v2 failed .*KeyError"):
        registry.decode("_V2Example", 1, {"label": "x"})


@dataclass(frozen=True, kw_only=True)
class _V2Example(Event):
    schema_version = 2
    name: str
