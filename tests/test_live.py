"""A live projector's thread never dies without saying so, and a waiter on it fails at once.

Nothing here sleeps: each wait ends on a notification; its timeout only bounds a wait that
would otherwise hang (and, before the fix, is what the waiter ran into).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest
from readside_support import TagCounts, append_tags, new_store

from cqrs_lab.consistency import ConsistencyWaiter
from cqrs_lab.errors import ProjectionFailedError, ProjectorCrashedError, ProjectorStoppedError
from cqrs_lab.event_store import InMemoryEventStore
from cqrs_lab.messages import RecordedEvent
from cqrs_lab.projection import Changes, InMemoryReadModel, RowReader
from cqrs_lab.projector import Projector

GENEROUS = 5.0  # a wait that works ends long before this


class ReturnsNothing(TagCounts):
    def project(self, record: RecordedEvent, view: RowReader[int]) -> Changes:
        super().project(record, view)  # and forgets to return it
        return None  # type: ignore[return-value]


class ReturnsNothingFor(TagCounts):
    def __init__(self, tag: str) -> None:
        self.tag = tag

    def project(self, record: RecordedEvent, view: RowReader[int]) -> Changes:
        changes = super().project(record, view)
        return None if self.tag in changes else changes  # type: ignore[return-value]


class BrokenIndex(InMemoryReadModel[int]):
    """A read model whose index hook raises on the tag ``"bad"``."""

    def _on_change(self, key: str, before: int | None, after: int | None) -> None:
        if key == "bad":
            raise KeyError("the index has no slot for 'bad'")


@pytest.fixture
def store() -> InMemoryEventStore:
    return new_store()[0]


@pytest.fixture
def started() -> Iterator[list[Projector[int]]]:
    projectors: list[Projector[int]] = []
    yield projectors
    for projector in projectors:
        projector.stop()


def test_a_projection_returning_none_stops_a_live_projector_and_fails_its_waiter_at_once(
    store: InMemoryEventStore, started: list[Projector[int]]
) -> None:
    projector = Projector(store, ReturnsNothing())
    waiter = ConsistencyWaiter(store, [projector])
    projector.start()
    started.append(projector)

    receipt = append_tags(store, "a")
    with pytest.raises(ProjectorStoppedError, match="projector 'tag_counts' has stopped") as raised:
        waiter.wait(receipt, timeout=GENEROUS)

    assert isinstance(raised.value.__cause__, ProjectionFailedError)
    assert "returned None for event 1" in str(raised.value)
    assert projector.running, "the thread waits for resume(), it does not die"


def test_a_commit_that_raises_stops_the_live_thread_and_says_so(
    store: InMemoryEventStore,
    started: list[Projector[int]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    projector = Projector(store, TagCounts(), BrokenIndex("tag_counts"))
    told: list[BaseException] = []
    stopped = threading.Event()

    def on_failure(name: str, failure: BaseException) -> None:
        told.append(failure)
        stopped.set()

    projector.on_failure(on_failure)
    waiter = ConsistencyWaiter(store, [projector])
    with caplog.at_level(logging.ERROR, logger="cqrs_lab.live"):
        projector.start()
        started.append(projector)
        append_tags(store, "a", "bad")
        assert stopped.wait(GENEROUS)

    assert projector.running
    assert isinstance(projector.failure, ProjectorCrashedError)
    assert told == [projector.failure]
    assert "projector 'tag_counts' stopped at checkpoint" in caplog.text
    with pytest.raises(ProjectorStoppedError) as raised:
        waiter.wait(2, timeout=GENEROUS)
    assert raised.value.__cause__ is projector.failure


def test_a_stopped_projector_driven_by_hand_fails_its_waiter_at_once(
    store: InMemoryEventStore,
) -> None:
    projector = Projector(store, ReturnsNothing())
    waiter = ConsistencyWaiter(store, [projector])
    receipt = append_tags(store, "a")
    with pytest.raises(ProjectionFailedError):
        projector.catch_up()

    with pytest.raises(ProjectorStoppedError, match="cannot wait for position 1"):
        waiter.wait(receipt, timeout=GENEROUS, on_timeout="return_stale")


def test_a_waiter_still_answers_for_positions_a_stopped_projector_had_reached(
    store: InMemoryEventStore,
) -> None:
    projector = Projector(store, ReturnsNothingFor("oops"))
    waiter = ConsistencyWaiter(store, [projector])
    first = append_tags(store, "a", "oops")
    with pytest.raises(ProjectionFailedError):
        projector.catch_up()

    assert waiter.wait(first.position - 1, timeout=0).reached
    with pytest.raises(ProjectorStoppedError):
        waiter.wait(first, timeout=GENEROUS)
