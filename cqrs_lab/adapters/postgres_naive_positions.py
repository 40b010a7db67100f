"""A PITFALL, kept to be shown failing: global positions taken from a sequence.

Two miniature logs with one API, so a notebook can run the same interleaving on both:

- :class:`SequencePositions` numbers events with ``BIGSERIAL``, as most first attempts do. A
  sequence hands out numbers at INSERT time, not at COMMIT time, so transactions can commit
  out of order: append A takes 1, append B takes 2 and commits first, a reader checkpoints 2,
  and when A commits, position 1 is behind every reader's checkpoint. It is never read.
- :class:`CounterPositions` takes positions under the lock of a one-row counter, as
  :class:`~cqrs_lab.adapters.postgres_store.PostgresEventStore` does: while A is open, B cannot
  take a position at all, so positions become visible in order and no reader skips one.

Each append is opened on a connection of its own (:meth:`begin_append`) and committed later,
so the interleaving is written out step by step instead of left to chance. ``lock_timeout``
lets a notebook show B being made to wait without blocking the notebook.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import psycopg
from psycopg import errors as pg_errors

from cqrs_lab.adapters.postgres_database import PostgresDatabase
from cqrs_lab.errors import CqrsLabError

__all__ = ["CounterPositions", "MustWaitError", "OpenAppend", "Reader", "SequencePositions"]

_READ: Final = "SELECT position, stream_id, text FROM {table} WHERE position > %s ORDER BY position"


class MustWaitError(CqrsLabError, TimeoutError):
    """Raised when an append could not take a position within its ``lock_timeout``."""


@dataclass
class OpenAppend:
    """An append whose transaction is still open: it holds ``position``, not yet visible."""

    stream_id: str
    position: int
    connection: psycopg.Connection[Any] = field(repr=False)

    def commit(self) -> None:
        """Commit: the event becomes visible to readers now."""
        self.connection.commit()
        self.connection.close()

    def rollback(self) -> None:
        """Give up: nothing of the append remains."""
        self.connection.rollback()
        self.connection.close()


class SequencePositions:
    """THE PITFALL: positions from a sequence, handed out in INSERT order, visible in COMMIT
    order."""

    table = "naive_sequence_events"

    def __init__(self, database: PostgresDatabase) -> None:
        self.db = database
        with database.transaction("creating the naive log") as connection:
            connection.execute(f"DROP TABLE IF EXISTS {self.table}")
            connection.execute(
                f"CREATE TABLE {self.table} (position BIGSERIAL PRIMARY KEY, "
                "stream_id TEXT NOT NULL, text TEXT NOT NULL)"
            )

    def begin_append(self, stream_id: str, text: str, *, lock_timeout: float = 0) -> OpenAppend:
        """Insert one event in a transaction left open; ``lock_timeout`` has nothing to wait
        for here."""
        connection = self.db.connect()
        connection.autocommit = False
        row = connection.execute(
            f"INSERT INTO {self.table} (stream_id, text) VALUES (%s, %s) RETURNING position",
            (stream_id, text),
        ).fetchone()
        return OpenAppend(stream_id, int(row[0]) if row else 0, connection)

    def read_after(self, position: int) -> list[tuple[int, str, str]]:
        """Committed events after ``position``, in position order."""
        return self.db.fetchall(_READ.format(table=self.table), (position,))


class CounterPositions(SequencePositions):
    """The fix: positions taken under a one-row counter's lock, released at COMMIT."""

    table = "counter_events"

    def __init__(self, database: PostgresDatabase) -> None:
        with database.transaction("creating the counter log") as connection:
            connection.execute("DROP TABLE IF EXISTS counter_events_head")
            connection.execute("CREATE TABLE counter_events_head (position BIGINT NOT NULL)")
            connection.execute("INSERT INTO counter_events_head VALUES (0)")
        super().__init__(database)

    def begin_append(self, stream_id: str, text: str, *, lock_timeout: float = 0) -> OpenAppend:
        """Take the next position (waiting for any open append to end, at most
        ``lock_timeout`` seconds if given) and insert, in a transaction left open.

        Raises :class:`MustWaitError` if another append still holds the counter.
        """
        connection = self.db.connect()
        connection.autocommit = False
        if lock_timeout > 0:
            milliseconds = str(round(lock_timeout * 1000))  # bound, as every value here
            connection.execute("SELECT set_config('lock_timeout', %s, true)", (milliseconds,))
        try:
            row = connection.execute(
                "UPDATE counter_events_head SET position = position + 1 RETURNING position"
            ).fetchone()
        except pg_errors.LockNotAvailable:
            connection.rollback()
            connection.close()
            raise MustWaitError(
                f"append to {stream_id!r} must wait: another append holds the position counter "
                "until it commits"
            ) from None
        position = int(row[0]) if row else 0
        connection.execute(
            f"INSERT INTO {self.table} (position, stream_id, text) VALUES (%s, %s, %s)",
            (position, stream_id, text),
        )
        return OpenAppend(stream_id, position, connection)


class Reader:
    """A projector in miniature: reads after its checkpoint, then moves it to the last position
    read -- exactly what :class:`~cqrs_lab.projector.Projector` does."""

    def __init__(self, log: SequencePositions) -> None:
        self.log = log
        self.checkpoint = 0
        self.seen: list[str] = []

    def catch_up(self) -> list[int]:
        """Read what is committed after the checkpoint; returns the positions read."""
        records = self.log.read_after(self.checkpoint)
        for position, _, text in records:
            self.seen.append(text)
            self.checkpoint = position
        return [position for position, _, _ in records]
