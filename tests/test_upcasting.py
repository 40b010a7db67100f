"""Event schemas over time: the registry knows event classes by name and upcasts old data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from conftest import Noted

from cqrs_lab.errors import InvalidArgumentError, UnknownEventTypeError, UpcastError
from cqrs_lab.messages import Event
from cqrs_lab.upcasting import EventRegistry


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


def test_an_event_class_without_its_own_dataclass_decorator_is_refused_saying_what_to_add() -> None:
    registry = EventRegistry()

    class Forgotten(Event):  # the fields below are plain annotations, not dataclass fields
        amount_cents: int

    with pytest.raises(InvalidArgumentError) as caught:
        registry.register(Forgotten)

    message = str(caught.value)
    assert "Forgotten is an Event subclass but not a dataclass itself" in message
    assert "@dataclass(frozen=True, kw_only=True)" in message
    assert registry.type_names == []


def test_the_dataclass_check_runs_when_register_is_used_as_a_decorator() -> None:
    registry = EventRegistry()

    with pytest.raises(InvalidArgumentError, match="Closed is an Event subclass but not a"):

        @registry.register
        class Closed(Event):
            reason: str


def test_data_at_the_current_schema_is_returned_as_a_copy_without_upcasting() -> None:
    registry = EventRegistry([Deposited])
    registry.add_upcaster("Deposited", 2, lambda data: pytest.fail("no upcaster must run"))
    stored = {"account_id": "acc-1", "amount_cents": 250, "currency": "EUR"}

    data = registry.upcast("Deposited", 3, stored)

    assert data == stored
    assert data is not stored


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

    data = registry.upcast("Deposited", 1, {"account_id": "acc-1", "amount": 2.5})

    assert data == {"account_id": "acc-1", "amount_cents": 250, "currency": "EUR"}
    assert calls == ["v1->v2", "v2->v3"]


def test_data_at_an_intermediate_version_runs_only_the_remaining_steps() -> None:
    registry = EventRegistry([Deposited])
    registry.add_upcaster("Deposited", 1, lambda data: pytest.fail("v1->v2 must not run"))
    registry.add_upcaster("Deposited", 2, euro)

    data = registry.upcast("Deposited", 2, {"account_id": "acc-1", "amount_cents": 99})

    assert data == {"account_id": "acc-1", "amount_cents": 99, "currency": "EUR"}


def test_upcasting_leaves_the_stored_data_untouched_however_deep_the_upcaster_writes() -> None:
    registry = EventRegistry([Deposited])

    @registry.upcaster("Deposited", from_version=1)
    def in_place(data: dict[str, Any]) -> dict[str, Any]:
        data["amount_cents"] = round(data.pop("amount") * 100)
        data["tags"].append("upcast")
        return data

    registry.add_upcaster("Deposited", 2, euro)
    stored = {"account_id": "acc-1", "amount": 1.0, "tags": ["imported"]}

    registry.upcast("Deposited", 1, stored)
    registry.upcast("Deposited", 1, stored)

    assert stored == {"account_id": "acc-1", "amount": 1.0, "tags": ["imported"]}


def test_a_missing_step_names_the_versions_and_the_steps_that_exist() -> None:
    registry = EventRegistry([Deposited])
    registry.add_upcaster("Deposited", 2, euro)

    with pytest.raises(UpcastError) as caught:
        registry.upcast("Deposited", 1, {"account_id": "acc-1", "amount": 2.5})

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
        registry.upcast("Deposited", 4, {"account_id": "acc-1"})


def test_an_unknown_type_is_refused_naming_the_known_ones() -> None:
    registry = EventRegistry([Deposited, Noted])

    known = r"'Withdrawn'.*\['Deposited', 'Noted'\]"
    with pytest.raises(UnknownEventTypeError, match=known) as caught:
        registry.upcast("Withdrawn", 1, {})

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


def test_an_upcaster_that_raises_is_reported_with_the_type_and_versions() -> None:
    registry = EventRegistry([_V2Example])

    @registry.upcaster("_V2Example", from_version=1)
    def rename(data: dict[str, Any]) -> dict[str, Any]:
        return {"name": data["title"]}  # KeyError on data without "title"

    with pytest.raises(UpcastError, match=r"_V2Example from v1 to v2 failed .*KeyError"):
        registry.upcast("_V2Example", 1, {"label": "x"})


@dataclass(frozen=True, kw_only=True)
class _V2Example(Event):
    schema_version = 2
    name: str
