"""Read models written in the append's own transaction: CQRS with no lag at all.

CQRS separates the model that decides (the aggregate and its events) from the models that answer
queries; it does not say the answers must trail the writes. When the events and a read model live
in one SQLite database, an append can insert its events, apply them to the read model's rows and
move its checkpoint in a single transaction. A read after the write is then never stale, with no
projector and no waiter. The price: every write waits for every such read model, all of them
must live in the store's database, and a projection that fails refuses the write.

>>> from dataclasses import dataclass
>>> from cqrs_lab.adapters.sqlite_store import SqliteEventStore
>>> from cqrs_lab.messages import Event
>>> @dataclass(frozen=True, kw_only=True)
... class Tagged(Event):
...     tag: str
>>> class TagCounts(Projection[int]):
...     name = "tag_counts"
...     handles = frozenset({"Tagged"})
...     def project(self, record, view):
...         return {record.event.tag: (view.get(record.event.tag) or 0) + 1}
>>> class Counts(SqliteReadModel[int]):
...     default_table = "tag_counts"
...     key_column = "tag"
...     columns = ("tag", "n")
...     ddl = ("CREATE TABLE IF NOT EXISTS {table} (tag TEXT PRIMARY KEY, n INTEGER NOT NULL)",)
...     def to_columns(self, key, row):
...         return (key, row)
...     def from_columns(self, values):
...         return values[1]
>>> events = SqliteEventStore(":memory:")
>>> counts = Counts(events.db)  # the store's database: one connection, one transaction
>>> store = SameTransactionStore(events, [(TagCounts(), counts)])
>>> store.append("post-1", [Tagged(tag="cqrs"), Tagged(tag="cqrs")]).position
2
>>> counts.get("cqrs"), counts.checkpoint  # at the head the moment append returns
(2, 2)
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from cqrs_lab.adapters.sqlite_read_model import SqliteReadModel, read_checkpoint
from cqrs_lab.adapters.sqlite_store import SqliteEventStore
from cqrs_lab.batch import Overlay
from cqrs_lab.errors import InvalidArgumentError
from cqrs_lab.event_store import ANY_VERSION
from cqrs_lab.failures import project_checked
from cqrs_lab.messages import CommandEnvelope, Event, Metadata, Receipt, RecordedEvent
from cqrs_lab.projection import Projection, check_projection
from cqrs_lab.subscriptions import Subscriber
from cqrs_lab.upcasting import EventRegistry

__all__ = ["SameTransactionStore", "View"]

View = tuple[Projection[Any], SqliteReadModel[Any]]
"""A projection and the SQLite read model it fills."""


class SameTransactionStore:
    """An event store whose appends also bring read models up to date, in the same transaction.

    It wraps a :class:`~cqrs_lab.adapters.sqlite_store.SqliteEventStore` and offers the same
    :class:`~cqrs_lab.event_store.EventStore` protocol, so a repository or a command handler
    takes it in the store's place. Each append opens one transaction on the store's database,
    inserts the events (:meth:`SqliteEventStore.append_in`), lets every projection turn them
    into row changes, and commits those rows with the read model's checkpoint
    (:meth:`SqliteReadModel.commit_in`) before the transaction commits. If anything in it
    raises -- a conflict, a projection's bug, a row that cannot be stored -- the transaction
    rolls back whole: no event, no row, no checkpoint moved, nothing half written.

    Args:
        store: the event store; its subscribers (an asynchronous projector, a waiter) are still
            told of every append, after the commit.
        views: (projection, read model) pairs; each read model must be built on the store's
            :class:`~cqrs_lab.adapters.sqlite_database.SqliteDatabase`, so that one transaction
            covers both. Views behind the log (new ones, say) are caught up when this is built.

    Append only through this object: an append made on ``store`` itself skips the views until
    the next append here (which then catches them up, in its own transaction).
    """

    def __init__(self, store: SqliteEventStore, views: Iterable[View]) -> None:
        self.store = store
        self.views: list[View] = list(views)
        names: set[str] = set()
        for projection, model in self.views:
            check_projection(projection, store.registry)
            if model.db is not store.db:
                raise InvalidArgumentError(
                    f"read model {model.name!r} must be built on the store's SqliteDatabase "
                    f"(the object itself, e.g. SqliteOrderViews(store.db)), found {model.db!r}: "
                    f"one transaction cannot span two connections"
                )
            if model.name in names:
                raise InvalidArgumentError(
                    f"two read models are named {model.name!r}; expected one checkpoint each"
                )
            names.add(model.name)
        self.catch_up()

    @property
    def head(self) -> int:
        """The global position of the last event, 0 when empty."""
        return self.store.head

    @property
    def registry(self) -> EventRegistry:
        """The store's event registry (a projector checks its projection's names against it)."""
        return self.store.registry

    def append(
        self,
        stream_id: str,
        events: Sequence[Event],
        expected_version: int = ANY_VERSION,
        *,
        metadata: Metadata | None = None,
        cause: CommandEnvelope[Any] | None = None,
    ) -> Receipt:
        """Append ``events`` and project them into every view, all in one transaction.

        Raises what the store raises (:class:`~cqrs_lab.errors.ConcurrencyError` on a version
        mismatch) or what a projection raises, with a note naming the view; either way nothing
        was written. Subscribers are told after the commit.
        """
        with self.store.db.transaction() as connection:
            receipt = self.store.append_in(
                connection,
                stream_id,
                events,
                expected_version,
                metadata=metadata,
                cause=cause,
            )
            self._project(connection)
        self.store.announce(receipt.position)
        return receipt

    def catch_up(self) -> None:
        """Bring every view to the head, in one transaction (views built on an existing log)."""
        with self.store.db.transaction() as connection:
            self._project(connection)

    def _project(self, connection: sqlite3.Connection) -> None:
        for projection, model in self.views:
            # the store reads through the same connection: it sees this transaction's events
            records = self.store.read_all(after_position=read_checkpoint(connection, model.name))
            if records:
                changes = _changes(projection, model, records)
                model.commit_in(connection, records[-1].position, changes)

    def read_stream(self, stream_id: str, from_version: int = 1) -> list[RecordedEvent]:
        """Events of one stream from ``from_version`` (inclusive); empty if there is none."""
        return self.store.read_stream(stream_id, from_version)

    def read_all(self, after_position: int = 0, limit: int | None = None) -> list[RecordedEvent]:
        """Up to ``limit`` events with position > ``after_position`` (exclusive), in order."""
        return self.store.read_all(after_position, limit)

    def stream_version(self, stream_id: str) -> int:
        """The version of ``stream_id``: its number of events, 0 if it does not exist."""
        return self.store.stream_version(stream_id)

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call ``subscriber(head)`` after every append; returns a function that unsubscribes."""
        return self.store.subscribe(subscriber)

    def __repr__(self) -> str:
        names = [model.name for _, model in self.views]
        return f"SameTransactionStore(head={self.head}, views={names})"


def _changes(
    projection: Projection[Any], model: SqliteReadModel[Any], records: list[RecordedEvent]
) -> dict[str, Any]:
    """The row changes ``records`` cause, later events seeing earlier ones' changes."""
    overlay = Overlay(model)
    for record in records:
        if record.event_type in projection.handles:
            try:
                overlay.staged.update(project_checked(projection, record, overlay))
            except Exception as error:
                error.add_note(
                    f"projection {projection.name!r} failed on event {record.position} "
                    f"({record.event_type}) inside the append's transaction: the append is "
                    f"rolled back, nothing was written"
                )
                raise
    return overlay.staged
