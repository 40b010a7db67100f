"""Values to plain JSON data and back, exactly: nested dataclasses, tuples, datetimes and enums.

JSON knows objects, arrays, strings, numbers, booleans and null. :func:`to_data` flattens a value
to those; :func:`from_data` rebuilds it from the *type hints* of the class it belongs to, so a
tuple of frozen dataclasses comes back as a tuple of frozen dataclasses, not a list of dicts.
Nothing here knows any domain, or events: it reads ``dataclasses.fields`` and
:func:`typing.get_type_hints`. :mod:`cqrs_lab.codec` builds the event codec on it.

>>> from dataclasses import dataclass
>>> from datetime import UTC, datetime
>>> from decimal import Decimal
>>> @dataclass(frozen=True, kw_only=True)
... class Payment:
...     amounts: tuple[Decimal, ...]
...     at: datetime
>>> payment = Payment(amounts=(Decimal("2.50"), Decimal("1")), at=datetime(2026, 1, 1, tzinfo=UTC))
>>> text = dumps(payment)
>>> text
'{"amounts":["2.50","1"],"at":"2026-01-01T00:00:00+00:00"}'
>>> loads(Payment, text) == payment
True

Type hints are resolved in the module that defines a class, so define nested types at module
level (a notebook's top level is one).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
import types
import typing
import uuid
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from cqrs_lab.errors import InvalidArgumentError, UpcastError

__all__ = ["JsonValue", "dumps", "from_data", "loads", "to_data"]

T = TypeVar("T")

JsonValue = None | bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"]
"""What :func:`to_data` returns and :func:`json.dumps` accepts."""

_SCALARS = (str, int, float, bool, type(None))


def to_data(value: Any) -> JsonValue:
    """``value`` as plain JSON data: dataclasses become objects, tuples and sets arrays.

    Datetimes, dates and times become ISO 8601 strings (with their UTC offset; ``fold``, which
    only matters before the offset is known, is not kept), a timedelta its whole microseconds,
    an enum its value, a Decimal or UUID its string. Mapping keys must be strings (or str enums).
    """
    if isinstance(value, enum.Enum):  # before the scalars: a StrEnum is also a str
        return to_data(value.value)
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {_key(k): to_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_data(item) for item in value]
    raise InvalidArgumentError(
        f"cannot encode a {type(value).__name__} as JSON data; expected a dataclass, mapping, "
        "sequence, set, str, int, float, bool, None, datetime, date, time, timedelta, enum, "
        f"Decimal or UUID, found {value!r}"
    )


def _key(key: object) -> str:
    if isinstance(key, enum.Enum):
        key = key.value
    if not isinstance(key, str):
        raise InvalidArgumentError(
            f"JSON object keys must be strings, found {type(key).__name__} key {key!r}"
        )
    return key


def dumps(value: Any) -> str:
    """``value`` as compact JSON text, keys in their order (see :func:`to_data`)."""
    return json.dumps(to_data(value), separators=(",", ":"), ensure_ascii=False)


def loads(target: type[T], text: str | bytes) -> T:
    """Rebuild a ``target`` from JSON text written by :func:`dumps`."""
    return from_data(target, json.loads(text))


def from_data(target: Any, data: Any) -> Any:
    """Rebuild a value of type ``target`` from plain JSON data, guided by its type hints.

    Values that already have the right type are kept, so data half-decoded by an upcaster is
    fine. Raises :class:`~cqrs_lab.errors.UpcastError` when the data does not fit the type.
    """
    return _decoder(target)(data, target)


_Decoder = Callable[[Any, Any], Any]


@functools.cache
def _decoder(target: Any) -> _Decoder:
    if target is Any or target is object or isinstance(target, TypeVar):
        return _keep
    origin = typing.get_origin(target)
    if origin is None:
        if isinstance(target, type):
            if issubclass(target, enum.Enum):
                return _enum
            if dataclasses.is_dataclass(target):
                return _dataclass
            decoder = _PLAIN.get(target)
            if decoder is not None:
                return decoder
        raise InvalidArgumentError(f"cannot decode JSON data into {target!r}")
    if origin is typing.Union or origin is types.UnionType:
        return _union
    if origin is typing.Literal:
        return _literal
    if origin is typing.ClassVar or origin is typing.Final or origin is typing.Annotated:
        return lambda data, t: from_data(typing.get_args(t)[0], data)
    if origin is tuple:
        return _tuple
    if origin in _COLLECTIONS:
        return _collection
    if origin in _MAPPINGS:
        return _mapping
    raise InvalidArgumentError(f"cannot decode JSON data into {target!r}")


def _keep(data: Any, target: Any) -> Any:
    return data


def _mismatch(target: Any, data: Any) -> UpcastError:
    name = getattr(target, "__name__", None) or repr(target)
    return UpcastError(f"expected JSON data for {name}, found {type(data).__name__} {data!r}")


def _none(data: Any, target: Any) -> None:
    if data is not None:
        raise _mismatch(target, data)


def _str(data: Any, target: Any) -> str:
    if not isinstance(data, str):
        raise _mismatch(target, data)
    return data


def _bool(data: Any, target: Any) -> bool:
    if not isinstance(data, bool):
        raise _mismatch(target, data)
    return data


def _int(data: Any, target: Any) -> int:
    if isinstance(data, bool) or not isinstance(data, int):
        raise _mismatch(target, data)
    return data


def _float(data: Any, target: Any) -> float:
    if isinstance(data, bool) or not isinstance(data, int | float):
        raise _mismatch(target, data)
    return float(data)  # JSON writes 2.0 as 2.0, but legacy data or an upcaster may give 2


def _parsed(parse: Callable[[str], Any], kind: type) -> _Decoder:
    def decode(data: Any, target: Any) -> Any:
        if type(data) is kind:  # not isinstance: a datetime is also a date
            return data
        if not isinstance(data, str):
            raise _mismatch(target, data)
        try:
            return parse(data)
        except ValueError as error:
            raise UpcastError(f"expected {kind.__name__} text, found {data!r}: {error}") from None

    return decode


def _timedelta(data: Any, target: Any) -> timedelta:
    if isinstance(data, timedelta):
        return data
    return timedelta(microseconds=_int(data, target))


_PLAIN: dict[type, _Decoder] = {
    str: _str,
    bool: _bool,
    int: _int,
    float: _float,
    datetime: _parsed(datetime.fromisoformat, datetime),
    date: _parsed(date.fromisoformat, date),
    time: _parsed(time.fromisoformat, time),
    timedelta: _timedelta,
    Decimal: _parsed(Decimal, Decimal),
    uuid.UUID: _parsed(uuid.UUID, uuid.UUID),
    type(None): _none,
}

_COLLECTIONS: dict[Any, Callable[[list[Any]], Any]] = {
    list: list,
    set: set,
    frozenset: frozenset,
    Sequence: tuple,  # an abstract sequence comes back immutable
    AbstractSet: frozenset,
}

_MAPPINGS: frozenset[Any] = frozenset({dict, Mapping})


def _enum(data: Any, target: Any) -> enum.Enum:
    if isinstance(data, target):
        return typing.cast(enum.Enum, data)
    try:
        return typing.cast(enum.Enum, target(data))
    except ValueError:
        # a member whose value JSON turns into something else, e.g. a tuple into an array
        by_data = {dumps(member.value): member for member in target}
        member = by_data.get(dumps(data)) if isinstance(data, list | dict) else None
        if member is not None:
            return member
        known = [member.value for member in target]
        raise UpcastError(
            f"expected one of {known} for {target.__name__}, found {data!r}"
        ) from None


def _union(data: Any, target: Any) -> Any:
    options = typing.get_args(target)
    if data is None and type(None) in options:
        return None
    errors: list[str] = []
    for option in options:
        if option is type(None):
            continue
        try:
            return from_data(option, data)
        except UpcastError as error:
            errors.append(str(error))
    raise UpcastError(f"data {data!r} fits none of {target!r}: {'; '.join(errors)}")


def _literal(data: Any, target: Any) -> Any:
    allowed = typing.get_args(target)
    if data not in allowed:
        raise UpcastError(f"expected one of {list(allowed)}, found {data!r}")
    return data


def _sequence(data: Any, target: Any) -> list[Any]:
    if isinstance(data, str | bytes | Mapping) or not isinstance(
        data, list | tuple | set | frozenset
    ):
        raise _mismatch(target, data)
    return list(data)


def _tuple(data: Any, target: Any) -> tuple[Any, ...]:
    items = _sequence(data, target)
    args = typing.get_args(target)
    if not args or args == ((),):
        return tuple(items)
    if len(args) == 2 and args[1] is Ellipsis:
        item_type = args[0]
        return tuple(from_data(item_type, item) for item in items)
    if len(items) != len(args):
        raise UpcastError(f"expected {len(args)} items for {target!r}, found {len(items)}")
    return tuple(from_data(t, item) for t, item in zip(args, items, strict=True))


def _collection(data: Any, target: Any) -> Any:
    items = _sequence(data, target)
    args = typing.get_args(target)
    build = _COLLECTIONS[typing.get_origin(target)]
    if not args:
        return build(items)
    return build([from_data(args[0], item) for item in items])


def _mapping(data: Any, target: Any) -> dict[Any, Any]:
    if not isinstance(data, Mapping):
        raise _mismatch(target, data)
    args = typing.get_args(target)
    if not args:
        return dict(data)
    key_type, value_type = args
    return {from_data(key_type, k): from_data(value_type, v) for k, v in data.items()}


def _dataclass(data: Any, target: Any) -> Any:
    if isinstance(data, target):
        return data
    if not isinstance(data, Mapping):
        raise _mismatch(target, data)
    fields = _init_fields(target)
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise UpcastError(
            f"{target.__name__} has no field(s) {unknown}; expected some of {sorted(fields)} "
            "(an upcaster should rename or drop old fields)"
        )
    missing = sorted(
        name for name, (_, required) in fields.items() if required and name not in data
    )
    if missing:
        raise UpcastError(
            f"{target.__name__} needs field(s) {missing}, found only {sorted(data)} "
            "(an upcaster should supply new fields)"
        )
    values = {name: from_data(fields[name][0], value) for name, value in data.items()}
    return target(**values)


@functools.cache
def _init_fields(cls: type) -> dict[str, tuple[Any, bool]]:
    """Each ``__init__`` field of a dataclass: (its resolved type, whether it is required)."""
    try:
        hints = typing.get_type_hints(cls)
    except NameError as error:
        raise InvalidArgumentError(
            f"cannot resolve the type hints of {cls.__qualname__}: {error}; define the types it "
            "names at module level"
        ) from error
    return {
        f.name: (
            hints.get(f.name, Any),
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
        )
        for f in dataclasses.fields(cls)
        if f.init
    }
