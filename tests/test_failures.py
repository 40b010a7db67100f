"""A projection's mistakes are failures its policy handles, with a message that names them."""

from __future__ import annotations

from typing import Any

import pytest
from readside_support import TagCounts, append_tags, new_store, rows_of

from cqrs_lab.errors import ProjectionFailedError, ProjectionResultError
from cqrs_lab.failures import FailurePolicy
from cqrs_lab.messages import RecordedEvent
from cqrs_lab.projection import Changes, RowReader
from cqrs_lab.projector import Projector


class ForgetsToReturn(TagCounts):
    """Counts tags, but forgets its ``return`` on the tag ``"oops"`` while ``broken``."""

    def __init__(self) -> None:
        self.broken = True

    def project(self, record: RecordedEvent, view: RowReader[int]) -> Changes:
        changes = super().project(record, view)
        if self.broken and "oops" in changes:
            result: Any = None  # the forgotten `return changes`
            return result
        return changes


class ReturnsAList(TagCounts):
    def project(self, record: RecordedEvent, view: RowReader[int]) -> Changes:
        result: Any = [("a", 1)]
        return result


EXPECTED = "projection 'tag_counts' returned None for event 2 (Tagged); expected a mapping"


def test_a_forgotten_return_stops_the_projector_before_the_event_saying_what_it_returned() -> None:
    store, _ = new_store()
    append_tags(store, "a", "oops", "b")
    projector = Projector(store, ForgetsToReturn(), policy=FailurePolicy.STOP)

    with pytest.raises(ProjectionFailedError) as raised:
        projector.catch_up()

    assert projector.checkpoint == 1
    assert isinstance(raised.value.__cause__, ProjectionResultError)
    assert EXPECTED in str(raised.value.__cause__)
    assert "did project() forget to return?" in str(raised.value)


def test_a_forgotten_return_is_parked_as_a_dead_letter_and_replayed_after_the_fix() -> None:
    store, _ = new_store()
    append_tags(store, "a", "oops", "b")
    projection = ForgetsToReturn()
    projector = Projector(store, projection, policy=FailurePolicy.DEAD_LETTER)

    assert projector.catch_up() == 3

    [letter] = projector.dead_letters
    assert (letter.position, letter.event_type) == (2, "Tagged")
    assert EXPECTED in letter.error
    projection.broken = False
    assert projector.replay_dead_letters() == 1
    assert rows_of(projector.read_model) == {"a": 1, "oops": 1, "b": 1}


def test_a_forgotten_return_is_retried_then_stops() -> None:
    store, _ = new_store()
    append_tags(store, "oops")
    pauses: list[float] = []
    projector = Projector(
        store, ForgetsToReturn(), policy=FailurePolicy.RETRY, max_attempts=2, pause=pauses.append
    )

    with pytest.raises(ProjectionFailedError, match="returned None for event 1"):
        projector.catch_up()

    assert (pauses, projector.checkpoint) == ([0.05], 0)


def test_a_replayed_dead_letter_that_returns_nothing_stays_parked_saying_why() -> None:
    store, _ = new_store()
    append_tags(store, "oops")
    projector = Projector(store, ForgetsToReturn(), policy=FailurePolicy.DEAD_LETTER)
    projector.catch_up()

    assert projector.replay_dead_letters() == 0

    [letter] = projector.dead_letters
    assert letter.attempts == 2 and "returned None for event 1" in letter.error


def test_row_changes_that_are_not_a_mapping_are_refused_naming_what_was_found() -> None:
    store, _ = new_store()
    append_tags(store, "a")
    projector = Projector(store, ReturnsAList())

    with pytest.raises(ProjectionFailedError, match=r"returned \[\('a', 1\)\] for event 1"):
        projector.catch_up()
