"""The simulation's own tiny domain: a command that adds an item, and a read model counting them.

It is deliberately cheap -- one handler that appends one event, one projection that adds one to a
counter -- so a simulation spends its time in the real bus, store, projector and waiter rather
than in domain logic. The counter is *not* idempotent, which is the point: applied twice, an
event counts twice, so a non-atomic checkpoint shows up as duplicates.

>>> from cqrs_lab.clock import ManualClock
>>> from cqrs_lab.command_bus import CommandBus
>>> from cqrs_lab.event_store import InMemoryEventStore
>>> from cqrs_lab.ids import SequentialIds
>>> from cqrs_lab.projector import Projector
>>> store = InMemoryEventStore(clock=ManualClock())
>>> bus = CommandBus(clock=ManualClock(), ids=SequentialIds("cmd"))
>>> register_item_handlers(bus, store)
>>> for key in ("item-1", "item-2", "item-1"):
...     _ = bus.dispatch(AddItem(key=key))
>>> projector = Projector(store, ItemCounts(name="counts"), ItemCountsModel("counts"))
>>> projector.catch_up()
3
>>> projector.read_model.get("item-1"), projector.read_model.total
(2, 3)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cqrs_lab.command_bus import CommandBus
from cqrs_lab.errors import CqrsLabError
from cqrs_lab.event_store import EventStore, Receipt
from cqrs_lab.messages import Command, CommandEnvelope, Event, Query, RecordedEvent
from cqrs_lab.pitfalls import CheckpointSavedEvery
from cqrs_lab.projection import Changes, InMemoryReadModel, Projection, ReadModel, RowReader
from cqrs_lab.query_bus import QueryBus

__all__ = [
    "AddItem",
    "CountItems",
    "ItemAdded",
    "ItemCounts",
    "ItemCountsModel",
    "NonAtomicCheckpoint",
    "PoisonEventError",
    "PoisonItemAdded",
    "register_item_handlers",
    "register_item_queries",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class AddItem(Command):
    """Add one item under ``key`` (a stream id); ``poison``: an event projections choke on."""

    key: str
    poison: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class ItemAdded(Event):
    """One item was added under ``key``."""

    key: str


@dataclass(frozen=True, kw_only=True, slots=True)
class PoisonItemAdded(Event):
    """An item was added, recorded in a shape a broken projection cannot handle."""

    key: str


@dataclass(frozen=True, kw_only=True)
class CountItems(Query):
    """How many items the read model ``projection`` counts under ``key``."""

    projection: str
    key: str


class PoisonEventError(CqrsLabError, ValueError):
    """Raised by :class:`ItemCounts` on a poison event while it is broken."""


def register_item_handlers(bus: CommandBus, store: EventStore) -> None:
    """Register the handler of :class:`AddItem` on ``bus``: it appends one event to ``store``."""

    def add_item(envelope: CommandEnvelope[AddItem]) -> Receipt:
        command = envelope.command
        event = PoisonItemAdded(key=command.key) if command.poison else ItemAdded(key=command.key)
        return store.append(command.key, (event,), cause=envelope)

    bus.register(AddItem, add_item)


def register_item_queries(bus: QueryBus, model_for: Callable[[str], ReadModel[int]]) -> None:
    """Answer :class:`CountItems` from ``model_for(projection)``, looked up at each query.

    Looked up each time because a blue/green rebuild swaps the live read model.
    """

    def count_items(query: CountItems) -> int:
        return model_for(query.projection).get(query.key) or 0

    bus.register(CountItems, count_items)


class ItemCounts(Projection[int]):
    """Counts items per key; fails on poison events while ``broken`` and ``failures_left`` allow.

    ``failures_left`` None means it fails on every poison event until :meth:`fix` is called; a
    number means only that many times (a transient fault a retry gets past).
    """

    handles = frozenset({"ItemAdded", "PoisonItemAdded"})

    def __init__(
        self, failures: int | None = None, *, broken: bool = True, name: str = "item_counts"
    ) -> None:
        self.name = name  # one simulation runs several of them, each under its own name
        self.broken = broken
        self.failures_left = failures
        self.failed = 0

    def fix(self) -> None:
        """Deploy the fix: poison events count like any other from now on."""
        self.broken = False

    def project(self, record: RecordedEvent, view: RowReader[int]) -> Changes:
        """One more item under the event's key."""
        key = record.stream_id
        if record.event_type == "PoisonItemAdded" and self.broken:
            left = self.failures_left
            if left is None or left > 0:
                self.failed += 1
                if left is not None:
                    self.failures_left = left - 1
                raise PoisonEventError(f"cannot count poison item {key!r} at {record.position}")
        return {key: (view.get(key) or 0) + 1}


class ItemCountsModel(InMemoryReadModel[int]):
    """The counters, plus ``total``: how many items they hold in all (kept as rows change)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.total = 0

    def _on_change(self, key: str, before: int | None, after: int | None) -> None:
        self.total += (after or 0) - (before or 0)

    def _on_clear(self) -> None:
        self.total = 0


class NonAtomicCheckpoint(CheckpointSavedEvery[int]):
    """The pitfall :class:`~cqrs_lab.pitfalls.CheckpointSavedEvery` over the item counters.

    Rows are written at once, the checkpoint saved every ``every`` events; :meth:`crash` makes
    the restarted process count the unsaved events a second time, which ``total`` shows.
    """

    def __init__(self, durable: ItemCountsModel, every: int) -> None:
        super().__init__(durable, every)
        self.counters = durable

    @property
    def total(self) -> int:
        """How many items the rows hold in all."""
        return self.counters.total
