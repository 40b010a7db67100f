"""Event schemas over time: which class a stored name means, and how old data is brought up to date.

Events are kept forever, but the classes that read them change. An event class declares its
``schema_version``; when its fields change the version goes up, the data already stored stays as
it was written, and an *upcaster* -- a plain function from the data of version ``n`` to the data
of version ``n + 1`` -- brings old data to the current shape each time it is read. Handlers and
projections only ever see the current schema.

:class:`EventRegistry` knows the event classes by their stored names, and the upcasters. It works
on plain data; :class:`~cqrs_lab.codec.EventCodec` turns that data into events and back.

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
>>> registry.upcast("Deposited", 1, {"account_id": "acc-1", "amount": 2.5})
{'account_id': 'acc-1', 'amount_cents': 250}
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from cqrs_lab.errors import InvalidArgumentError, UnknownEventTypeError, UpcastError
from cqrs_lab.messages import Event

__all__ = ["EventRegistry", "Upcaster"]

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
"""Turns the data of schema version ``n`` into the data of version ``n + 1``."""


class EventRegistry:
    """Knows every event class by its stored name, and how to upcast old schema versions."""

    def __init__(self, event_types: Iterable[type[Event]] = ()) -> None:
        self._types: dict[str, type[Event]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}
        for event_type in event_types:
            self.register(event_type)

    def register(self, event_type: type[Event]) -> type[Event]:
        """Register an event class under its ``type_name``; returns it (works as a decorator).

        The class must be a dataclass itself, as every event is: a subclass of
        :class:`~cqrs_lab.messages.Event` without its own ``@dataclass`` is refused.
        """
        if not (isinstance(event_type, type) and issubclass(event_type, Event)):
            raise InvalidArgumentError(f"expected an Event subclass, found {event_type!r}")
        if "__dataclass_fields__" not in vars(event_type):
            # it inherits Event's (empty) dataclass fields: its own annotations are not fields,
            # and constructing it with them fails with a TypeError that does not say why
            raise InvalidArgumentError(
                f"{event_type.__qualname__} is an Event subclass but not a dataclass itself; "
                "decorate it with @dataclass(frozen=True, kw_only=True)"
            )
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

    def upcast(
        self, type_name: str, schema_version: int, data: Mapping[str, Any]
    ) -> dict[str, Any]:
        """``data`` written at ``schema_version``, brought to the current schema, still as data.

        The upcasters from that version on run in turn, on a deep copy: whatever they do, the
        data given (perhaps what a store holds) is never changed.
        """
        event_type = self.event_type(type_name)
        current = event_type.schema_version
        if schema_version > current:
            raise UpcastError(
                f"{type_name} was stored at schema v{schema_version}, newer than the code's "
                f"v{current}; upgrade the code before reading this store"
            )
        upgraded = copy.deepcopy(dict(data))
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
