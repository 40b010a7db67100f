"""JSON data: nested dataclasses, tuples, datetimes, enums and decimals survive JSON exactly."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from enum import Enum, IntEnum, StrEnum
from typing import Any, Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cqrs_lab.errors import InvalidArgumentError, UpcastError
from cqrs_lab.examples.orders.commands import OrderLine
from cqrs_lab.json_data import dumps, from_data, loads, to_data


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


class Priority(IntEnum):
    LOW = 1
    HIGH = 2


class Shape(Enum):
    CIRCLE = ("circle", 0)
    SQUARE = ("square", 4)


@dataclass(frozen=True, kw_only=True)
class Part:
    name: str
    weight: float
    colour: Colour | None = None


@dataclass(frozen=True, kw_only=True)
class Assembled:
    parts: tuple[Part, ...]
    pair: tuple[int, str]
    at: datetime
    on: date
    tags: frozenset[str] = frozenset()
    counts: dict[str, tuple[int, ...]] = field(default_factory=dict)
    priority: Priority = Priority.LOW
    note: str | None = None
    lead_time: timedelta = timedelta(0)
    mode: Literal["air", "sea"] = "sea"
    anything: Any = None


def identical(a: Any, b: Any) -> bool:
    """Equal, and of the same types all the way down: 1 is not 1.0, a tuple is not a list."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)  # -0.0 stays -0.0
    if isinstance(a, datetime):
        return a == b and a.utcoffset() == b.utcoffset()
    if dataclasses.is_dataclass(a):
        return all(identical(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(identical(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(identical(a[k], b[k]) for k in a)
    return bool(a == b)


def test_a_dataclass_round_trips_with_its_tuple_of_nested_dataclasses() -> None:
    lines = (
        OrderLine(product_id="tea", quantity=2, price=3.5),
        OrderLine(product_id="cup", quantity=1, price=7.0),
    )

    text = dumps(lines)
    back = loads(tuple[OrderLine, ...], text)

    assert json.loads(text)[0] == {"price": 3.5, "product_id": "tea", "quantity": 2}
    assert identical(back, lines)


def test_datetimes_keep_microseconds_and_their_offset() -> None:
    tz = timezone(timedelta(hours=-3, minutes=-30))
    when = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=tz)

    back = loads(datetime, dumps(when))

    assert back == when
    assert back.utcoffset() == timedelta(hours=-3, minutes=-30)
    assert back.microsecond == 891011
    assert loads(datetime, dumps(datetime(2026, 1, 1, 12))).tzinfo is None


def test_enums_are_stored_by_value_and_come_back_as_members() -> None:
    assert to_data(Colour.RED) == "red"
    assert to_data(Priority.HIGH) == 2
    assert to_data(Shape.SQUARE) == ["square", 4]
    assert from_data(Colour, "blue") is Colour.BLUE
    assert from_data(Priority, 2) is Priority.HIGH
    assert from_data(Shape, ["square", 4]) is Shape.SQUARE  # JSON arrays come back as tuples


def test_scalar_types_other_than_json_ones_round_trip() -> None:
    values: list[tuple[Any, Any]] = [
        (date, date(2026, 2, 28)),
        (time, time(23, 59, 58, 1)),
        (timedelta, timedelta(days=-2, seconds=5, microseconds=7)),
        (Decimal, Decimal("0.10")),
    ]
    for target, value in values:
        assert identical(loads(target, dumps(value)), value)


def test_a_float_field_given_a_whole_number_becomes_a_float() -> None:
    assert identical(from_data(Part, {"name": "bolt", "weight": 2}), Part(name="bolt", weight=2.0))


def test_unknown_and_missing_fields_are_named_in_the_error() -> None:
    with pytest.raises(UpcastError, match=r"has no field\(s\) \['colour_name'\]"):
        from_data(Part, {"name": "bolt", "weight": 1.0, "colour_name": "red"})
    with pytest.raises(UpcastError, match=r"needs field\(s\) \['weight'\]"):
        from_data(Part, {"name": "bolt"})


def test_data_of_the_wrong_type_is_rejected_saying_expected_and_found() -> None:
    with pytest.raises(UpcastError, match="expected JSON data for str, found int 7"):
        from_data(Part, {"name": 7, "weight": 1.0})
    with pytest.raises(UpcastError, match="expected JSON data for int, found bool True"):
        from_data(int, True)
    with pytest.raises(UpcastError, match=r"expected one of \['red', 'blue'\]"):
        from_data(Colour, "green")
    with pytest.raises(UpcastError, match="expected 2 items"):
        from_data(tuple[int, str], [1, "a", "extra"])
    with pytest.raises(UpcastError, match="expected datetime text"):
        from_data(datetime, "yesterday")


def test_values_json_cannot_hold_are_refused_when_encoding() -> None:
    with pytest.raises(InvalidArgumentError, match="cannot encode a bytes"):
        to_data({"blob": b"\x00"})
    with pytest.raises(InvalidArgumentError, match="keys must be strings, found int key 1"):
        to_data({1: "one"})


def test_a_value_of_the_right_type_is_kept_as_it_is() -> None:
    line = OrderLine(product_id="p", quantity=1, price=1.0)
    when = datetime(2026, 1, 1, tzinfo=UTC)

    assert from_data(tuple[OrderLine, ...], [line])[0] is line
    assert from_data(datetime, when) is when


def test_a_date_field_does_not_keep_a_datetime() -> None:
    with pytest.raises(UpcastError, match="expected JSON data for date, found datetime"):
        from_data(date, datetime(2026, 1, 1, 9))
    assert from_data(date, "2026-01-01") == date(2026, 1, 1)


# -- property: whatever the values, the round trip is exact --------------------------------------

names = st.text(max_size=12)
floats = st.floats(allow_nan=False)  # NaN != NaN; infinities round-trip through Python's json
offsets = st.timedeltas(
    min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23, minutes=59)
).map(lambda d: timezone(timedelta(seconds=d.seconds + d.days * 86_400)))
# fold is not kept (see to_data); the offset, microseconds and naivety are
aware = st.datetimes(timezones=st.none() | st.just(UTC) | offsets).map(lambda d: d.replace(fold=0))
parts = st.builds(Part, name=names, weight=floats, colour=st.none() | st.sampled_from(list(Colour)))
json_leaves = st.none() | st.booleans() | st.integers() | floats | names
json_values = st.recursive(
    json_leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=3),
    max_leaves=8,
)
assembled = st.builds(
    Assembled,
    parts=st.lists(parts, max_size=4).map(tuple),
    pair=st.tuples(st.integers(), names),
    at=aware,
    on=st.dates(),
    tags=st.frozensets(names, max_size=4),
    counts=st.dictionaries(names, st.lists(st.integers(), max_size=3).map(tuple), max_size=3),
    priority=st.sampled_from(list(Priority)),
    note=st.none() | names,
    lead_time=st.timedeltas(),
    mode=st.sampled_from(["air", "sea"]),
    anything=json_values,
)


@given(assembled)
def test_any_value_round_trips_exactly_through_json_text(value: Assembled) -> None:
    back = loads(Assembled, dumps(value))

    assert back == value
    assert identical(back, value)
