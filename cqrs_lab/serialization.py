"""Events to JSON text and back, exactly: nested dataclasses, tuples, datetimes and enums included.

JSON knows objects, arrays, strings, numbers, booleans and null. Encoding flattens a value to
those; decoding rebuilds it from the *type hints* of the class it belongs to, so a tuple of
frozen dataclasses comes back as a tuple of frozen dataclasses, not a list of dicts. Nothing here
knows any domain: it reads ``dataclasses.fields`` and :func:`typing.get_type_hints`.

With an :class:`~cqrs_lab.upcasting.EventRegistry`, :class:`EventCodec` is the whole path a
database row takes: event -> :class:`~cqrs_lab.upcasting.EncodedEvent` -> JSON text, and
JSON text + type name + stored schema version -> upcast -> event.

>>> from dataclasses import dataclass
>>> from datetime import UTC, datetime
>>> from decimal import Decimal
>>> @dataclass(frozen=True, kw_only=True)
... class Paid(Event):
...     amounts: tuple[Decimal, ...]
...     at: datetime
>>> codec = EventCodec(EventRegistry([Paid]))
>>> event = Paid(amounts=(Decimal("2.50"), Decimal("1")), at=datetime(2026, 1, 1, tzinfo=UTC))
>>> text = codec.dumps(codec.encode(event))
>>> text
'{"amounts":["2.50","1"],"at":"2026-01-01T00:00:00+00:00"}'
>>> codec.loads("Paid", 1, text) == event
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
from cqrs_lab.messages import Event
from cqrs_lab.upcasting import EncodedEvent, EventRegistry

__all__ = ["EventCodec", "JsonValue", "dumps", "from_data", "loads", "to_data"]

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
            if target is type(None):
                return _none
        raise InvalidArgumentError(f"cannot decode JSON data into {target!r}")
    if origin is typing.Union or origin is types.UnionType:
        return _union
    if origin is typing.Literal:
        return _literal
    if origin is typing.ClassVar or origin is typing.Final:
        return lambda data, t: from_data(typing.get_args(t)[0], data)
    if origin is typing.Annotated:
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
        if isinstance(data, kind):
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


def _date(data: Any, target: Any) -> date:
    # a datetime is also a date: do not let a date field keep one
    if isinstance(data, date) and not isinstance(data, datetime):
        return data
    if not isinstance(data, str):
        raise _mismatch(target, data)
    try:
        return date.fromisoformat(data)
    except ValueError as error:
        raise UpcastError(f"expected date text, found {data!r}: {error}") from None


_PLAIN: dict[type, _Decoder] = {
    str: _str,
    bool: _bool,
    int: _int,
    float: _float,
    datetime: _parsed(datetime.fromisoformat, datetime),
    date: _date,
    time: _parsed(time.fromisoformat, time),
    timedelta: _timedelta,
    Decimal: _parsed(Decimal, Decimal),
    uuid.UUID: _parsed(uuid.UUID, uuid.UUID),
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


_FIELD_CACHE: dict[type, dict[str, tuple[Any, bool]]] = {}


def _init_fields(cls: type) -> dict[str, tuple[Any, bool]]:
    """Each ``__init__`` field of a dataclass: (its resolved type, whether it is required)."""
    cached = _FIELD_CACHE.get(cls)
    if cached is not None:
        return cached
    try:
        hints = typing.get_type_hints(cls)
    except NameError as error:
        raise InvalidArgumentError(
            f"cannot resolve the type hints of {cls.__qualname__}: {error}; define the types it "
            "names at module level"
        ) from error
    fields = {
        f.name: (
            hints.get(f.name, Any),
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
        )
        for f in dataclasses.fields(cls)
        if f.init
    }
    _FIELD_CACHE[cls] = fields
    return fields


class EventCodec:
    """Events to JSON text and back through an :class:`~cqrs_lab.upcasting.EventRegistry`.

    What a store writes is the event's type name, its schema version and :meth:`dumps` of its
    data; :meth:`loads` reads them back, upcasting data of an older schema version first --
    upcasters see plain JSON data, the same shape whatever the database.
    """

    def __init__(self, registry: EventRegistry) -> None:
        self.registry = registry

    def encode(self, event: Event) -> EncodedEvent:
        """``event`` as plain JSON data at its current schema version."""
        if not isinstance(event, Event):
            raise InvalidArgumentError(f"expected an Event, found {type(event).__name__}")
        data = typing.cast(dict[str, Any], to_data(event))  # a dataclass encodes to an object
        return EncodedEvent(type(event).type_name, type(event).schema_version, data)

    def dumps(self, encoded: EncodedEvent) -> str:
        """The data of ``encoded`` as JSON text (values not yet plain are flattened)."""
        return dumps(encoded.data)

    def loads(self, type_name: str, schema_version: int, text: str | bytes) -> Event:
        """The event stored as JSON ``text`` at ``schema_version``, upcast to the current one."""
        return self.decode(EncodedEvent(type_name, schema_version, json.loads(text)))

    def decode(self, encoded: EncodedEvent) -> Event:
        """The event ``encoded`` holds, upcast to the current schema, nested values rebuilt."""
        event_type = self.registry.event_type(encoded.type_name)
        data = self.registry.upcast(encoded.type_name, encoded.schema_version, encoded.data)
        try:
            event: Event = from_data(event_type, data)
        except UpcastError as error:
            raise UpcastError(
                f"{encoded.type_name} data does not fit schema v{event_type.schema_version} "
                f"after upcasting from v{encoded.schema_version}: {error}"
            ) from error
        return event
