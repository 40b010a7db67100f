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

from datetime import datetime
from typing import Any, Final

from psycopg import errors as pg_errors

from cqrs_lab.adapters.postgres_database import EVENTS_CHANNEL, PostgresDatabase
from cqrs_lab.adapters.sql_events import EVENT_COLUMNS, EventRow, SqlEventStore, recorded_events
from cqrs_lab.clock import Clock
from cqrs_lab.codec import EncodedEvent
from cqrs_lab.errors import ConcurrencyError
from cqrs_lab.event_store import ANY_VERSION, check_from_version, check_read_arguments
from cqrs_lab.messages import Event, Receipt, RecordedEvent
from cqrs_lab.upcasting import EventRegistry

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

_HEAD: Final = "SELECT position FROM event_log_head"
_TAKE_POSITIONS: Final = "UPDATE event_log_head SET position = position + %s RETURNING position"
_VERSION: Final = "SELECT COALESCE(MAX(stream_version), 0) FROM events WHERE stream_id = %s"
_INSERT: Final = (
    "INSERT INTO events (position, stream_id, stream_version, recorded_at, event_type, "
    "schema_version, data, correlation_id, causation_id) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_NOTIFY: Final = "SELECT pg_notify(%s, %s)"
_READ_ALL: Final = (
    f"SELECT {EVENT_COLUMNS} FROM events WHERE position > %s ORDER BY position LIMIT %s"
)
_READ_STREAM: Final = (
    f"SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = %s AND stream_version >= %s "
    "ORDER BY stream_version"
)
_STREAM_IDS: Final = "SELECT DISTINCT stream_id FROM events ORDER BY stream_id"


def _as_stored(recorded_at: datetime) -> datetime:
    """The time as read: psycopg returns a ``TIMESTAMPTZ`` as an aware datetime."""
    return recorded_at


def _scalar(row: tuple[Any, ...] | None) -> int:
    """The integer a one-row, one-column statement returned (0 for no row)."""
    return int(row[0]) if row else 0


class PostgresEventStore(SqlEventStore):
    """A thread- and process-safe event store in PostgreSQL, same contract as the in-memory one.

    ``append`` and ``append_encoded`` (from :class:`~cqrs_lab.adapters.sql_events.SqlEventStore`)
    check the events and turn them into rows; :meth:`_append` writes them in one transaction.

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
        super().__init__(registry, clock)
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

    def _append(
        self, stream_id: str, rows: list[EventRow], expected_version: int, ids: tuple[str, str]
    ) -> Receipt:
        """Take positions, check the stream's version, insert ``rows`` and notify, in one go."""
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
        self.announce(position)
        return receipt

    def read_stream(self, stream_id: str, from_version: int = 1) -> list[RecordedEvent]:
        """Events of one stream from ``from_version`` (inclusive); empty if there is none."""
        check_from_version(from_version)
        return self._records(self.db.fetchall(_READ_STREAM, (stream_id, from_version)))

    def read_all(self, after_position: int = 0, limit: int | None = None) -> list[RecordedEvent]:
        """Up to ``limit`` events with position > ``after_position`` (exclusive), in order.

        A range scan of the primary key; never skips a committed event (see above).
        """
        check_read_arguments(after_position, limit)
        return self._records(self.db.fetchall(_READ_ALL, (after_position, limit)))  # NULL: all

    def _records(self, rows: list[tuple[Any, ...]]) -> list[RecordedEvent]:
        return recorded_events(rows, _as_stored, self._event)

    def _event(self, event_type: str, schema_version: int, data: Any) -> Event:
        # psycopg parsed the JSON already: decode the data as it is
        return self.codec.decode(EncodedEvent(event_type, schema_version, data))

    def close(self) -> None:
        """Close the connection pool if this store opened it."""
        if self._owns_db:
            self.db.close()

    def __repr__(self) -> str:
        return f"PostgresEventStore({self.db.safe_url!r}, schema={self.db.schema!r})"
