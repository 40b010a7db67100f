"""An event store in PostgreSQL, with the contract of the in-memory one (the ``postgres`` extra).

The hard part: global positions a projector can trust
-----------------------------------------------------

A projector reads ``read_all(after_position=checkpoint)`` and moves its checkpoint past what it
read. That is safe only if, once position *p* is visible, no position below *p* can still
appear. Take positions from a sequence (``BIGSERIAL``) and it fails under concurrency: writer A
draws 41, writer B draws 42 and commits first; a projector reads 42 and checkpoints it; then A
commits 41, which the projector never reads. Nothing errs: an order silently never reaches its
view (:mod:`cqrs_lab.adapters.postgres_naive_positions` shows it happen).

This store serialises the step that takes positions. A one-row table, ``event_log_head``,
holds the last position given out; an append *starts* with::

    UPDATE event_log_head SET position = position + n RETURNING position

which locks that row until the transaction ends. The next append waits there until this one has
committed (or rolled back), then sees its result. So positions are handed out in commit order:
when position *p* is visible, every lower position is visible too, and ``read_all`` never skips
a committed event. A rejected or failed append rolls the counter back with everything else, so
positions have no gaps -- the projector, which counts events by positions, relies on that.
Because the lock is taken first, the stream's version is read under it, and an append with a
stale expected version is refused with :class:`~cqrs_lab.errors.ConcurrencyError` before it
writes; ``UNIQUE (stream_id, stream_version)`` stays as the backstop.

The price: appends commit one at a time, so throughput is bounded by commit latency (what
``benchmarks/bench_postgres.py`` measures; batch events per append to amortise it).
eventsourcing pays the same price with ``LOCK TABLE ... IN EXCLUSIVE MODE``; a transaction-level
advisory lock would do the same; Marten instead lets writers race and has readers wait for the
gaps below a "high-water mark" to fill, which scales further and is harder to get right.

Each append also runs ``pg_notify`` on the events channel with its last position; PostgreSQL
delivers it when -- and only if -- the transaction commits, to every process that listens (see
:mod:`cqrs_lab.adapters.postgres_listener`). ``subscribe`` hears, as with SQLite, the appends
made through this object, after they commit.

Usage (with a server)::

    store = PostgresEventStore("postgresql://127.0.0.1/test", registry, clock)
    store.append("note-1", [Noted(text="hi")], expected_version=NO_STREAM)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final

from psycopg import errors as pg_errors

from cqrs_lab.adapters.postgres_database import EVENTS_CHANNEL, PostgresDatabase
from cqrs_lab.clock import Clock, SystemClock
from cqrs_lab.codec import EncodedEvent, EventCodec
from cqrs_lab.errors import ConcurrencyError, InvalidArgumentError, UnknownEventTypeError
from cqrs_lab.event_store import (
    ANY_VERSION,
    check_append_arguments,
    check_read_arguments,
    log_frame,
    provenance,
)
from cqrs_lab.messages import CommandEnvelope, Event, Metadata, Receipt, RecordedEvent
from cqrs_lab.subscriptions import Subscriber, Subscribers, notify_subscribers
from cqrs_lab.upcasting import EventRegistry

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SCHEMA", "PostgresEventStore"]

SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS events (
        position BIGINT PRIMARY KEY CHECK (position >= 1),
        stream_id TEXT NOT NULL,
        stream_version INTEGER NOT NULL CHECK (stream_version >= 1),
        recorded_at TIMESTAMPTZ NOT NULL,
        event_type TEXT NOT NULL,
        schema_version INTEGER NOT NULL,
        data JSON NOT NULL,
        correlation_id TEXT NOT NULL DEFAULT '',
        causation_id TEXT NOT NULL DEFAULT '',
        UNIQUE (stream_id, stream_version)
    )""",
    """CREATE TABLE IF NOT EXISTS event_log_head (
        one_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one_row),
        position BIGINT NOT NULL CHECK (position >= 0)
    )""",
    "INSERT INTO event_log_head (one_row, position) VALUES (TRUE, 0) ON CONFLICT DO NOTHING",
)
"""The log (``json`` keeps the data as written, and lets SQL look inside) and its head counter."""

_COLUMNS: Final = (
    "position, stream_id, stream_version, recorded_at, event_type, schema_version, data, "
    "correlation_id, causation_id"
)
_HEAD: Final = "SELECT position FROM event_log_head"
_TAKE_POSITIONS: Final = "UPDATE event_log_head SET position = position + %s RETURNING position"
_VERSION: Final = "SELECT COALESCE(MAX(stream_version), 0) FROM events WHERE stream_id = %s"
_INSERT: Final = (
    "INSERT INTO events (position, stream_id, stream_version, recorded_at, event_type, "
    "schema_version, data, correlation_id, causation_id) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_NOTIFY: Final = "SELECT pg_notify(%s, %s)"
_READ_ALL: Final = f"SELECT {_COLUMNS} FROM events WHERE position > %s ORDER BY position LIMIT %s"
_READ_STREAM: Final = (
    f"SELECT {_COLUMNS} FROM events WHERE stream_id = %s AND stream_version >= %s "
    "ORDER BY stream_version"
)
_STREAM_IDS: Final = "SELECT DISTINCT stream_id FROM events ORDER BY stream_id"

_Row = tuple[str, int, str]  # event type, schema version, JSON text: what one insert needs


def _scalar(row: tuple[Any, ...] | None) -> int:
    """The integer a one-row, one-column statement returned (0 for no row)."""
    return int(row[0]) if row else 0


class PostgresEventStore:
    """A thread- and process-safe event store in PostgreSQL, same contract as the in-memory one.

    Args:
        database: a ``postgresql://`` URL, or a
            :class:`~cqrs_lab.adapters.postgres_database.PostgresDatabase` shared with a read
            model (closing the store then leaves it open).
        registry: knows the event classes by their stored names and upcasts old schemas on read;
            a class appended that it does not know yet is registered on the way in.
        clock: stamps ``recorded_at``.
    """

    def __init__(
        self,
        database: str | PostgresDatabase,
        registry: EventRegistry | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.db = database if isinstance(database, PostgresDatabase) else PostgresDatabase(database)
        self._owns_db = self.db is not database
        self.registry = registry or EventRegistry()
        self.codec = EventCodec(self.registry)
        self._clock: Clock = clock or SystemClock()
        self._subscribers = Subscribers()
        self._known_types: set[type[Event]] = set()
        self.channel = self.db.channel(EVENTS_CHANNEL)
        with self.db.schema_transaction("creating the event tables") as connection:
            for statement in SCHEMA:
                connection.execute(statement)

    @property
    def head(self) -> int:
        """The global position of the last event, 0 when empty."""
        return _scalar(self.db.fetchone(_HEAD))

    def __len__(self) -> int:
        return self.head  # positions have no gaps

    def stream_version(self, stream_id: str) -> int:
        """The version of ``stream_id``: its number of events, 0 if it does not exist."""
        return _scalar(self.db.fetchone(_VERSION, (stream_id,)))

    def stream_ids(self) -> list[str]:
        """Every stream id, sorted."""
        return [row[0] for row in self.db.fetchall(_STREAM_IDS)]

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
        both versions; a lost connection raises
        :class:`~cqrs_lab.errors.StoreUnavailableError` and leaves nothing half-written.
        Subscribers are notified after the commit. The events' correlation and causation ids
        come from ``metadata`` or from ``cause``, the envelope of the command they answer.
        """
        check_append_arguments(stream_id, events, expected_version)
        rows: list[_Row] = []
        for event in events:
            if not isinstance(event, Event):
                raise InvalidArgumentError(
                    f"append to {stream_id!r} takes Event instances, found {type(event).__name__}"
                )
            if type(event) not in self._known_types:
                self._learn(type(event))
            encoded = self.codec.encode(event)
            rows.append((encoded.type_name, encoded.schema_version, self.codec.dumps(encoded)))
        ids = provenance(metadata, cause)  # checked after the events, as in every store
        return self._append(stream_id, rows, expected_version, ids)

    def _learn(self, event_type: type[Event]) -> None:
        try:
            known: type[Event] | None = self.registry.event_type(event_type.type_name)
        except UnknownEventTypeError:
            known = None
        if known is not event_type:
            self.registry.register(event_type)  # refuses a name taken by another class
        self._known_types.add(event_type)

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
        encoded = list(events)
        check_append_arguments(stream_id, encoded, expected_version)
        rows: list[_Row] = []
        for item in encoded:
            checked = self.codec.checked(item)
            rows.append((checked.type_name, checked.schema_version, self.codec.dumps(checked)))
        ids = provenance(metadata, cause)
        return self._append(stream_id, rows, expected_version, ids)

    def _append(
        self, stream_id: str, rows: list[_Row], expected_version: int, ids: tuple[str, str]
    ) -> Receipt:
        try:
            with self.db.transaction(f"appending to {stream_id!r}") as connection:
                # first, so that appends take positions (and read versions) one at a time
                position = _scalar(connection.execute(_TAKE_POSITIONS, (len(rows),)).fetchone())
                version = _scalar(connection.execute(_VERSION, (stream_id,)).fetchone())
                if expected_version != ANY_VERSION and expected_version != version:
                    raise ConcurrencyError(stream_id, expected_version, version)
                recorded_at = self._clock.now()
                before = position - len(rows)  # the events take before + 1 ... position
                with connection.cursor() as cursor:
                    cursor.executemany(
                        _INSERT,
                        [
                            (before + i, stream_id, version + i, recorded_at, t, s, data, *ids)
                            for i, (t, s, data) in enumerate(rows, start=1)
                        ],
                    )
                connection.execute(_NOTIFY, (self.channel, str(position)))  # sent at COMMIT
        except pg_errors.UniqueViolation:  # only a writer bypassing the head counter gets here
            raise ConcurrencyError(
                stream_id, expected_version, self.stream_version(stream_id)
            ) from None
        receipt = Receipt(stream_id, version + len(rows), position, ids[1])
        subscribers = self._subscribers.current
        if subscribers:
            notify_subscribers(subscribers, position)
        return receipt

    def read_stream(self, stream_id: str, from_version: int = 1) -> list[RecordedEvent]:
        """Events of one stream from ``from_version`` (inclusive); empty if there is none."""
        if from_version < 1:
            raise InvalidArgumentError(f"from_version must be >= 1, found {from_version}")
        return self._records(self.db.fetchall(_READ_STREAM, (stream_id, from_version)))

    def read_all(self, after_position: int = 0, limit: int | None = None) -> list[RecordedEvent]:
        """Up to ``limit`` events with position > ``after_position`` (exclusive), in order.

        A range scan of the primary key; never skips a committed event (see above).
        """
        check_read_arguments(after_position, limit)
        return self._records(self.db.fetchall(_READ_ALL, (after_position, limit)))  # NULL: all

    def _records(self, rows: list[tuple[Any, ...]]) -> list[RecordedEvent]:
        decode = self.codec.decode
        return [
            RecordedEvent(
                position,
                stream,
                version,
                at,
                event_type,
                schema,
                decode(EncodedEvent(event_type, schema, data)),  # psycopg parsed the JSON
                corr,
                caus,
            )
            for position, stream, version, at, event_type, schema, data, corr, caus in rows
        ]

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call ``subscriber(head)`` after every append made through this object.

        Appends by other processes are announced on the events channel instead (see
        :class:`~cqrs_lab.adapters.postgres_listener.PostgresListener`).
        """
        return self._subscribers.add(subscriber)

    def to_dataframe(self, after_position: int = 0, limit: int | None = None) -> pd.DataFrame:
        """The log as a table, one row per event (see :func:`~cqrs_lab.event_store.log_frame`)."""
        return log_frame(self.read_all(after_position, limit))

    def close(self) -> None:
        """Close the connection pool if this store opened it."""
        if self._owns_db:
            self.db.close()

    def __enter__(self) -> PostgresEventStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PostgresEventStore({self.db.safe_url!r}, schema={self.db.schema!r})"
