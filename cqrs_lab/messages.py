"""The three kinds of message, and the envelopes that carry them.

Commands, events and queries are frozen, keyword-only dataclasses. Their bases declare no
fields, so a subclass can declare whatever fields it needs, required or not (a dataclass base
with defaulted fields would make every subclass with a required field raise TypeError, unless
the fields are keyword-only):

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True, kw_only=True)
... class OpenAccount(Command):
...     owner: str
>>> OpenAccount(owner="ada")
OpenAccount(owner='ada')

A message says only what it means. Where it came from and when (ids, time, correlation) lives
beside it, in an envelope: a :class:`CommandEnvelope` that the command bus wraps around each
command it dispatches, and a :class:`RecordedEvent` that the event store wraps around each event
it stores. The message itself is never copied to be stamped.

Envelopes and receipts are made once per command and per event, and never changed: they are
``NamedTuple`` records, immutable and about three times cheaper to build than a frozen
dataclass (whose ``__init__`` must go around its own ``__setattr__`` for every field).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Generic, NamedTuple, TypeVar

__all__ = [
    "Command",
    "CommandEnvelope",
    "Event",
    "Metadata",
    "Query",
    "Receipt",
    "RecordedEvent",
]


@dataclass(frozen=True, kw_only=True)
class Command:
    """An intent to change state, named in the imperative (``CreateOrder``)."""


@dataclass(frozen=True, kw_only=True)
class Event:
    """A fact that happened, named in the past tense (``OrderCreated``).

    ``schema_version`` is the version of the class's fields; raise it when the fields change and
    register an upcaster from the old version (see :mod:`cqrs_lab.upcasting`). ``type_name`` is
    the name the event is stored under; it defaults to the class name.
    """

    schema_version: ClassVar[int] = 1
    type_name: ClassVar[str] = "Event"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "type_name" not in cls.__dict__:
            cls.type_name = cls.__name__


@dataclass(frozen=True, kw_only=True)
class Query:
    """A request for data that changes nothing (``GetOrderById``)."""


C = TypeVar("C", bound=Command)


class CommandEnvelope(NamedTuple, Generic[C]):
    """A command as the command bus dispatches it: the command beside its metadata.

    ``command_id`` names this one dispatch; ``correlation_id`` is shared by everything done for
    one request (the command's own id when it starts the conversation); ``issued_at`` is when
    the bus received it. Handlers and middleware receive the envelope and read the command
    from it; the events a handler saves name the envelope as their cause.

    >>> from datetime import UTC, datetime
    >>> envelope = CommandEnvelope(
    ...     command=Command(),
    ...     command_id="cmd-1",
    ...     correlation_id="cmd-1",
    ...     issued_at=datetime(2026, 1, 1, tzinfo=UTC),
    ... )
    >>> Metadata.caused_by(envelope)
    Metadata(correlation_id='cmd-1', causation_id='cmd-1')
    """

    command: C
    command_id: str
    correlation_id: str
    issued_at: datetime


@dataclass(frozen=True, slots=True)
class Metadata:
    """Why an event exists: the command that caused it and the conversation it belongs to."""

    correlation_id: str = ""
    causation_id: str = ""

    @classmethod
    def caused_by(cls, envelope: CommandEnvelope[Any]) -> Metadata:
        """Metadata for the events produced while handling ``envelope``'s command."""
        return cls(correlation_id=envelope.correlation_id, causation_id=envelope.command_id)


class RecordedEvent(NamedTuple):
    """An event as the store holds it: the domain event inside its envelope.

    ``position`` is global across the store (1, 2, 3, ... with no gaps); ``stream_version`` counts
    within one stream from 1. ``schema_version`` is the version the event was *stored* at: after
    an upcast, ``event`` is already the current schema while ``schema_version`` still says how it
    was written. ``correlation_id`` is the id shared by everything done for one request,
    ``causation_id`` the id of the command that produced the event; :attr:`metadata` gives both.
    """

    position: int
    stream_id: str
    stream_version: int
    recorded_at: datetime
    event_type: str
    schema_version: int
    event: Event
    correlation_id: str = ""
    causation_id: str = ""

    @property
    def metadata(self) -> Metadata:
        """Why this event exists: its correlation and causation ids."""
        return Metadata(self.correlation_id, self.causation_id)


class Receipt(NamedTuple):
    """What an append wrote: the read-your-writes token a command handler returns.

    ``position`` is the global position of the last event appended; a read model that has
    processed that position has seen the write. ``command_id`` is the id of the command whose
    events these are, when the append named one as its cause.
    """

    stream_id: str
    stream_version: int
    position: int
    command_id: str = ""
