"""Events as rows of a SQL table: what the SQLite and PostgreSQL event stores share.

Both stores keep the log in one ``events`` table and differ only in their SQL and in how they
run the transaction. What happens before the transaction (checking the arguments, turning each
event into the row it is stored as) and after it (telling the subscribers; turning selected rows
back into :class:`~cqrs_lab.messages.RecordedEvent`) is the same, and lives here:

- :class:`SqlEventStore`, the base class that offers ``append`` and ``append_encoded`` and hands
  each subclass the checked rows to insert in its own transaction (its ``_append``);
- :func:`recorded_events`, the records that rows selected as :data:`EVENT_COLUMNS` hold.

A row to insert is an :data:`EventRow`: the event's type name, its schema version and its data
as JSON text. The stores add the stream, the version, the time and the provenance ids.

>>> from dataclasses import dataclass
>>> from datetime import datetime
>>> from cqrs_lab.codec import EventCodec
>>> @dataclass(frozen=True, kw_only=True)
... class Noted(Event):
...     text: str
>>> codec = EventCodec(EventRegistry([Noted]))
>>> row = (7, "note-1", 1, "2024-01-01T00:00:00+00:00", "Noted", 1, '{"text":"hi"}', "", "")
>>> [record] = recorded_events([row], datetime.fromisoformat, codec.loads)
>>> record.position, record.event
(7, Noted(text='hi'))
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Self

from cqrs_lab.clock import Clock, SystemClock
from cqrs_lab.codec import EncodedEvent, EventCodec
from cqrs_lab.errors import InvalidArgumentError, UnknownEventTypeError
from cqrs_lab.event_store import (
    ANY_VERSION,
    check_append_arguments,
    checked_encoded,
    log_frame,
    provenance,
)
from cqrs_lab.messages import CommandEnvelope, Event, Metadata, Receipt, RecordedEvent
from cqrs_lab.subscriptions import Subscriber, Subscribers, notify_subscribers
from cqrs_lab.upcasting import EventRegistry

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["EVENT_COLUMNS", "EventRow", "SqlEventStore", "recorded_events"]

EVENT_COLUMNS: Final = (
    "position, stream_id, stream_version, recorded_at, event_type, schema_version, data, "
    "correlation_id, causation_id"
)
"""The columns a read selects, in the order :func:`recorded_events` takes them."""

EventRow = tuple[str, int, str]
"""What one insert needs from an event: its type name, schema version and JSON data."""


def recorded_events(
    rows: Iterable[tuple[Any, ...]],
    recorded_at: Callable[[Any], datetime],
    event: Callable[[str, int, Any], Event],
) -> list[RecordedEvent]:
    """The records that ``rows``, selected as :data:`EVENT_COLUMNS`, hold.

    ``recorded_at`` turns the stored time into a datetime, and ``event`` turns a type name,
    schema version and stored data into the event, upcast to its current schema: each database
    driver hands these columns back in its own form.
    """
    return [
        RecordedEvent(
            position,
            stream_id,
            version,
            recorded_at(at),
            event_type,
            schema,
            event(event_type, schema, data),
            corr,
            caus,
        )
        for position, stream_id, version, at, event_type, schema, data, corr, caus in rows
    ]


class SqlEventStore(ABC):
    """The part of an event store in SQL that does not depend on the database.

    It checks an append's arguments, turns its events into :data:`EventRow` values (registering
    an event class the registry does not know yet), and hands them with the provenance ids to
    :meth:`_append`, which a subclass writes: one transaction that checks the stream's version
    and inserts the rows. Everything it raises before that call leaves the store unchanged.

    Args:
        registry: knows the event classes by their stored names and upcasts old schemas on read.
        clock: stamps ``recorded_at``.
    """

    def __init__(self, registry: EventRegistry | None, clock: Clock | None) -> None:
        self.registry = registry or EventRegistry()
        self.codec = EventCodec(self.registry)
        self._clock: Clock = clock or SystemClock()
        self._subscribers = Subscribers()
        self._known_types: set[type[Event]] = set()

    def append(
        self,
        stream_id: str,
        events: Sequence[Event],
        expected_version: int = ANY_VERSION,
        *,
        metadata: Metadata | None = None,
        cause: CommandEnvelope[Any] | None = None,
    ) -> Receipt:
        """Append ``events`` to ``stream_id`` in one transaction if its version is as expected.

        On a mismatch nothing is written and :class:`~cqrs_lab.errors.ConcurrencyError` tells
        both versions; a store that loses its database (PostgreSQL's connection, say) raises
        :class:`~cqrs_lab.errors.StoreUnavailableError` and leaves nothing half-written.
        Subscribers are notified after the commit. The events' correlation and causation ids
        come from ``metadata`` or from ``cause``, the envelope of the command they answer.
        """
        rows, ids = self._checked(stream_id, events, expected_version, metadata, cause)
        return self._append(stream_id, rows, expected_version, ids)

    def append_encoded(
        self,
        stream_id: str,
        events: Iterable[EncodedEvent],
        expected_version: int = ANY_VERSION,
        *,
        metadata: Metadata | None = None,
        cause: CommandEnvelope[Any] | None = None,
    ) -> Receipt:
        """Append events given as plain data (e.g. written by an older version of the code).

        They are stored as given and upcast to the current schema on every read. The type must
        be known to the registry.
        """
        encoded = checked_encoded(self.codec, stream_id, events, expected_version)
        rows = [(e.type_name, e.schema_version, self.codec.dumps(e)) for e in encoded]
        ids = provenance(metadata, cause)
        return self._append(stream_id, rows, expected_version, ids)

    def _checked(
        self,
        stream_id: str,
        events: Sequence[Event],
        expected_version: int,
        metadata: Metadata | None,
        cause: CommandEnvelope[Any] | None,
    ) -> tuple[list[EventRow], tuple[str, str]]:
        """The rows ``events`` are stored as, and the (correlation, causation) ids of the append.

        Raises :class:`~cqrs_lab.errors.InvalidArgumentError` for a malformed append, in the
        order every store checks: the arguments, each event, then ``metadata`` and ``cause``.
        """
        check_append_arguments(stream_id, events, expected_version)
        rows: list[EventRow] = []
        for event in events:
            if not isinstance(event, Event):
                raise InvalidArgumentError(
                    f"append to {stream_id!r} takes Event instances, found {type(event).__name__}"
                )
            if type(event) not in self._known_types:
                self._learn(type(event))
            encoded = self.codec.encode(event)
            rows.append((encoded.type_name, encoded.schema_version, self.codec.dumps(encoded)))
        return rows, provenance(metadata, cause)

    def _learn(self, event_type: type[Event]) -> None:
        try:
            known: type[Event] | None = self.registry.event_type(event_type.type_name)
        except UnknownEventTypeError:
            known = None
        if known is not event_type:
            self.registry.register(event_type)  # refuses a name taken by another class
        self._known_types.add(event_type)

    @abstractmethod
    def _append(
        self, stream_id: str, rows: list[EventRow], expected_version: int, ids: tuple[str, str]
    ) -> Receipt:
        """Insert ``rows`` at the end of ``stream_id`` in one transaction, then announce them.

        The transaction reads the stream's version, raises
        :class:`~cqrs_lab.errors.ConcurrencyError` (writing nothing) unless it is
        ``expected_version`` or that is ``ANY_VERSION``, and stores each row with the next
        version and position and ``ids``, the (correlation, causation) pair.
        """

    def announce(self, head: int) -> None:
        """Tell the subscribers that the log now ends at ``head`` (after a commit)."""
        subscribers = self._subscribers.current
        if subscribers:
            notify_subscribers(subscribers, head)

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call ``subscriber(head)`` after every append made through this object.

        Appends by another process are not announced here (PostgreSQL announces them on its
        events channel: see :class:`~cqrs_lab.adapters.postgres_listener.PostgresListener`).
        """
        return self._subscribers.add(subscriber)

    @abstractmethod
    def read_all(self, after_position: int = 0, limit: int | None = None) -> list[RecordedEvent]:
        """Up to ``limit`` events with position > ``after_position`` (exclusive), in order."""

    def to_dataframe(self, after_position: int = 0, limit: int | None = None) -> pd.DataFrame:
        """The log as a table, one row per event (see :func:`~cqrs_lab.event_store.log_frame`)."""
        return log_frame(self.read_all(after_position, limit))

    @abstractmethod
    def close(self) -> None:
        """Close the database if this store opened it."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
