"""A tiny test-only domain for the read-side core: tags counted per name.

``Tagged(tag)`` events are counted by :class:`TagCounts`; ``Noted`` events are handled by no
projection (they only move checkpoints). :class:`PoisonAware` raises on the tag ``"poison"``
until it is ``fixed``; :class:`Flaky` raises on it a given number of times, then succeeds.

The tests in ``read_side/`` share fixtures built on these (``read_side/conftest.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from cqrs_lab.clock import ManualClock
from cqrs_lab.event_store import InMemoryEventStore, Receipt
from cqrs_lab.messages import Event, RecordedEvent
from cqrs_lab.projection import Changes, Projection, ReadModel, RowReader

POISON = "poison"


@dataclass(frozen=True, kw_only=True)
class Tagged(Event):
    tag: str


@dataclass(frozen=True, kw_only=True)
class Noted(Event):
    text: str


class PoisonError(Exception):
    """Raised by a test projection on the poison event."""


def tag_of(record: RecordedEvent) -> str:
    event = record.event
    assert isinstance(event, Tagged)
    return event.tag


class TagCounts(Projection[int]):
    """How many times each tag was seen."""

    name = "tag_counts"
    handles = frozenset({"Tagged"})

    def project(self, record: RecordedEvent, view: RowReader[int]) -> Changes:
        tag = tag_of(record)
        return {tag: (view.get(tag) or 0) + 1}


class OtherCounts(TagCounts):
    """The same counts under another name, for a second projector."""

    name = "other_counts"


class DoubleCounts(TagCounts):
    """A new version of the counts (each tag counts twice), to rebuild into."""

    def project(self, record: RecordedEvent, view: RowReader[int]) -> Changes:
        tag = tag_of(record)
        return {tag: (view.get(tag) or 0) + 2}


class PoisonAware(TagCounts):
    """Counts tags but raises on ``"poison"`` until ``fixed`` is set."""

    def __init__(self) -> None:
        self.fixed = False
        self.calls_on_poison = 0

    def project(self, record: RecordedEvent, view: RowReader[int]) -> Changes:
        if tag_of(record) == POISON:
            self.calls_on_poison += 1
            if not self.fixed:
                raise PoisonError(f"cannot count {POISON!r} at position {record.position}")
        return super().project(record, view)


class Flaky(TagCounts):
    """Raises on ``"poison"`` the first ``failures`` times it sees it, then counts it."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls_on_poison = 0

    def project(self, record: RecordedEvent, view: RowReader[int]) -> Changes:
        if tag_of(record) == POISON:
            self.calls_on_poison += 1
            if self.calls_on_poison <= self.failures:
                raise PoisonError(f"attempt {self.calls_on_poison} failed")
        return super().project(record, view)


def new_store() -> tuple[InMemoryEventStore, ManualClock]:
    """An empty store stamped by a clock that moves only when told."""
    clock = ManualClock()
    return InMemoryEventStore(clock=clock), clock


def append_tags(store: InMemoryEventStore, *tags: str, stream: str = "tags") -> Receipt:
    """Append one ``Tagged`` event per tag, each in its own append; the last receipt."""
    receipt: Receipt | None = None
    for tag in tags:
        receipt = store.append(stream, [Tagged(tag=tag)])
    assert receipt is not None, "append_tags needs at least one tag"
    return receipt


def counts(tags: list[str], weight: int = 1) -> dict[str, int]:
    """The rows :class:`TagCounts` (or, with ``weight=2``, :class:`DoubleCounts`) should hold."""
    result: dict[str, int] = {}
    for tag in tags:
        result[tag] = result.get(tag, 0) + weight
    return result


class Pauses:
    """An injected ``pause`` that records the delays instead of sleeping."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def rows_of(model: ReadModel[int]) -> dict[str, int | None]:
    """Every row of a read model, as a dict."""
    return {key: model.get(key) for key in model.keys()}  # noqa: SIM118 -- a ReadModel has no __iter__
