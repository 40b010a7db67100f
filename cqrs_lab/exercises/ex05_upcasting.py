"""Exercise 5 (medium): a new event version and the upcaster that reads the old one.

``OrderItemAdded`` v1 stored ``price`` as a float of pounds; v2 (:class:`OrderItemAddedV2`) stores
``price_cents``, a whole number. Old events stay in the store as they were written; the student
writes the upcaster that turns v1 data into v2 data whenever they are read.

>>> store = legacy_store(lambda data: data)  # an upcaster that changes nothing
>>> store.read_all()
Traceback (most recent call last):
...
cqrs_lab.errors.UpcastError: OrderItemAdded data does not fit schema v2 after upcasting from v1: ...
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cqrs_lab.clock import ManualClock
from cqrs_lab.codec import EncodedEvent
from cqrs_lab.errors import UpcastError
from cqrs_lab.event_store import InMemoryEventStore
from cqrs_lab.examples.orders import OrderCancelled, OrderCreated, OrderShipped
from cqrs_lab.exercises.framework import Exercise, Mistake, expect
from cqrs_lab.messages import Event
from cqrs_lab.upcasting import EventRegistry, Upcaster

__all__ = [
    "LEGACY_PRICES",
    "OrderItemAddedV2",
    "check",
    "exercise",
    "hint",
    "legacy_events",
    "legacy_store",
    "registry_with",
    "solution",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class OrderItemAddedV2(Event):
    """A line was added to an open order -- schema v2: the price in whole cents."""

    schema_version = 2
    type_name = "OrderItemAdded"

    order_id: str
    product_id: str
    quantity: int
    price_cents: int


LEGACY_PRICES: dict[float, int] = {
    3.5: 350,
    19.99: 1999,
    4.35: 435,
    1.1: 110,
    0.29: 29,
    12.3: 1230,
    0.0: 0,
    5: 500,
}
"""The v1 prices in the legacy store, and the cents each one is."""

_V2_FIELDS = ("order_id", "product_id", "quantity", "price_cents")


def legacy_events() -> list[EncodedEvent]:
    """The v1 ``OrderItemAdded`` events an older version of the shop wrote, as stored data."""
    return [
        EncodedEvent(
            "OrderItemAdded",
            1,
            {"order_id": "order-0001", "product_id": f"item-{n}", "quantity": n, "price": price},
        )
        for n, price in enumerate(LEGACY_PRICES, start=1)
    ]


def registry_with(upcaster: Upcaster) -> EventRegistry:
    """The Order events at today's schemas, with ``upcaster`` from ``OrderItemAdded`` v1 to v2."""
    registry = EventRegistry([OrderCreated, OrderCancelled, OrderShipped, OrderItemAddedV2])
    registry.add_upcaster("OrderItemAdded", 1, upcaster)
    return registry


def legacy_store(upcaster: Upcaster) -> InMemoryEventStore:
    """A store holding the legacy v1 events, then one v2 event, read through ``upcaster``."""
    store = InMemoryEventStore(clock=ManualClock(step=1.0), registry=registry_with(upcaster))
    store.append_encoded("order-0001", legacy_events())
    store.append(
        "order-0001",
        [OrderItemAddedV2(order_id="order-0001", product_id="new", quantity=1, price_cents=725)],
    )
    return store


# -- the check ---------------------------------------------------------------------------------


def _expected(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "order_id": data["order_id"],
        "product_id": data["product_id"],
        "quantity": data["quantity"],
        "price_cents": LEGACY_PRICES[data["price"]],
    }


class UpcasterExercise(Exercise):
    """Exercise 5: upcast ``OrderItemAdded`` v1 (float price) to v2 (int price_cents)."""

    number = 5
    title = "A new event version, and an upcaster for the old one"
    difficulty = "medium"
    minutes = 20
    notebook = "ex05_upcasting"
    answer_names = ("upcast_item_added_v1",)
    solution_module = "ex05_upcasting"
    hints = (
        "An upcaster takes the v1 data (a dict) and returns the v2 data (a new dict): the same "
        "fields, except that price becomes price_cents.",
        "Floats are not exact: 19.99 * 100 is 1998.9999999999998, and int() cuts it to 1998. "
        "Round to the nearest cent instead.",
        "Copy every field but price, then add price_cents=round(data['price'] * 100): "
        "{k: v for k, v in data.items() if k != 'price'} | {'price_cents': ...}.",
    )

    def grade(self, *answers: Any) -> str:
        """Call the upcaster on every legacy event, then read them through a real store."""
        (upcaster,) = answers
        expect(
            callable(upcaster),
            f"upcast_item_added_v1 must be a function (data: dict) -> dict, "
            f"found {type(upcaster).__name__}",
        )
        for encoded in legacy_events():
            self._one(upcaster, dict(encoded.data))
        with self.case("reading the legacy store through your upcaster"):
            try:
                records = legacy_store(upcaster).read_all()
            except UpcastError as error:
                raise Mistake(f"the store could not read the legacy events: {error}") from None
        events = [record.event for record in records]
        wanted = [OrderItemAddedV2(**_expected(e.data)) for e in legacy_events()]
        expect(
            events[:-1] == wanted,
            f"the store read {events[:-1]}, expected {wanted}",
        )
        expect(
            events[-1].price_cents == 725,  # type: ignore[attr-defined]
            "the v2 event written by today's code changed: an upcaster runs only on v1 data",
        )
        return (
            f"all {len(wanted)} v1 events read back as OrderItemAddedV2 with exact cents "
            "(19.99 -> 1999, 4.35 -> 435, 1.1 -> 110), and the v2 event is left alone."
        )

    def _one(self, upcaster: Upcaster, data: dict[str, Any]) -> None:
        price = data["price"]
        given = dict(data)
        with self.case(f"upcasting {data}"):
            result = upcaster(given)
        forgot = (
            " (did you change the dict in place and forget `return`?)" if result is None else ""
        )
        expect(
            isinstance(result, Mapping),
            f"upcasting {data} returned {type(result).__name__}; an upcaster must return the "
            f"v2 data as a dict{forgot}",
        )
        expect(
            given == data,
            f"upcasting {data} changed the dict it was given (it now holds {given}): build "
            "and return a new dict, and leave the input alone. The stored data is read again "
            "on every read; an upcaster that rewrites it in place hands the next reader v2 "
            "data still labelled v1",
        )
        expect(
            "price" not in result,
            f"upcasting {data} kept the v1 field 'price'; v2 has only price_cents, so "
            "OrderItemAddedV2(**data) would fail: leave price out",
        )
        missing = [name for name in _V2_FIELDS if name not in result]
        expect(
            not missing,
            f"upcasting {data} lost the field(s) {', '.join(missing)}: copy every v1 field "
            "except price into the v2 data",
        )
        extra = sorted(set(result) - set(_V2_FIELDS))
        expect(not extra, f"upcasting {data} added field(s) v2 does not have: {', '.join(extra)}")
        for name in _V2_FIELDS[:3]:
            expect(
                result[name] == data[name],
                f"upcasting {data} changed {name} from {data[name]!r} to {result[name]!r}",
            )
        cents = result["price_cents"]
        right = LEGACY_PRICES[price]
        exact = price * 100
        expect(
            not (isinstance(cents, float) and cents != right),
            f"price {price!r} became price_cents={cents!r}, a float: {price!r} * 100 is "
            f"{exact!r} in floating point; round it to a whole number of cents, "
            f"round({price!r} * 100) == {right}",
        )
        expect(
            isinstance(cents, int) and not isinstance(cents, bool),
            f"price {price!r} became price_cents={cents!r} ({type(cents).__name__}); v2 "
            "stores a whole number of cents, an int",
        )
        if cents == right:
            return
        if cents == int(exact):
            raise Mistake(
                f"price {price!r} became {cents} cents, expected {right}: {price!r} * 100 is "
                f"{exact!r} in floating point and int() truncates it. Use round()"
            )
        if cents == round(price) or cents == int(price):
            raise Mistake(
                f"price {price!r} became {cents} cents, expected {right}: multiply the price "
                "by 100 to get cents"
            )
        if cents == math.ceil(exact):
            raise Mistake(
                f"price {price!r} became {cents} cents, expected {right}: {price!r} * 100 is "
                f"{exact!r} in floating point and ceil() rounds it up. Use round()"
            )
        raise Mistake(f"price {price!r} became {cents} cents, expected {right}")


exercise = UpcasterExercise()
check = exercise.check
hint = exercise.hint
solution = exercise.solution
