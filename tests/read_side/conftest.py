"""Fixtures of the read-side tests: a clock that stands still, an empty store, a tag projector.

They override the top-level ``clock`` (which ticks on every reading) and ``store`` (which knows
the Order events) for the tests in this folder, which count tags (``readside_support``) and
move time only when they say so.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from readside_support import TagCounts

from cqrs_lab.clock import ManualClock
from cqrs_lab.consistency import ConsistencyWaiter
from cqrs_lab.event_store import InMemoryEventStore
from cqrs_lab.projector import Projector


@pytest.fixture
def clock() -> ManualClock:
    """A clock that moves only when told."""
    return ManualClock()


@pytest.fixture
def store(clock: ManualClock) -> InMemoryEventStore:
    """An empty store stamped by ``clock``."""
    return InMemoryEventStore(clock=clock)


@pytest.fixture
def projector(store: InMemoryEventStore) -> Iterator[Projector[int]]:
    """A :class:`TagCounts` projector driven by hand unless a test starts it; stopped afterwards
    either way."""
    projector = Projector(store, TagCounts())
    yield projector
    projector.stop()


@pytest.fixture
def waiter(
    store: InMemoryEventStore, clock: ManualClock, projector: Projector[int]
) -> ConsistencyWaiter:
    """A waiter watching ``projector``."""
    return ConsistencyWaiter(store, [projector], clock=clock)
