"""The projector: stepping, batches, checkpoints, failure policies, rebuilds and live mode."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from readside_support import (
    POISON,
    DoubleCounts,
    Flaky,
    Noted,
    Pauses,
    PoisonAware,
    PoisonError,
    TagCounts,
    Tagged,
    append_tags,
    counts,
    new_store,
    rows_of,
)

from cqrs_lab.clock import ManualClock
from cqrs_lab.consistency import ConsistencyWaiter
from cqrs_lab.errors import InvalidArgumentError, InvalidProjectionError, ProjectionFailedError
from cqrs_lab.event_store import InMemoryEventStore
from cqrs_lab.failures import FailurePolicy
from cqrs_lab.messages import RecordedEvent
from cqrs_lab.projection import Changes, InMemoryReadModel, Projection, ReadModel, RowReader
from cqrs_lab.projector import Projector
from cqrs_lab.rebuild import Rebuild, RebuildMode
from cqrs_lab.upcasting import EventRegistry

LIVE_TIMEOUT = 5.0  # generous: a wait returns as soon as the checkpoint moves


@pytest.fixture
def live() -> Iterator[Callable[[Projector[Any]], Projector[Any]]]:
    """Start a projector's thread; every one started is stopped after the test."""
    started: list[Projector[Any]] = []

    def start(projector: Projector[Any]) -> Projector[Any]:
        projector.start()
        started.append(projector)
        return projector

    yield start
    for projector in started:
        projector.stop()


class SignallingPoison(PoisonAware):
    """Sets ``failed`` as it raises on the poison event (from whichever thread runs it)."""

    def __init__(self) -> None:
        super().__init__()
        self.failed = threading.Event()

    def project(self, record: RecordedEvent, view: RowReader[int]) -> Changes:
        try:
            return super().project(record, view)
        except PoisonError:
            self.failed.set()
            raise


def listen(projector: Projector[Any]) -> list[int]:
    """The checkpoints the projector announces from now on."""
    announced: list[int] = []
    projector.on_checkpoint(lambda _name, checkpoint: announced.append(checkpoint))
    return announced


# -- driving it by hand ----------------------------------------------------------------------


def test_step_applies_one_event_and_returns_it(store: InMemoryEventStore) -> None:
    append_tags(store, "a", "b")
    projector = Projector(store, TagCounts())

    first = projector.step()

    assert first is not None
    assert (first.position, first.event_type) == (1, "Tagged")
    assert (projector.checkpoint, rows_of(projector.read_model)) == (1, {"a": 1})


def test_step_returns_none_when_caught_up(store: InMemoryEventStore) -> None:
    append_tags(store, "a")
    projector = Projector(store, TagCounts())
    projector.step()

    assert projector.step() is None
    assert projector.checkpoint == 1


def test_step_on_an_empty_store_returns_none(store: InMemoryEventStore) -> None:
    assert Projector(store, TagCounts()).step() is None


def test_catch_up_runs_to_the_head_and_counts_the_events(store: InMemoryEventStore) -> None:
    append_tags(store, "a", "b", "a")
    projector = Projector(store, TagCounts())

    assert projector.catch_up() == 3
    assert rows_of(projector.read_model) == {"a": 2, "b": 1}
    assert projector.catch_up() == 0


def test_catch_up_until_stops_at_that_position(store: InMemoryEventStore) -> None:
    append_tags(store, "a", "b", "c", "d")
    projector = Projector(store, TagCounts(), batch_size=3)

    assert projector.catch_up(until=2) == 2
    assert (projector.checkpoint, rows_of(projector.read_model)) == (2, {"a": 1, "b": 1})
    assert projector.catch_up(until=99) == 2, "a target past the head stops at the head"
    assert projector.checkpoint == 4


def test_batches_commit_at_most_batch_size_events(store: InMemoryEventStore) -> None:
    append_tags(store, "a", "b", "c", "d", "e")
    projector = Projector(store, TagCounts(), batch_size=2)
    announced = listen(projector)

    projector.catch_up()

    assert announced == [2, 4, 5]


def test_run_batch_takes_at_most_limit_events(store: InMemoryEventStore) -> None:
    append_tags(store, "a", "b", "c")
    projector = Projector(store, TagCounts())

    assert projector.run_batch(limit=2) == 2
    assert projector.checkpoint == 2


def test_later_events_in_a_batch_see_the_earlier_ones(store: InMemoryEventStore) -> None:
    append_tags(store, "a", "a", "a")
    projector = Projector(store, TagCounts(), batch_size=10)

    projector.run_batch()

    assert projector.read_model.get("a") == 3


def test_events_of_unhandled_types_still_move_the_checkpoint(
    store: InMemoryEventStore,
) -> None:
    append_tags(store, "a")
    store.append("notes", [Noted(text="x"), Noted(text="y")])
    projector = Projector(store, TagCounts())
    announced = listen(projector)

    skipped = [projector.step(), projector.step(), projector.step()]

    assert [r.event_type for r in skipped if r is not None] == ["Tagged", "Noted", "Noted"]
    assert projector.checkpoint == 3
    assert rows_of(projector.read_model) == {"a": 1}
    assert announced == [1, 2, 3]


def test_listeners_stop_hearing_after_they_unsubscribe(store: InMemoryEventStore) -> None:
    append_tags(store, "a", "b")
    projector = Projector(store, TagCounts())
    heard: list[tuple[str, int]] = []
    unsubscribe = projector.on_checkpoint(lambda name, cp: heard.append((name, cp)))

    projector.step()
    unsubscribe()
    projector.step()

    assert heard == [("tag_counts", 1)]


def test_the_projector_uses_the_read_model_it_is_given_even_when_empty(
    store: InMemoryEventStore,
) -> None:
    model = InMemoryReadModel[int]("tag_counts")

    projector = Projector(store, TagCounts(), model)

    assert projector.read_model is model


def test_a_restarted_projector_resumes_from_the_checkpoint_without_reapplying(
    store: InMemoryEventStore,
) -> None:
    append_tags(store, "a", "b")
    model = InMemoryReadModel[int]("tag_counts")
    Projector(store, TagCounts(), model).catch_up()
    append_tags(store, "a")

    restarted = Projector(store, TagCounts(), model)

    assert restarted.catch_up() == 1
    assert rows_of(model) == {"a": 2, "b": 1}


def test_a_restarted_projector_resumes_even_if_no_event_made_a_row(
    store: InMemoryEventStore,
) -> None:
    store.append("notes", [Noted(text="only notes so far")])
    model = InMemoryReadModel[int]("tag_counts")
    Projector(store, TagCounts(), model).catch_up()
    append_tags(store, "a")

    restarted = Projector(store, TagCounts(), model)

    assert restarted.checkpoint == 1
    assert restarted.catch_up() == 1
    assert model.checkpoint == 2


def test_events_delivered_twice_to_one_model_are_applied_once(
    store: InMemoryEventStore,
) -> None:
    append_tags(store, "a", "b")
    model = InMemoryReadModel[int]("tag_counts")
    one, other = Projector(store, TagCounts(), model), Projector(store, TagCounts(), model)

    one.catch_up()
    other.catch_up()

    assert rows_of(model) == {"a": 1, "b": 1}


class Nameless(Projection[int]):
    handles = frozenset({"Tagged"})

    def project(self, record: RecordedEvent, view: RowReader[int]) -> Changes:
        return {}


class HandlesNothing(Projection[int]):
    name = "nothing"

    def project(self, record: RecordedEvent, view: RowReader[int]) -> Changes:
        return {}


class EmptyHandles(HandlesNothing):
    handles = frozenset()


class Misspelt(TagCounts):
    handles = frozenset({"Tagged", "Notted"})


@pytest.mark.parametrize(
    ("projection", "message"),
    [
        (Nameless(), r"Nameless has no name; set it on the class, e.g. name = \"order_views\""),
        (HandlesNothing(), r"HandlesNothing has no handles; set it on the class, e.g. handles ="),
        (EmptyHandles(), "EmptyHandles.handles is empty: it would match no event"),
    ],
    ids=["no-name", "no-handles", "empty-handles"],
)
def test_a_projection_without_a_name_or_handles_is_refused_by_the_projector(
    store: InMemoryEventStore, projection: Projection[int], message: str
) -> None:
    with pytest.raises(InvalidProjectionError, match=message):
        Projector(store, projection)


def test_a_misspelt_event_name_is_refused_when_the_registry_knows_the_others() -> None:
    store = InMemoryEventStore(registry=EventRegistry([Tagged, Noted]))

    with pytest.raises(InvalidProjectionError) as raised:
        Projector(store, Misspelt())

    assert str(raised.value) == (
        "Misspelt.handles names event type(s) ['Notted'] that the store's registry does not "
        "know; expected registered names (check the spelling, or register the event)"
    )


def test_names_are_not_checked_against_a_registry_that_knows_none_of_them(
    store: InMemoryEventStore,
) -> None:
    assert Projector(store, Misspelt()).name == "tag_counts"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_size": 0}, "batch_size must be >= 1, found 0"),
        ({"max_attempts": 0}, "max_attempts must be >= 1, found 0"),
        ({"backoff": -0.1}, "backoff must be >= 0 seconds, found -0.1"),
    ],
)
def test_invalid_constructor_arguments_are_rejected(
    store: InMemoryEventStore, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        Projector(store, TagCounts(), **kwargs)


def test_lag_reports_how_far_behind_it_is(store: InMemoryEventStore, clock: ManualClock) -> None:
    append_tags(store, "a", "b", "c")
    projector = Projector(store, TagCounts(), clock=clock)
    projector.step()
    clock.advance(4)

    report = projector.lag()

    assert (report.projection, report.head, report.checkpoint) == ("tag_counts", 3, 1)
    assert (report.events_behind, report.seconds_behind) == (2, 4.0)


# -- failure policies: STOP ------------------------------------------------------------------


def stopped_on_poison(store: InMemoryEventStore) -> tuple[Projector[int], PoisonAware]:
    append_tags(store, "a", POISON, "b")
    projection = PoisonAware()
    projector = Projector(store, projection, policy=FailurePolicy.STOP)
    with pytest.raises(ProjectionFailedError):
        projector.catch_up()
    return projector, projection


def test_stop_keeps_the_checkpoint_before_the_failing_event(store: InMemoryEventStore) -> None:
    projector, _ = stopped_on_poison(store)

    assert projector.checkpoint == 1
    assert rows_of(projector.read_model) == {"a": 1}


def test_stop_error_names_the_event_and_chains_the_cause(store: InMemoryEventStore) -> None:
    append_tags(store, "a", POISON, "b")
    projector = Projector(store, PoisonAware())

    with pytest.raises(ProjectionFailedError) as raised:
        projector.catch_up()

    error = raised.value
    assert (error.projection, error.position, error.event_type) == ("tag_counts", 2, "Tagged")
    assert isinstance(error.__cause__, PoisonError)
    assert projector.failure is error
    assert "checkpoint stays at 1" in str(error)
    assert "resume()" in str(error)


def test_stop_keeps_raising_until_resume(store: InMemoryEventStore) -> None:
    projector, projection = stopped_on_poison(store)
    failure = projector.failure
    projection.fixed = True  # fixed, but nobody said so yet

    for call in (projector.step, projector.catch_up, projector.run_batch):
        with pytest.raises(ProjectionFailedError) as raised:
            call()
        assert raised.value is failure

    assert projector.checkpoint == 1


def test_resume_after_a_fix_applies_the_failed_event(store: InMemoryEventStore) -> None:
    projector, projection = stopped_on_poison(store)
    projection.fixed = True

    projector.resume()

    assert projector.failure is None
    assert projector.catch_up() == 2
    assert rows_of(projector.read_model) == {"a": 1, POISON: 1, "b": 1}


def test_resume_without_a_fix_stops_again_at_the_same_event(store: InMemoryEventStore) -> None:
    projector, _ = stopped_on_poison(store)

    projector.resume()

    with pytest.raises(ProjectionFailedError) as raised:
        projector.catch_up()
    assert raised.value.position == 2
    assert projector.checkpoint == 1


# -- failure policies: RETRY -----------------------------------------------------------------


def test_retry_applies_an_event_once_after_transient_failures(
    store: InMemoryEventStore,
) -> None:
    append_tags(store, "a", POISON, "b")
    projection, pauses = Flaky(failures=2), Pauses()
    projector = Projector(
        store, projection, policy=FailurePolicy.RETRY, max_attempts=3, backoff=0.05, pause=pauses
    )

    projector.catch_up()

    assert rows_of(projector.read_model) == {"a": 1, POISON: 1, "b": 1}
    assert projection.calls_on_poison == 3
    assert pauses.delays == [0.05, 0.1]
    assert (projector.checkpoint, projector.failure) == (3, None)


def test_retry_stops_after_max_attempts(store: InMemoryEventStore) -> None:
    append_tags(store, "a", POISON, "b")
    projection, pauses = Flaky(failures=99), Pauses()
    projector = Projector(
        store, projection, policy=FailurePolicy.RETRY, max_attempts=4, backoff=0.5, pause=pauses
    )

    with pytest.raises(ProjectionFailedError) as raised:
        projector.catch_up()

    assert projection.calls_on_poison == 4
    assert pauses.delays == [0.5, 1.0, 2.0]
    assert raised.value.position == 2
    assert str(raised.value.__cause__) == "attempt 4 failed", "the last error is kept"
    assert projector.failure is raised.value
    assert (projector.checkpoint, rows_of(projector.read_model)) == (1, {"a": 1})


def test_retry_with_one_attempt_never_pauses(store: InMemoryEventStore) -> None:
    append_tags(store, POISON)
    pauses = Pauses()
    projector = Projector(
        store, Flaky(failures=1), policy=FailurePolicy.RETRY, max_attempts=1, pause=pauses
    )

    with pytest.raises(ProjectionFailedError):
        projector.catch_up()
    assert pauses.delays == []


# -- failure policies: DEAD_LETTER -----------------------------------------------------------


def dead_lettered(
    store: InMemoryEventStore, clock: ManualClock
) -> tuple[Projector[int], PoisonAware]:
    append_tags(store, "a", POISON, "b")
    projection = PoisonAware()
    projector = Projector(store, projection, policy=FailurePolicy.DEAD_LETTER, clock=clock)
    clock.advance(60)
    projector.catch_up()
    return projector, projection


def test_dead_letter_records_the_event_and_moves_on(
    store: InMemoryEventStore, clock: ManualClock
) -> None:
    projector, _ = dead_lettered(store, clock)

    assert (projector.checkpoint, projector.failure) == (3, None)
    assert rows_of(projector.read_model) == {"a": 1, "b": 1}
    [letter] = projector.dead_letters
    assert (letter.projection, letter.position, letter.stream_id) == ("tag_counts", 2, "tags")
    assert (letter.event_type, letter.attempts) == ("Tagged", 1)
    assert letter.error.startswith("PoisonError(")
    assert letter.failed_at == clock.peek()
    assert letter.record.position == 2


def test_dead_letters_frame_has_one_row_per_parked_event(
    store: InMemoryEventStore, clock: ManualClock
) -> None:
    projector, _ = dead_lettered(store, clock)

    frame = projector.dead_letters_frame()

    assert frame.index.name == "position"
    assert list(frame.index) == [2]
    assert list(frame.columns) == ["stream_id", "event_type", "error", "failed_at", "attempts"]
    assert frame.loc[2, "attempts"] == 1


def test_dead_letters_frame_is_empty_without_failures(store: InMemoryEventStore) -> None:
    frame = Projector(store, TagCounts()).dead_letters_frame()

    assert len(frame) == 0
    assert list(frame.columns) == ["stream_id", "event_type", "error", "failed_at", "attempts"]


def test_replaying_dead_letters_after_a_fix_applies_them_and_empties_the_list(
    store: InMemoryEventStore, clock: ManualClock
) -> None:
    projector, projection = dead_lettered(store, clock)
    projection.fixed = True

    assert projector.replay_dead_letters() == 1

    assert projector.dead_letters == []
    assert rows_of(projector.read_model) == {"a": 1, POISON: 1, "b": 1}
    assert projector.checkpoint == 3


def test_a_dead_letter_that_fails_again_stays_with_one_more_attempt(
    store: InMemoryEventStore, clock: ManualClock
) -> None:
    projector, _ = dead_lettered(store, clock)
    later = clock.advance(30)

    assert projector.replay_dead_letters() == 0

    [letter] = projector.dead_letters
    assert (letter.position, letter.attempts, letter.failed_at) == (2, 2, later)
    assert POISON not in rows_of(projector.read_model)


# -- rebuilds --------------------------------------------------------------------------------


def test_in_place_rebuild_clears_the_view_then_replays_it(store: InMemoryEventStore) -> None:
    tags = ["a", "b", "a", "c", "a"]
    append_tags(store, *tags)
    projector = Projector(store, TagCounts(), batch_size=2)
    projector.catch_up()
    live_model = projector.read_model

    rebuild = projector.start_rebuild(RebuildMode.IN_PLACE, projection=DoubleCounts())

    assert (live_model.checkpoint, live_model.keys()) == (0, []), "queries now see it empty"
    rebuild.step()
    assert (live_model.checkpoint, rows_of(live_model)) == (2, {"a": 2, "b": 2})
    while not rebuild.finished:
        rebuild.step()
    assert projector.read_model is live_model
    assert rows_of(live_model) == counts(tags, weight=2)
    assert projector.generation == 1


def test_rebuild_reports_progress_up_to_the_total(store: InMemoryEventStore) -> None:
    append_tags(store, *"abcdefg")
    projector = Projector(store, TagCounts(), batch_size=3)
    projector.catch_up()
    progress: list[tuple[int, int]] = []

    replayed = projector.rebuild(
        RebuildMode.IN_PLACE, progress=lambda done, total: progress.append((done, total))
    )

    assert progress == [(3, 7), (6, 7), (7, 7)]
    assert replayed == 7
    assert rows_of(projector.read_model) == counts(list("abcdefg"))


def test_in_place_rebuild_of_an_empty_store_finishes_at_once(store: InMemoryEventStore) -> None:
    progress: list[tuple[int, int]] = []

    replayed = Projector(store, TagCounts()).rebuild(
        RebuildMode.IN_PLACE, progress=lambda done, total: progress.append((done, total))
    )

    assert (replayed, progress) == (0, [(0, 0)])


def test_in_place_rebuild_clears_a_stop_failure(store: InMemoryEventStore) -> None:
    projector, _ = stopped_on_poison(store)

    projector.rebuild(RebuildMode.IN_PLACE, projection=TagCounts())

    assert projector.failure is None
    assert rows_of(projector.read_model) == {"a": 1, POISON: 1, "b": 1}


def rebuilding_blue_green(
    store: InMemoryEventStore, tags: list[str], batch_size: int
) -> tuple[Projector[int], ReadModel[int], Rebuild[int]]:
    """Append ``tags``, catch a TagCounts projector up on them, and start a blue/green rebuild
    into DoubleCounts; the projector, its old (blue) view, and the rebuild."""
    append_tags(store, *tags)
    projector = Projector(store, TagCounts(), batch_size=batch_size)
    projector.catch_up()
    blue = projector.read_model
    rebuild = projector.start_rebuild(RebuildMode.BLUE_GREEN, projection=DoubleCounts())
    return projector, blue, rebuild


def test_blue_green_rebuild_serves_the_old_view_until_it_switches(
    store: InMemoryEventStore,
) -> None:
    tags = ["a", "b", "a", "c", "b", "a"]

    projector, blue, rebuild = rebuilding_blue_green(store, tags, batch_size=2)
    seen: list[dict[str, int | None]] = []
    while not rebuild.finished:
        seen.append(rows_of(projector.read_model))
        assert projector.read_model is blue
        rebuild.step()

    assert seen == [counts(tags)] * len(seen) and len(seen) == 3
    assert projector.read_model is not blue
    assert rows_of(projector.read_model) == counts(tags, weight=2)
    assert isinstance(projector.projection, DoubleCounts)
    assert projector.generation == 2
    assert rows_of(blue) == counts(tags), "the old view is left as it was"


def test_blue_green_switches_only_when_caught_up_while_events_keep_coming(
    store: InMemoryEventStore,
) -> None:
    tags = ["a", "b", "c", "d", "e", "f"]
    projector, blue, rebuild = rebuilding_blue_green(store, tags, batch_size=3)

    for step in range(20):
        rebuild.step()
        if rebuild.finished:
            break
        tag = f"new{step}"
        append_tags(store, tag)
        tags.append(tag)
        projector.catch_up()  # the old view stays live and complete meanwhile
        assert projector.read_model is blue
        assert rows_of(blue) == counts(tags)

    assert rebuild.finished
    assert projector.read_model is rebuild.target
    assert projector.checkpoint == store.head
    assert rows_of(projector.read_model) == counts(tags, weight=2)


def test_blue_green_rebuild_terminates_when_every_step_is_outpaced_by_appends(
    store: InMemoryEventStore,
) -> None:
    tags = [f"t{n}" for n in range(6)]
    append_tags(store, *tags)
    projector = Projector(store, TagCounts(), batch_size=2)
    rebuild = projector.start_rebuild(RebuildMode.BLUE_GREEN)

    for step in range(50):
        rebuild.step()
        if rebuild.finished:
            break
        more = [f"s{step}-{n}" for n in range(3)]  # more than a batch arrives per step
        append_tags(store, *more)
        tags.extend(more)

    assert rebuild.finished, "a rebuild replays up to the head it found, then switches"
    assert projector.checkpoint == store.head
    assert rows_of(projector.read_model) == counts(tags)


def test_blue_green_announces_the_switch_and_increments_the_generation(
    store: InMemoryEventStore,
) -> None:
    append_tags(store, "a", "b", "c")
    projector = Projector(store, TagCounts())
    projector.catch_up()
    announced = listen(projector)

    projector.rebuild(RebuildMode.BLUE_GREEN)
    projector.rebuild(RebuildMode.BLUE_GREEN)

    assert announced == [3, 3]
    assert projector.generation == 3


def test_blue_green_fills_the_read_model_it_is_given(store: InMemoryEventStore) -> None:
    append_tags(store, "a", "b")
    projector = Projector(store, TagCounts())
    green = InMemoryReadModel[int]("tag_counts")

    projector.rebuild(RebuildMode.BLUE_GREEN, read_model=green)

    assert projector.read_model is green
    assert rows_of(green) == {"a": 1, "b": 1}


def test_blue_green_needs_an_empty_read_model(store: InMemoryEventStore) -> None:
    append_tags(store, "a")
    projector = Projector(store, TagCounts())
    used = InMemoryReadModel[int]("tag_counts")
    used.commit(1, {"a": 1})

    with pytest.raises(InvalidArgumentError, match="needs an empty read model"):
        projector.start_rebuild(RebuildMode.BLUE_GREEN, read_model=used)
    assert projector.generation == 1


def test_a_failing_blue_green_build_aborts_and_the_live_view_goes_on(
    store: InMemoryEventStore,
) -> None:
    append_tags(store, "a", POISON, "b")
    projector = Projector(store, TagCounts(), policy=FailurePolicy.STOP)
    projector.catch_up()
    blue = projector.read_model

    with pytest.raises(ProjectionFailedError) as raised:
        projector.rebuild(RebuildMode.BLUE_GREEN, projection=PoisonAware())

    assert raised.value.position == 2
    assert projector.failure is None
    assert (projector.read_model, projector.generation) == (blue, 1)
    assert type(projector.projection) is TagCounts
    append_tags(store, "c")
    assert projector.catch_up() == 1
    assert rows_of(blue) == {"a": 1, POISON: 1, "b": 1, "c": 1}


# -- running live ----------------------------------------------------------------------------


def test_a_live_projector_applies_appends_without_being_called(
    store: InMemoryEventStore,
    clock: ManualClock,
    live: Callable[[Projector[Any]], Projector[Any]],
) -> None:
    projector = live(Projector(store, TagCounts()))
    waiter = ConsistencyWaiter(store, [projector], clock=clock)

    receipt = append_tags(store, "a", "b", "a")

    assert waiter.wait(receipt, timeout=LIVE_TIMEOUT).reached
    assert rows_of(projector.read_model) == {"a": 2, "b": 1}
    assert projector.running


def test_a_live_projector_catches_up_with_events_appended_before_it_started(
    store: InMemoryEventStore, live: Callable[[Projector[Any]], Projector[Any]]
) -> None:
    append_tags(store, "a", "b")
    projector = Projector(store, TagCounts())
    reached = threading.Event()
    projector.on_checkpoint(lambda _name, cp: reached.set() if cp >= 2 else None)

    live(projector)

    assert reached.wait(LIVE_TIMEOUT)
    assert rows_of(projector.read_model) == {"a": 1, "b": 1}


def test_stop_joins_the_thread_and_later_appends_wait(
    store: InMemoryEventStore, projector: Projector[int], waiter: ConsistencyWaiter
) -> None:
    projector.start()
    assert waiter.wait(append_tags(store, "a"), timeout=LIVE_TIMEOUT).reached

    projector.stop()

    assert not projector.running
    assert [t for t in threading.enumerate() if t.name == "projector-tag_counts"] == []
    append_tags(store, "b")
    assert projector.checkpoint == 1
    assert projector.catch_up() == 1, "by hand it still works"


def test_starting_twice_runs_one_thread(
    store: InMemoryEventStore, live: Callable[[Projector[Any]], Projector[Any]]
) -> None:
    projector = live(Projector(store, TagCounts()))

    projector.start()

    assert [t.name for t in threading.enumerate()].count("projector-tag_counts") == 1


def test_a_stopped_projector_can_be_started_again(
    store: InMemoryEventStore, projector: Projector[int], waiter: ConsistencyWaiter
) -> None:
    projector.start()
    projector.stop()

    with projector:
        assert waiter.wait(append_tags(store, "a"), timeout=LIVE_TIMEOUT).reached
    assert not projector.running


def test_stop_without_start_is_harmless(store: InMemoryEventStore) -> None:
    projector = Projector(store, TagCounts())

    projector.stop()

    assert not projector.running


def test_a_live_stop_failure_waits_for_resume(
    store: InMemoryEventStore,
    clock: ManualClock,
    live: Callable[[Projector[Any]], Projector[Any]],
) -> None:
    projection = SignallingPoison()
    projector = live(Projector(store, projection, policy=FailurePolicy.STOP))
    waiter = ConsistencyWaiter(store, [projector], clock=clock)

    append_tags(store, "a", POISON)
    assert projection.failed.wait(LIVE_TIMEOUT)
    # run_batch waits for the live thread's batch to end, then reports the stop it recorded
    with pytest.raises(ProjectionFailedError) as raised:
        projector.run_batch()
    assert projector.failure is raised.value
    assert raised.value.position == 2
    receipt = append_tags(store, "b")
    assert projector.running
    assert projector.checkpoint == 1

    projection.fixed = True
    projector.resume()

    assert waiter.wait(receipt, timeout=LIVE_TIMEOUT).reached
    assert rows_of(projector.read_model) == {"a": 1, POISON: 1, "b": 1}
    assert projector.failure is None


def test_repr_shows_name_checkpoint_head_and_policy(store: InMemoryEventStore) -> None:
    append_tags(store, "a", "b")
    projector = Projector(store, TagCounts(), policy=FailurePolicy.DEAD_LETTER)
    projector.step()

    expected = "Projector('tag_counts', checkpoint=1, head=2, policy=dead_letter)"
    assert repr(projector) == expected


@pytest.mark.parametrize("mode", ["in_place", "blue_green"])
def test_a_rebuild_leaves_no_stale_dead_letter_to_apply_twice(mode: str) -> None:
    store, clock = new_store()
    append_tags(store, "a", POISON, "b")
    projection = PoisonAware()
    projector = Projector(store, projection, clock=clock, policy="dead_letter")
    projector.catch_up()
    assert [letter.position for letter in projector.dead_letters] == [2]

    projection.fixed = True
    projector.rebuild(mode)  # the fixed projection now counts the poison during the replay

    assert projector.dead_letters == []
    assert projector.replay_dead_letters() == 0
    assert rows_of(projector.read_model) == {"a": 1, POISON: 1, "b": 1}
