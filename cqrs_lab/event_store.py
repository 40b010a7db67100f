"""The event store: append-only streams with optimistic concurrency, and one global log.

Positions in the global log start at 1 and have no gaps. ``read_all(after_position=p)`` returns
events *after* ``p`` (exclusive), so a reader passes the last position it has seen and never gets it
twice -- the playbook's Template 4 loop, which left this unsaid, can spin forever on it.

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
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable

from cqrs_lab.clock import Clock, SystemClock
from cqrs_lab.construction import unfrozen_twin
from cqrs_lab.errors import ConcurrencyError, InvalidArgumentError, SubscriberError
from cqrs_lab.messages import Command, Event, Metadata, RecordedEvent
from cqrs_lab.upcasting import EncodedEvent, EventRegistry

if TYPE_CHECKING:
    import pandas as pd

    from cqrs_lab.consistency import WaitResult

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

Subscriber = Callable[[int], None]
"""Called with the new head position after each append, outside the store's lock."""


@dataclass(frozen=True, slots=True)
class Receipt:
    """What an append wrote: the read-your-writes token.

    ``position`` is the global position of the last event appended; a read model that has
    processed that position has seen the write. After a strong dispatch, ``wait`` says whether
    the named read models caught up in time.
    """

    stream_id: str
    stream_version: int
    position: int
    command_id: str = ""
    wait: WaitResult | None = field(default=None, repr=False, compare=False)

    @property
    def caught_up(self) -> bool | None:
        """After a strong dispatch, whether the read models caught up; None otherwise."""
        return None if self.wait is None else self.wait.reached


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
        cause: Command | None = None,
    ) -> Receipt:
        """Append ``events`` to ``stream_id`` atomically if its version is ``expected_version``.

        The events' correlation and causation ids come from ``metadata``, or from ``cause``, the
        command they answer (as :meth:`Metadata.caused_by` would give them); not from both.
        """
        ...

    def read_stream(self, stream_id: str, from_version: int = 1) -> list[RecordedEvent]:
        """Events of one stream from ``from_version`` (inclusive); empty if there is none."""
        ...

    def read_all(self, after_position: int = 0, limit: int | None = None) -> list[RecordedEvent]:
        """Up to ``limit`` events with position > ``after_position`` (exclusive), in order."""
        ...

    def read_stream_events(self, stream_id: str) -> tuple[int, list[Event]]:
        """The version of ``stream_id`` and its events without their envelopes, oldest first."""
        ...

    def stream_version(self, stream_id: str) -> int:
        """The version of ``stream_id``: its number of events, 0 if it does not exist."""
        ...

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call ``subscriber(head)`` after every append; returns a function that unsubscribes."""
        ...


def provenance(metadata: Metadata | None, cause: Command | None) -> tuple[str, str]:
    """The correlation and causation ids an append stores, from its ``metadata`` or from
    :meth:`Metadata.caused_by` its ``cause`` (shared by every store)."""
    if cause is not None:
        if metadata is not None:
            raise InvalidArgumentError(
                "append takes metadata= or cause=, not both: "
                "cause stands for Metadata.caused_by(cause)"
            )
        if not isinstance(cause, Command):
            raise InvalidArgumentError(f"cause must be a Command, found {type(cause).__name__}")
        metadata = Metadata.caused_by(cause)
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


def check_read_arguments(after_position: int, limit: int | None) -> None:
    """Reject a malformed ``read_all`` (shared by every store)."""
    if after_position < 0:
        raise InvalidArgumentError(f"after_position must be >= 0, found {after_position}")
    if limit is not None and limit < 1:
        raise InvalidArgumentError(f"limit must be >= 1 or None, found {limit}")


class Subscribers:
    """The subscribers of one store, copy-on-write: an append in flight keeps notifying the
    snapshot it started with (shared by every store)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.current: tuple[Subscriber, ...] = ()

    def add(self, subscriber: Subscriber) -> Callable[[], None]:
        """Add ``subscriber``; returns a function that removes it again."""
        with self._lock:
            self.current = (*self.current, subscriber)

        def unsubscribe() -> None:
            with self._lock:
                self.current = tuple(s for s in self.current if s is not subscriber)

        return unsubscribe


def notify_subscribers(subscribers: Iterable[Subscriber], head: int) -> None:
    """Tell every subscriber the new head after a commit (shared by every store).

    One failing subscriber does not stop the others; afterwards :class:`SubscriberError` reports
    the failures -- the append itself is committed.
    """
    failures: list[BaseException] = []
    for subscriber in subscribers:
        try:
            subscriber(head)
        except Exception as error:  # the append is committed: tell the others, then report
            failures.append(error)
    if failures:
        raise SubscriberError(
            f"{len(failures)} subscriber(s) failed after the append up to position {head} was "
            f"committed; first error: {failures[0]!r}"
        ) from failures[0]


class InMemoryEventStore:
    """A thread-safe event store in memory.

    Args:
        clock: stamps ``recorded_at``; inject a :class:`~cqrs_lab.clock.ManualClock` in notebooks.
        registry: decodes events appended as :class:`~cqrs_lab.upcasting.EncodedEvent` (old
            schemas, imports), upcasting them on every read.
    """

    def __init__(
        self, *, clock: Clock | None = None, registry: EventRegistry | None = None
    ) -> None:
        self._clock: Clock = clock or SystemClock()
        self.registry = registry or EventRegistry()
        self._lock = threading.Lock()
        self._log: list[RecordedEvent] = []  # position p at index p - 1
        # A stream is a chain through the log: the index of each event's predecessor in its
        # stream (-1 for the first), and each stream's newest index. A list or array per stream
        # was one more object per stream for the garbage collector to visit at every full
        # collection; these are one array and one dict of ints, whatever the number of streams.
        self._previous = array("q")
        self._last: dict[str, int] = {}  # stream id -> index of its newest event
        self._subscribers = Subscribers()
        self._encoded = 0  # how many entries still hold encoded data, decoded on each read

    @property
    def head(self) -> int:
        """The global position of the last event, 0 when empty."""
        return len(self._log)

    def __len__(self) -> int:
        return len(self._log)

    def stream_version(self, stream_id: str) -> int:
        """The version of ``stream_id``: its number of events, 0 if it does not exist."""
        last = self._last.get(stream_id)
        return 0 if last is None else self._log[last].stream_version

    def stream_ids(self) -> list[str]:
        """Every stream id, sorted."""
        with self._lock:
            return sorted(self._last)

    def append(
        self,
        stream_id: str,
        events: Sequence[Event],
        expected_version: int = ANY_VERSION,
        *,
        metadata: Metadata | None = None,
        cause: Command | None = None,
    ) -> Receipt:
        """Append ``events`` to ``stream_id`` atomically if its version is ``expected_version``.

        ``expected_version`` is a version number, :data:`NO_STREAM` (the stream must not exist) or
        :data:`ANY_VERSION`. On a mismatch nothing is written and :class:`ConcurrencyError` tells
        both versions. Subscribers are notified after the lock is released. The events'
        correlation and causation ids come from ``metadata`` or from ``cause``, the command
        they answer (its id is their causation id); not from both.
        """
        if type(stream_id) is not str or not stream_id or not events or expected_version < -1:
            check_append_arguments(stream_id, events, expected_version)  # says what is wrong
        for event in events:
            if not isinstance(event, Event):
                raise InvalidArgumentError(
                    f"append to {stream_id!r} takes Event instances, found {type(event).__name__}"
                )
        if metadata is None and isinstance(cause, Command):  # a save: provenance(), inline
            causation = cause.command_id
            correlation = cause.correlation_id or causation
        else:
            correlation, causation = provenance(metadata, cause)
        return self._append(stream_id, events, expected_version, correlation, causation, False)

    def append_encoded(
        self,
        stream_id: str,
        events: Iterable[EncodedEvent],
        expected_version: int = ANY_VERSION,
        *,
        metadata: Metadata | None = None,
        cause: Command | None = None,
    ) -> Receipt:
        """Append events given as plain data (e.g. written by an older version of the code).

        They are stored as given and decoded -- upcast to the current schema -- on every read, so
        an upcaster registered later applies to them too. The type must be known to the registry.
        """
        encoded = list(events)
        check_append_arguments(stream_id, encoded, expected_version)
        for item in encoded:
            if not isinstance(item, EncodedEvent):
                raise InvalidArgumentError(f"expected EncodedEvent, found {type(item).__name__}")
            self.registry.event_type(item.type_name)  # unknown types are rejected now, not later
        correlation, causation = provenance(metadata, cause)
        return self._append(stream_id, encoded, expected_version, correlation, causation, True)

    def _append(
        self,
        stream_id: str,
        events: Sequence[Event | EncodedEvent],
        expected_version: int,
        correlation_id: str,
        causation_id: str,
        encoded: bool,
    ) -> Receipt:
        # encoded entries hold an EncodedEvent in place of the event until _decoded() reads them.
        # acquire/release, not `with`: this runs once per command, and `with` costs twice as much
        lock = self._lock
        lock.acquire()
        try:
            last = self._last.get(stream_id, -1)
            version = self._log[last].stream_version if last >= 0 else 0
            if expected_version != ANY_VERSION and expected_version != version:
                raise ConcurrencyError(stream_id, expected_version, version)
            log = self._log
            now = self._clock.now()
            for event in events:
                version += 1
                record: Any = _RecordDraft()  # a RecordedEvent, slot by slot (see below)
                record.position = len(log) + 1
                record.stream_id = stream_id
                record.stream_version = version
                record.recorded_at = now
                record.event_type = event.type_name
                record.schema_version = event.schema_version
                record.event = event
                record.correlation_id = correlation_id
                record.causation_id = causation_id
                record.__class__ = RecordedEvent
                self._previous.append(last)
                last = len(log)
                log.append(record)
            position = len(log)
            self._last[stream_id] = last
            if encoded:
                self._encoded += len(events)
        finally:
            lock.release()
        receipt: Any = _ReceiptDraft()  # a Receipt, slot by slot
        receipt.stream_id = stream_id
        receipt.stream_version = version
        receipt.position = position
        receipt.command_id = causation_id
        receipt.wait = None
        receipt.__class__ = Receipt
        subscribers = self._subscribers.current
        if subscribers:
            notify_subscribers(subscribers, position)
        return receipt

    def read_stream(self, stream_id: str, from_version: int = 1) -> list[RecordedEvent]:
        """Events of one stream from ``from_version`` (inclusive); empty if there is none."""
        if from_version < 1:
            raise InvalidArgumentError(f"from_version must be >= 1, found {from_version}")
        records: list[RecordedEvent] = []
        lock = self._lock  # acquire/release, not `with`: a repository reads once per command
        lock.acquire()
        try:
            index = self._last.get(stream_id, -1)
            # walk back from the newest event: the cost is the number of events returned
            log = self._log
            previous = self._previous
            while index >= 0:
                record = log[index]
                if record.stream_version < from_version:
                    break
                records.append(record)
                index = previous[index]
        finally:
            lock.release()
        records.reverse()
        return self._decoded(records) if self._encoded else records

    def read_stream_events(self, stream_id: str) -> tuple[int, list[Event]]:
        """The version of ``stream_id`` and its events without their envelopes, oldest first.

        What a repository needs to load an aggregate, for a fraction of :meth:`read_stream`:
        no envelope is built. Events stored encoded come back upcast, as from every read.
        """
        events: list[Any] = []
        lock = self._lock
        lock.acquire()
        try:
            index = last = self._last.get(stream_id, -1)
            log = self._log
            previous = self._previous
            while index >= 0:
                events.append(log[index].event)
                index = previous[index]
            version = log[last].stream_version if last >= 0 else 0
        finally:
            lock.release()
        events.reverse()
        if self._encoded:
            events = [self._decode_event(e) if type(e) is EncodedEvent else e for e in events]
        return version, events

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
        return dataclasses.replace(record, event=self._decode_event(record.event))

    def _decode_event(self, encoded: Any) -> Event:
        """The event stored as ``encoded`` (an :class:`EncodedEvent`), upcast to the current
        schema."""
        return self.registry.decode(encoded.type_name, encoded.schema_version, encoded.data)

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call ``subscriber(head)`` after every append; returns a function that unsubscribes."""
        return self._subscribers.add(subscriber)

    def to_dataframe(self, after_position: int = 0, limit: int | None = None) -> pd.DataFrame:
        """The log as a table, one row per event (see :func:`log_frame`)."""
        return log_frame(self.read_all(after_position, limit))

    def __repr__(self) -> str:
        return f"InMemoryEventStore(head={self.head}, streams={len(self._last)})"


# One record per event and one receipt per append, each built as an unfrozen twin slot by slot
# and then given its frozen class (see construction.unfrozen_twin).
_RecordDraft = unfrozen_twin(RecordedEvent)
_ReceiptDraft = unfrozen_twin(Receipt)


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
