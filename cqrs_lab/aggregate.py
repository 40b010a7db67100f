"""Event-sourced aggregates and the repository that loads and saves them.

An aggregate decides: its methods check the rules and *record* events; its state changes only by
applying events, whether just recorded or replayed from the store. The repository saves the
recorded events with the version the aggregate was loaded at, so two writers cannot both win.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from cqrs_lab.errors import AggregateNotFoundError
from cqrs_lab.event_store import NO_STREAM, EventStore
from cqrs_lab.messages import CommandEnvelope, Event, Receipt

__all__ = ["Aggregate", "Repository"]


class Aggregate:
    """Base class: subclasses implement :meth:`apply` and record events from their methods.

    ``version`` is the number of events already stored for this aggregate; events recorded since
    then wait in :attr:`pending_events` until a :class:`Repository` saves them.
    """

    def __init__(self, aggregate_id: str) -> None:
        self.id = aggregate_id
        self.version = 0
        self._pending: list[Event] = []

    def apply(self, event: Event) -> None:
        """Change state to reflect ``event``; never validate here, the event already happened."""
        raise NotImplementedError(f"{type(self).__name__} must implement apply(event)")

    def record(self, event: Event) -> None:
        """Apply a new event and keep it to be saved."""
        self.apply(event)
        self._pending.append(event)

    @property
    def pending_events(self) -> tuple[Event, ...]:
        """Events recorded since the aggregate was loaded or last saved."""
        return tuple(self._pending)

    def mark_saved(self, version: int) -> None:
        """Forget the pending events: they are stored, and the stream is at ``version``."""
        self._pending = []
        self.version = version


A = TypeVar("A", bound=Aggregate)


class Repository(Generic[A]):
    """Loads aggregates by replaying their stream and saves what they recorded.

    Args:
        store: where the streams live; the stream id is the aggregate id.
        factory: builds an empty aggregate for an id (usually the aggregate class itself).
        not_found: builds the error :meth:`load` raises for an id with no stream, so a domain
            can raise its own (default: :class:`AggregateNotFoundError`).
    """

    def __init__(
        self,
        store: EventStore,
        factory: Callable[[str], A],
        *,
        not_found: Callable[[str], Exception] | None = None,
    ) -> None:
        self.store = store
        self._factory = factory
        self._not_found = not_found or _aggregate_not_found

    def load(self, aggregate_id: str) -> A:
        """The aggregate rebuilt from all its events; the ``not_found`` error if there are none."""
        records = self.store.read_stream(aggregate_id)
        if not records:
            raise self._not_found(aggregate_id)
        aggregate = self._factory(aggregate_id)
        for record in records:
            aggregate.apply(record.event)
        aggregate.version = records[-1].stream_version
        return aggregate

    def save(self, aggregate: A, *, cause: CommandEnvelope[Any] | None = None) -> Receipt:
        """Append the aggregate's pending events, expecting the version it was loaded at.

        ``cause`` is the envelope of the command being handled: its id becomes the events'
        causation id.
        """
        expected = aggregate.version or NO_STREAM
        receipt = self.store.append(aggregate.id, aggregate.pending_events, expected, cause=cause)
        aggregate.mark_saved(receipt.stream_version)
        return receipt


def _aggregate_not_found(aggregate_id: str) -> Exception:
    return AggregateNotFoundError(f"no stream {aggregate_id!r} in the store")
