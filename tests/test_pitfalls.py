"""The playbook's read-side mistakes, kept runnable in cqrs_lab.pitfalls and nowhere else."""

from __future__ import annotations

import logging

import pytest
from readside_support import POISON, PoisonAware, TagCounts, append_tags, new_store, rows_of

from cqrs_lab.failures import FailurePolicy
from cqrs_lab.pitfalls import CheckpointSavedEvery, RowsThenCheckpoint, SilentSkip
from cqrs_lab.projection import InMemoryReadModel
from cqrs_lab.projector import Projector
from cqrs_lab.rebuild import RebuildMode


def test_the_core_failure_policies_all_keep_a_record() -> None:
    assert [policy.value for policy in FailurePolicy] == ["stop", "retry", "dead_letter"]


def test_the_core_read_model_offers_no_write_apart_from_the_checkpoint() -> None:
    model: InMemoryReadModel[int] = InMemoryReadModel("counts")

    assert not hasattr(model, "write_without_checkpoint")
    assert not hasattr(model, "save_checkpoint")


def test_silent_skip_loses_the_event_without_any_record(caplog: pytest.LogCaptureFixture) -> None:
    store, _ = new_store()
    append_tags(store, "a", POISON, "b")
    projection = PoisonAware()
    projector = Projector(store, SilentSkip(projection))

    with caplog.at_level(logging.ERROR, logger="cqrs_lab.pitfalls"):
        projector.catch_up()

    # the checkpoint says "all applied", and nothing says otherwise ...
    assert (projector.checkpoint, projector.failure, projector.dead_letters) == (3, None, [])
    assert [r.getMessage() for r in caplog.records] == [
        "Projection error: cannot count 'poison' at position 2"
    ]
    skipped = rows_of(projector.read_model)
    # ... but a rebuild with the projection fixed shows what was lost
    projection.fixed = True
    projector.rebuild(RebuildMode.BLUE_GREEN)
    assert skipped == {"a": 1, "b": 1}
    assert rows_of(projector.read_model) == {"a": 1, POISON: 1, "b": 1}


def test_silent_skip_takes_the_name_and_handles_of_what_it_wraps() -> None:
    skipping = SilentSkip(TagCounts())

    assert (skipping.name, skipping.handles) == ("tag_counts", frozenset({"Tagged"}))
    assert repr(skipping) == "SilentSkip(TagCounts(name='tag_counts'))"


def test_rows_then_checkpoint_writes_rows_and_checkpoint_in_two_steps() -> None:
    model: RowsThenCheckpoint[int] = RowsThenCheckpoint("counts")

    model.write_without_checkpoint({"a": 1})
    assert (model.get("a"), model.checkpoint) == (1, 0)  # a crash here applies it again
    model.save_checkpoint(1)
    assert (model.get("a"), model.checkpoint) == (1, 1)


def test_a_crash_before_the_saved_checkpoint_applies_events_twice() -> None:
    store, _ = new_store()
    append_tags(store, "a", "a", "a")
    durable: InMemoryReadModel[int] = InMemoryReadModel("tag_counts")
    model = CheckpointSavedEvery(durable, every=2)
    projector = Projector(store, TagCounts(), model, batch_size=1)

    projector.catch_up()
    assert (model.checkpoint, model.saved_checkpoint, model.get("a")) == (3, 2, 3)
    model.crash()
    projector.catch_up()

    assert (model.checkpoint, model.get("a")) == (3, 4), "event 3 counted twice"
