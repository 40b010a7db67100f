"""Event schemas over time: encode events to plain data and decode them back, upcasting old ones.

The playbook says *version your events*. An event class declares ``schema_version``; when its fields
change, the version goes up and an upcaster turns the old data into the new shape on read, so
handlers and projections only ever see the current schema.

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True, kw_only=True)
... class Deposited(Event):
...     schema_version = 2
...     account_id: str
...     amount_cents: int
>>> registry = EventRegistry([Deposited])
>>> @registry.upcaster("Deposited", from_version=1)
... def cents(data):
...     return {"account_id": data["account_id"], "amount_cents": round(data["amount"] * 100)}
>>> registry.decode("Deposited", 1, {"account_id": "acc-1", "amount": 2.5})
Deposited(account_id='acc-1', amount_cents=250)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cqrs_lab.errors import InvalidArgumentError, UnknownEventTypeError, UpcastError
from cqrs_lab.messages import Event

__all__ = ["EncodedEvent", "EventRegistry", "Upcaster"]

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
"""Turns the data of schema version ``n`` into the data of version ``n + 1``."""


@dataclass(frozen=True, slots=True)
class EncodedEvent:
    """An event as plain data: what a database row or a legacy export holds."""

    type_name: str
    schema_version: int
    data: Mapping[str, Any]


class EventRegistry:
    """Knows every event class by its stored name, and how to upcast old schema versions."""

    def __init__(self, event_types: Iterable[type[Event]] = ()) -> None:
        self._types: dict[str, type[Event]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}
        for event_type in event_types:
            self.register(event_type)

    def register(self, event_type: type[Event]) -> type[Event]:
        """Register an event class under its ``type_name``; returns it (works as a decorator)."""
        if not (isinstance(event_type, type) and issubclass(event_type, Event)):
            raise InvalidArgumentError(f"expected an Event subclass, found {event_type!r}")
        known = self._types.get(event_type.type_name)
        if known is not None and known is not event_type:
            raise InvalidArgumentError(
                f"event type name {event_type.type_name!r} is already registered for "
                f"{known.__qualname__}; give one of them another type_name"
            )
        self._types[event_type.type_name] = event_type
        return event_type

    def upcaster(self, type_name: str, *, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Decorator registering ``fn`` to turn ``type_name`` data from ``from_version`` to +1."""

        def register(fn: Upcaster) -> Upcaster:
            self.add_upcaster(type_name, from_version, fn)
            return fn

        return register

    def add_upcaster(self, type_name: str, from_version: int, fn: Upcaster) -> None:
        """Register ``fn`` to turn ``type_name`` data from ``from_version`` to the next version."""
        if from_version < 1:
            raise InvalidArgumentError(f"from_version must be >= 1, found {from_version}")
        key = (type_name, from_version)
        if key in self._upcasters:
            raise InvalidArgumentError(
                f"an upcaster for {type_name} v{from_version}->v{from_version + 1} already exists"
            )
        self._upcasters[key] = fn

    def event_type(self, type_name: str) -> type[Event]:
        """The class registered under ``type_name``."""
        try:
            return self._types[type_name]
        except KeyError:
            raise UnknownEventTypeError(
                f"unknown event type {type_name!r}; registered: {sorted(self._types)}; "
                "register the class with EventRegistry.register"
            ) from None

    def encode(self, event: Event) -> EncodedEvent:
        """The event as plain data at its current schema version."""
        data = {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}
        return EncodedEvent(type(event).type_name, type(event).schema_version, data)

    def decode(self, type_name: str, schema_version: int, data: Mapping[str, Any]) -> Event:
        """Rebuild an event from stored data, upcasting it to the current schema first.

        Nested values (a tuple of line dataclasses, a datetime given as text) are rebuilt from
        the event class's type hints, so data read back from JSON decodes as well.
        """
        from cqrs_lab.serialization import EventCodec  # serialization builds on this module

        return EventCodec(self).decode(EncodedEvent(type_name, schema_version, data))

    def upcast(
        self, type_name: str, schema_version: int, data: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Stored data brought up to the current schema, still as data.

        :meth:`decode` builds the event from it with a plain call; a codec that must rebuild
        nested values (:mod:`cqrs_lab.serialization`) builds it itself.
        """
        event_type = self.event_type(type_name)
        current = event_type.schema_version
        if schema_version > current:
            raise UpcastError(
                f"{type_name} was stored at schema v{schema_version}, newer than the code's "
                f"v{current}; upgrade the code before reading this store"
            )
        upgraded = dict(data)
        for version in range(schema_version, current):
            step = self._upcasters.get((type_name, version))
            if step is None:
                known = sorted(
                    f"v{v}->v{v + 1}" for (name, v) in self._upcasters if name == type_name
                )
                raise UpcastError(
                    f"{type_name} was stored at schema v{schema_version} but the current schema is "
                    f"v{current}, and there is no upcaster from v{version} to v{version + 1} "
                    f"(registered for {type_name}: {known or 'none'}); add one with "
                    f"@registry.upcaster({type_name!r}, from_version={version})"
                )
            try:
                upgraded = step(upgraded)
            except Exception as error:  # wrapped with the context the upcaster lacks
                raise UpcastError(
                    f"the upcaster of {type_name} from v{version} to v{version + 1} failed on "
                    f"{upgraded!r}: {error!r}"
                ) from error
        return upgraded

    @property
    def type_names(self) -> list[str]:
        """Every registered type name, sorted."""
        return sorted(self._types)
