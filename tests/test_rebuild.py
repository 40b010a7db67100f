"""A rebuild drives a projector only through its public seam (project_batch, start_over, switch_to).

The fake below is that seam and nothing more: if Rebuild reached for anything else, these tests
would fail with an AttributeError.
"""

from __future__ import annotations

import pytest
from readside_support import DoubleCounts, TagCounts, append_tags, new_store, rows_of

from cqrs_lab.errors import InvalidArgumentError
from cqrs_lab.event_store import EventStore
from cqrs_lab.failures import DeadLetter
from cqrs_lab.projection import InMemoryReadModel, Projection, ReadModel
from cqrs_lab.rebuild import Rebuild, RebuildMode


class Seam:
    """The three calls a rebuild may make, logged, over a real store and read models."""

    def __init__(self, store: EventStore, read_model: ReadModel[int]) -> None:
        self.store = store
        self.read_model = read_model
        self.dead_letters: list[DeadLetter] = []
        self.calls: list[str] = []

    def project_batch(
        self,
        read_model: ReadModel[int],
        projection: Projection[int],
        limit: int | None = None,
        *,
        dead_letters: list[DeadLetter] | None = None,
    ) -> int:
        self.calls.append(f"project_batch({'live' if read_model is self.read_model else 'new'})")
        start = read_model.checkpoint
        changes: dict[str, int] = {}
        records = self.store.read_all(start, limit or 2)
        for record in records:
            view = {**rows_of(read_model), **changes}
            changes.update(projection.project(record, view))
        if records:
            read_model.commit(records[-1].position, changes)
        return len(records)

    def start_over(self, projection: Projection[int]) -> None:
        self.calls.append("start_over")
        self.read_model.clear()

    def switch_to(
        self,
        read_model: ReadModel[int],
        projection: Projection[int],
        dead_letters: list[DeadLetter],
    ) -> None:
        self.calls.append("switch_to")
        self.read_model = read_model


def test_a_blue_green_rebuild_fills_a_new_model_then_switches_through_the_seam() -> None:
    store, _ = new_store()
    append_tags(store, "a", "b", "a")
    live: InMemoryReadModel[int] = InMemoryReadModel("tag_counts")
    seam = Seam(store, live)

    done = Rebuild(seam, RebuildMode.BLUE_GREEN, DoubleCounts()).run()

    assert done == 3
    assert seam.calls == ["project_batch(new)", "project_batch(new)", "switch_to"]
    assert seam.read_model is not live
    assert rows_of(seam.read_model) == {"a": 4, "b": 2}


def test_an_in_place_rebuild_starts_over_then_refills_the_live_model() -> None:
    store, _ = new_store()
    append_tags(store, "a", "b", "a")
    live: InMemoryReadModel[int] = InMemoryReadModel("tag_counts")
    live.commit(3, {"stale": 99})
    seam = Seam(store, live)
    progress: list[tuple[int, int]] = []

    Rebuild(seam, RebuildMode.IN_PLACE, TagCounts()).run(
        lambda done, total: progress.append((done, total))
    )

    assert seam.calls == ["start_over", "project_batch(live)", "project_batch(live)"]
    assert progress == [(2, 3), (3, 3)]
    assert rows_of(live) == {"a": 2, "b": 1}


def test_a_blue_green_rebuild_refuses_a_read_model_that_is_not_empty() -> None:
    store, _ = new_store()
    used: InMemoryReadModel[int] = InMemoryReadModel("tag_counts")
    used.commit(1, {})

    with pytest.raises(InvalidArgumentError, match="needs an empty read model, found checkpoint 1"):
        Rebuild(Seam(store, InMemoryReadModel("live")), RebuildMode.BLUE_GREEN, TagCounts(), used)
