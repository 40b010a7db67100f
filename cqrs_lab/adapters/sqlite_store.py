"""An event store in SQLite with the contract of the in-memory one.

One table holds the log. Its ``INTEGER PRIMARY KEY AUTOINCREMENT`` column is the global position,
so ``read_all(after_position, limit)`` is a range scan of the primary key; ``UNIQUE(stream_id,
stream_version)`` is both the optimistic-concurrency guard and the index ``read_stream`` uses. An
append checks the stream's version and inserts its events in one ``BEGIN IMMEDIATE``
transaction: a rejected append rolls back before it takes a position, so positions have no gaps.

>>> from dataclasses import dataclass
>>> from cqrs_lab.clock import ManualClock
>>> @dataclass(frozen=True, kw_only=True)
... class Noted(Event):
...     text: str
>>> store = SqliteEventStore(":memory:", clock=ManualClock())
>>> store.append("note-1", [Noted(text="hi"), Noted(text="there")], expected_version=NO_STREAM)
Receipt(stream_id='note-1', stream_version=2, position=2, command_id='')
>>> [r.event.text for r in store.read_all(after_position=1)]
['there']
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from cqrs_lab.adapters.sql_events import EVENT_COLUMNS, EventRow, SqlEventStore, recorded_events
from cqrs_lab.adapters.sqlite_database import SqliteDatabase, open_database
from cqrs_lab.clock import Clock
from cqrs_lab.errors import ConcurrencyError, InvalidArgumentError
from cqrs_lab.event_store import ANY_VERSION, NO_STREAM, check_from_version, check_read_arguments
from cqrs_lab.messages import CommandEnvelope, Event, Metadata, Receipt, RecordedEvent
from cqrs_lab.upcasting import EventRegistry

__all__ = ["SCHEMA", "SqliteEventStore"]

_ = NO_STREAM  # used by the doctest above

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS events (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    stream_id TEXT NOT NULL,
    stream_version INTEGER NOT NULL CHECK (stream_version >= 1),
    recorded_at TEXT NOT NULL,
    event_type TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    data TEXT NOT NULL,
    correlation_id TEXT NOT NULL DEFAULT '',
    causation_id TEXT NOT NULL DEFAULT '',
    UNIQUE (stream_id, stream_version)
)
"""
"""The log's table: position is the global position, (stream_id, stream_version) is unique."""

_HEAD: Final = "SELECT COALESCE(MAX(position), 0) FROM events"
_VERSION: Final = "SELECT COALESCE(MAX(stream_version), 0) FROM events WHERE stream_id = ?"
_INSERT: Final = (
    "INSERT INTO events (stream_id, stream_version, recorded_at, event_type, schema_version, "
    "data, correlation_id, causation_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_READ_ALL: Final = (
    f"SELECT {EVENT_COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?"
)
_READ_STREAM: Final = (
    f"SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = ? AND stream_version >= ? "
    "ORDER BY stream_version"
)
_STREAM_IDS: Final = "SELECT DISTINCT stream_id FROM events ORDER BY stream_id"


class SqliteEventStore(SqlEventStore):
    """A thread-safe event store in a SQLite database, same contract as the in-memory store.

    ``append`` and ``append_encoded`` (from :class:`~cqrs_lab.adapters.sql_events.SqlEventStore`)
    check the events and turn them into rows; :meth:`_append` writes them in one transaction.

    Args:
        database: a file path, ``":memory:"``, an open :class:`sqlite3.Connection`, or a
            :class:`~cqrs_lab.adapters.sqlite_database.SqliteDatabase` shared with a read model.
        registry: knows the event classes by their stored names and upcasts old schemas on
            read. A class appended that it does not know yet is registered on the way in;
            another process reading the file needs a registry that knows it.
        clock: stamps ``recorded_at``.

    Subscribers are told of appends made through this object, after they commit; appends by
    another process to the same file are read but not announced.
    """

    def __init__(
        self,
        database: str | os.PathLike[str] | sqlite3.Connection | SqliteDatabase = ":memory:",
        registry: EventRegistry | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.db = open_database(database)
        self._owns_db = self.db is not database
        super().__init__(registry, clock)
        with self.db.transaction() as connection:
            connection.execute(SCHEMA)

    @property
    def head(self) -> int:
        """The global position of the last event, 0 when empty."""
        row = self.db.fetchone(_HEAD)
        return int(row[0]) if row else 0

    def __len__(self) -> int:
        return self.head  # positions have no gaps

    def stream_version(self, stream_id: str) -> int:
        """The version of ``stream_id``: its number of events, 0 if it does not exist."""
        row = self.db.fetchone(_VERSION, (stream_id,))
        return int(row[0]) if row else 0

    def stream_ids(self) -> list[str]:
        """Every stream id, sorted."""
        return [row[0] for row in self.db.fetchall(_STREAM_IDS)]

    def _append(
        self, stream_id: str, rows: list[EventRow], expected_version: int, ids: tuple[str, str]
    ) -> Receipt:
        """Check the stream's version and insert ``rows`` in one ``BEGIN IMMEDIATE`` transaction."""
        with self.db.transaction() as connection:
            receipt = self._insert(connection, stream_id, rows, expected_version, ids)
        self.announce(receipt.position)
        return receipt

    def append_in(
        self,
        connection: sqlite3.Connection,
        stream_id: str,
        events: Sequence[Event],
        expected_version: int = ANY_VERSION,
        *,
        metadata: Metadata | None = None,
        cause: CommandEnvelope[Any] | None = None,
    ) -> Receipt:
        """:meth:`append` inside a transaction the caller holds open on this store's database.

        ``connection`` is what ``store.db.transaction()`` yielded: the caller may write more in
        the same transaction (a read model's rows, say), and its commit or rollback decides for
        the events too. Subscribers are not told: call :meth:`announce` after the commit.
        """
        if connection is not self.db.connection or not connection.in_transaction:
            raise InvalidArgumentError(
                "append_in needs the connection of an open store.db.transaction(), "
                "found another connection, or one with no transaction open"
            )
        rows, ids = self._checked(stream_id, events, expected_version, metadata, cause)
        return self._insert(connection, stream_id, rows, expected_version, ids)

    def _insert(
        self,
        connection: sqlite3.Connection,
        stream_id: str,
        rows: list[EventRow],
        expected_version: int,
        ids: tuple[str, str],
    ) -> Receipt:
        version = connection.execute(_VERSION, (stream_id,)).fetchone()[0]
        if expected_version != ANY_VERSION and expected_version != version:
            raise ConcurrencyError(stream_id, expected_version, version)
        recorded_at = self._clock.now().isoformat()
        correlation, causation = ids
        try:
            connection.executemany(
                _INSERT,
                [
                    (stream_id, version + i, recorded_at, t, s, data, correlation, causation)
                    for i, (t, s, data) in enumerate(rows, start=1)
                ],
            )
        except sqlite3.IntegrityError:  # only another writer ignoring the lock gets here
            actual = connection.execute(_VERSION, (stream_id,)).fetchone()[0]
            raise ConcurrencyError(stream_id, expected_version, actual) from None
        position = connection.execute("SELECT last_insert_rowid()").fetchone()[0]
        return Receipt(stream_id, version + len(rows), position, causation)

    def read_stream(self, stream_id: str, from_version: int = 1) -> list[RecordedEvent]:
        """Events of one stream from ``from_version`` (inclusive); empty if there is none."""
        check_from_version(from_version)
        return self._records(self.db.fetchall(_READ_STREAM, (stream_id, from_version)))

    def read_all(self, after_position: int = 0, limit: int | None = None) -> list[RecordedEvent]:
        """Up to ``limit`` events with position > ``after_position`` (exclusive), in order.

        A range scan of the primary key: the cost follows ``limit``, not the size of the log.
        """
        check_read_arguments(after_position, limit)
        bound = -1 if limit is None else limit  # LIMIT -1: no limit
        return self._records(self.db.fetchall(_READ_ALL, (after_position, bound)))

    def _records(self, rows: list[tuple[Any, ...]]) -> list[RecordedEvent]:
        return recorded_events(rows, datetime.fromisoformat, self.codec.loads)  # JSON text

    def close(self) -> None:
        """Close the database if this store opened it."""
        if self._owns_db:
            self.db.close()

    def __repr__(self) -> str:
        return f"SqliteEventStore({self.db.path or '<connection>'!r}, head={self.head})"
