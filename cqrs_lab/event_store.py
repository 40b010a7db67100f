"""The event store: append-only streams with optimistic concurrency, and one global log.

Positions in the global log start at 1 and have no gaps. ``read_all(after_position=p)`` returns
events *after* ``p`` (exclusive), so a reader passes the last position it has seen and never gets it
twice; a reader that took the bound as inclusive would read its last event again on every poll.

>>> from dataclasses import dataclass
>>> from cqrs_lab.clock import ManualClock
>>> @dataclass(frozen=True, kw_only=True)
... class Noted(Event):
...     text: str
>>> store = InMemoryEventStore(clock=ManualClock())
>>> store.append("note-1", [Noted(text="hi"), Noted(text="there")], expected_version=NO_STREAM)
Receipt(stream_id='note-1', stream_version=2, position=2, command_id='')
>>> [r.event.text for r in store.read_all(after_position=1)]
['there']
>>> store.append("note-1", [Noted(text="late")], expected_version=1)
Traceback (most recent call last):
...
cqrs_lab.errors.ConcurrencyError: stream 'note-1': expected version 1, found version 2; ...
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable

from cqrs_lab.clock import Clock, SystemClock
from cqrs_lab.codec import EncodedEvent, EventCodec
from cqrs_lab.errors import ConcurrencyError, InvalidArgumentError
from cqrs_lab.messages import CommandEnvelope, Event, Metadata, Receipt, RecordedEvent
from cqrs_lab.subscriptions import Subscriber, Subscribers, notify_subscribers
from cqrs_lab.upcasting import EventRegistry

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ANY_VERSION",
    "NO_STREAM",
    "EventStore",
    "InMemoryEventStore",
    "Receipt",
    "Subscriber",
    "log_frame",
]

ANY_VERSION: Final = -1
"""Expected version that accepts whatever the stream's version is."""

NO_STREAM: Final = 0
"""Expected version that requires the stream not to exist yet."""


@runtime_checkable
class EventStore(Protocol):
    """What every event store offers (in memory here, SQLite in :mod:`cqrs_lab.adapters`)."""

    @property
    def head(self) -> int:
        """The global position of the last event, 0 when empty."""
        ...

    def append(
        self,
        stream_id: str,
        events: Sequence[Event],
        expected_version: int = ANY_VERSION,
        *,
        metadata: Metadata | None = None,
        cause: CommandEnvelope[Any] | None = None,
    ) -> Receipt:
        """Append ``events`` to ``stream_id`` atomically if its version is ``expected_version``.

        The events' correlation and causation ids come from ``metadata``, or from ``cause``, the
        envelope of the command they answer (as :meth:`Metadata.caused_by` gives them); not
        from both.
        """
        ...

    def read_stream(self, stream_id: str, from_version: int = 1) -> list[RecordedEvent]:
        """Events of one stream from ``from_version`` (inclusive); empty if there is none."""
        ...

    def read_all(self, after_position: int = 0, limit: int | None = None) -> list[RecordedEvent]:
        """Up to ``limit`` events with position > ``after_position`` (exclusive), in order."""
        ...

    def stream_version(self, stream_id: str) -> int:
        """The version of ``stream_id``: its number of events, 0 if it does not exist."""
        ...

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call ``subscriber(head)`` after every append; returns a function that unsubscribes."""
        ...


def provenance(metadata: Metadata | None, cause: CommandEnvelope[Any] | None) -> tuple[str, str]:
    """The correlation and causation ids an append stores, from its ``metadata`` or from
    :meth:`Metadata.caused_by` its ``cause`` (shared by every store)."""
    if cause is not None:
        if metadata is not None:
            raise InvalidArgumentError(
                "append takes metadata= or cause=, not both: "
                "cause stands for Metadata.caused_by(cause)"
            )
        if not isinstance(cause, CommandEnvelope):
            raise InvalidArgumentError(
                f"cause must be the CommandEnvelope a handler received, "
                f"found {type(cause).__name__}"
            )
        return cause.correlation_id, cause.command_id  # what Metadata.caused_by(cause) holds
    if metadata is None:
        return "", ""
    if not isinstance(metadata, Metadata):
        raise InvalidArgumentError(f"metadata must be a Metadata, found {type(metadata).__name__}")
    return metadata.correlation_id, metadata.causation_id


def check_append_arguments(stream_id: str, events: Sequence[Any], expected_version: int) -> None:
    """Reject a malformed append before anything is written (shared by every store)."""
    if not isinstance(stream_id, str) or not stream_id:
        raise InvalidArgumentError(f"stream_id must be a non-empty string, found {stream_id!r}")
    if not events:
        raise InvalidArgumentError(f"append to {stream_id!r} needs at least one event, found none")
    if expected_version < ANY_VERSION:
        raise InvalidArgumentError(
            f"expected_version must be ANY_VERSION (-1), NO_STREAM (0) or a version >= 1, "
            f"found {expected_version}"
        )


def checked_encoded(
    codec: EventCodec, stream_id: str, events: Iterable[EncodedEvent], expected_version: int
) -> list[EncodedEvent]:
    """The events of an ``append_encoded``, checked and held as plain JSON data (every store)."""
    encoded = list(events)
    check_append_arguments(stream_id, encoded, expected_version)
    return [codec.checked(item) for item in encoded]


def check_from_version(from_version: int) -> None:
    """Reject a malformed ``read_stream`` (shared by every store)."""
    if from_version < 1:
        raise InvalidArgumentError(f"from_version must be >= 1, found {from_version}")


def check_read_arguments(after_position: int, limit: int | None) -> None:
    """Reject a malformed ``read_all`` (shared by every store)."""
    if after_position < 0:
        raise InvalidArgumentError(f"after_position must be >= 0, found {after_position}")
    if limit is not None and limit < 1:
        raise InvalidArgumentError(f"limit must be >= 1 or None, found {limit}")


class InMemoryEventStore:
    """A thread-safe event store in memory.

    The log is a list of recorded events (position ``p`` at index ``p - 1``), and each stream a
    list of the same records, so reading a stream costs what it returns.

    Args:
        clock: stamps ``recorded_at``; inject a :class:`~cqrs_lab.clock.ManualClock` in notebooks.
        registry: decodes events appended as :class:`~cqrs_lab.codec.EncodedEvent` (old
            schemas, imports), upcasting them on every read.
    """

    def __init__(
        self, *, clock: Clock | None = None, registry: EventRegistry | None = None
    ) -> None:
        self._clock: Clock = clock or SystemClock()
        self.registry = registry or EventRegistry()
        self.codec = EventCodec(self.registry)
        self._lock = threading.Lock()
        self._log: list[RecordedEvent] = []
        self._streams: dict[str, list[RecordedEvent]] = {}
        self._subscribers = Subscribers()
        self._encoded = 0  # how many records still hold encoded data, decoded on each read

    @property
    def head(self) -> int:
        """The global position of the last event, 0 when empty."""
        return len(self._log)

    def __len__(self) -> int:
        return len(self._log)

    def stream_version(self, stream_id: str) -> int:
        """The version of ``stream_id``: its number of events, 0 if it does not exist."""
        with self._lock:
            return len(self._streams.get(stream_id, ()))

    def stream_ids(self) -> list[str]:
        """Every stream id, sorted."""
        with self._lock:
            return sorted(self._streams)

    def append(
        self,
        stream_id: str,
        events: Sequence[Event],
        expected_version: int = ANY_VERSION,
        *,
        metadata: Metadata | None = None,
        cause: CommandEnvelope[Any] | None = None,
    ) -> Receipt:
        """Append ``events`` to ``stream_id`` atomically if its version is ``expected_version``.

        ``expected_version`` is a version number, :data:`NO_STREAM` (the stream must not exist) or
        :data:`ANY_VERSION`. On a mismatch nothing is written and :class:`ConcurrencyError` tells
        both versions. Subscribers are notified after the lock is released. The events'
        correlation and causation ids come from ``metadata``, or from ``cause``, the envelope of
        the command they answer; not from both.
        """
        check_append_arguments(stream_id, events, expected_version)
        for event in events:
            if not isinstance(event, Event):
                raise InvalidArgumentError(
                    f"append to {stream_id!r} takes Event instances, found {type(event).__name__}"
                )
        correlation, causation = provenance(metadata, cause)
        return self._append(stream_id, events, expected_version, correlation, causation)

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

        They are stored as given and decoded -- upcast to the current schema -- on every read, so
        an upcaster registered later applies to them too. The type must be known to the registry.
        """
        encoded = checked_encoded(self.codec, stream_id, events, expected_version)
        correlation, causation = provenance(metadata, cause)
        return self._append(stream_id, encoded, expected_version, correlation, causation)

    def _append(
        self,
        stream_id: str,
        events: Sequence[Event | EncodedEvent],
        expected_version: int,
        correlation_id: str,
        causation_id: str,
    ) -> Receipt:
        # An encoded record holds its EncodedEvent in place of the event until a read decodes it.
        with self._lock:
            stream = self._streams.get(stream_id, [])
            version = len(stream)
            if expected_version != ANY_VERSION and expected_version != version:
                raise ConcurrencyError(stream_id, expected_version, version)
            recorded_at = self._clock.now()
            for event in events:
                record = RecordedEvent(
                    position=len(self._log) + 1,
                    stream_id=stream_id,
                    stream_version=len(stream) + 1,
                    recorded_at=recorded_at,
                    event_type=event.type_name,
                    schema_version=event.schema_version,
                    event=event,  # type: ignore[arg-type]  # see the comment above
                    correlation_id=correlation_id,
                    causation_id=causation_id,
                )
                self._log.append(record)
                stream.append(record)
                if isinstance(event, EncodedEvent):
                    self._encoded += 1
            self._streams[stream_id] = stream
            receipt = Receipt(stream_id, len(stream), len(self._log), causation_id)
        subscribers = self._subscribers.current
        if subscribers:
            notify_subscribers(subscribers, receipt.position)
        return receipt

    def read_stream(self, stream_id: str, from_version: int = 1) -> list[RecordedEvent]:
        """Events of one stream from ``from_version`` (inclusive); empty if there is none."""
        check_from_version(from_version)
        with self._lock:
            records = self._streams.get(stream_id, [])[from_version - 1 :]
        return self._decoded(records)

    def read_all(self, after_position: int = 0, limit: int | None = None) -> list[RecordedEvent]:
        """Up to ``limit`` events with position > ``after_position`` (exclusive), in order.

        The cost is proportional to ``limit``, not to the size of the store.
        """
        check_read_arguments(after_position, limit)
        end = None if limit is None else after_position + limit
        with self._lock:
            records = self._log[after_position:end]
        return self._decoded(records)

    def _decoded(self, records: list[RecordedEvent]) -> list[RecordedEvent]:
        if not self._encoded:
            return records
        return [self._decode(r) if isinstance(r.event, EncodedEvent) else r for r in records]

    def _decode(self, record: RecordedEvent) -> RecordedEvent:
        encoded: Any = record.event  # an EncodedEvent, kept in the event's place (see _append)
        return record._replace(event=self.codec.decode(encoded))

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call ``subscriber(head)`` after every append; returns a function that unsubscribes."""
        return self._subscribers.add(subscriber)

    def to_dataframe(self, after_position: int = 0, limit: int | None = None) -> pd.DataFrame:
        """The log as a table, one row per event (see :func:`log_frame`)."""
        return log_frame(self.read_all(after_position, limit))

    def __repr__(self) -> str:
        return f"InMemoryEventStore(head={self.head}, streams={len(self._streams)})"


def log_frame(records: Iterable[RecordedEvent]) -> pd.DataFrame:
    """A DataFrame of recorded events: envelope columns, then the event's own fields as ``data``."""
    import pandas as pd

    rows = [
        {
            "position": r.position,
            "stream_id": r.stream_id,
            "version": r.stream_version,
            "event_type": r.event_type,
            "schema": r.schema_version,
            "recorded_at": r.recorded_at,
            "causation_id": r.causation_id,
            "data": {f.name: getattr(r.event, f.name) for f in dataclasses.fields(r.event)},
        }
        for r in records
    ]
    columns = [
        "position",
        "stream_id",
        "version",
        "event_type",
        "schema",
        "recorded_at",
        "causation_id",
        "data",
    ]
    return pd.DataFrame(rows, columns=columns).set_index("position")
