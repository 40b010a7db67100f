"""The event codec: events to JSON and back, upcasting old schema versions on the way in.

What a store keeps of an event is its type name, the schema version it was written at, and its
fields as JSON: an :class:`EncodedEvent`. :meth:`EventCodec.encode` makes one from an event;
:meth:`EventCodec.decode` turns one back into an event of today's class, first running the
registry's upcasters over the data when it was written at an older version. Upcasters always see
plain JSON data, whatever the store, and every store goes through this one codec.

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True, kw_only=True)
... class Deposited(Event):
...     schema_version = 2
...     account_id: str
...     amount_cents: int
>>> registry = EventRegistry([Deposited])
>>> @registry.upcaster("Deposited", from_version=1)
... def to_cents(data):
...     return {"account_id": data["account_id"], "amount_cents": round(data["amount"] * 100)}
>>> codec = EventCodec(registry)
>>> encoded = codec.encode(Deposited(account_id="acc-1", amount_cents=250))
>>> encoded
EncodedEvent(type_name='Deposited', schema_version=2,
             data={'account_id': 'acc-1', 'amount_cents': 250})
>>> codec.dumps(encoded)
'{"account_id":"acc-1","amount_cents":250}'
>>> codec.loads("Deposited", 1, '{"account_id": "acc-1", "amount": 2.5}')
Deposited(account_id='acc-1', amount_cents=250)

Nested dataclasses, tuples, datetimes, enums and decimals are rebuilt from the class's type hints
(see :mod:`cqrs_lab.json_data`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from cqrs_lab.errors import InvalidArgumentError, UpcastError
from cqrs_lab.json_data import dumps, from_data, to_data
from cqrs_lab.messages import Event
from cqrs_lab.upcasting import EventRegistry

__all__ = ["EncodedEvent", "EventCodec"]


@dataclass(frozen=True, slots=True)
class EncodedEvent:
    """An event as stored data: its type name, the schema version it was written at, its fields.

    What a database row holds, or an export written by an older version of the code.
    """

    type_name: str
    schema_version: int
    data: Mapping[str, Any]


class EventCodec:
    """Turns events into :class:`EncodedEvent` JSON data and back, upcasting through ``registry``.

    The registry knows the event classes by their stored names, their current schema versions
    and the upcasters between versions; the codec does the JSON.
    """

    def __init__(self, registry: EventRegistry) -> None:
        self.registry = registry

    def encode(self, event: Event) -> EncodedEvent:
        """``event`` as plain JSON data at its class's current schema version."""
        if not isinstance(event, Event):
            raise InvalidArgumentError(f"expected an Event, found {type(event).__name__}")
        data = cast(dict[str, Any], to_data(event))  # a dataclass encodes to a JSON object
        return EncodedEvent(type(event).type_name, type(event).schema_version, data)

    def decode(self, encoded: EncodedEvent) -> Event:
        """The event ``encoded`` holds, upcast to the current schema, nested values rebuilt.

        Raises :class:`~cqrs_lab.errors.UnknownEventTypeError` for a type the registry does not
        know and :class:`~cqrs_lab.errors.UpcastError` when the data cannot be brought to the
        current schema.
        """
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

    def checked(self, encoded: EncodedEvent) -> EncodedEvent:
        """``encoded``, given from outside (an import, an older program), made ready to store.

        Its type must be registered, its schema version at least 1, and its data a mapping that
        JSON can hold; the copy returned holds that data as plain JSON data, so the caller
        changing its own dict later changes nothing stored. Upcasting waits for each read, so an
        upcaster registered later applies too.
        """
        if not isinstance(encoded, EncodedEvent):
            raise InvalidArgumentError(f"expected EncodedEvent, found {type(encoded).__name__}")
        self.registry.event_type(encoded.type_name)  # an unknown type is refused now, not later
        version = encoded.schema_version
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise InvalidArgumentError(
                f"{encoded.type_name}: expected a schema version >= 1, found {version!r}"
            )
        if not isinstance(encoded.data, Mapping):
            raise InvalidArgumentError(
                f"{encoded.type_name}: expected its data as a mapping of field names to values, "
                f"found {type(encoded.data).__name__}"
            )
        data = cast(dict[str, Any], to_data(encoded.data))  # a mapping: a JSON object
        return EncodedEvent(encoded.type_name, version, data)

    def dumps(self, encoded: EncodedEvent) -> str:
        """The data of ``encoded`` as compact JSON text: what a database column holds."""
        return dumps(encoded.data)

    def loads(self, type_name: str, schema_version: int, text: str | bytes) -> Event:
        """The event stored as JSON ``text`` at ``schema_version``, upcast to the current one."""
        return self.decode(EncodedEvent(type_name, schema_version, json.loads(text)))
