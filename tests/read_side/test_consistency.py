"""The consistency waiter across real threads (strong dispatch: test_read_your_writes.py).

Nothing here sleeps: threads meet at barriers or events, and waits end on notifications (a
timeout only bounds a wait that would otherwise hang).
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass

import pytest
from readside_support import (
    OtherCounts,
    TagCounts,
    append_tags,
)

from cqrs_lab.clock import ManualClock
from cqrs_lab.consistency import ConsistencyWaiter, ReadResult, WaitResult
from cqrs_lab.errors import ConsistencyTimeoutError, CqrsLabError, InvalidArgumentError
from cqrs_lab.event_store import InMemoryEventStore
from cqrs_lab.messages import Query
from cqrs_lab.projector import Projector
from cqrs_lab.query_bus import QueryBus

GENEROUS = 5.0  # a wait that works returns long before this


# -- waking up -------------------------------------------------------------------------------


def test_wait_returns_as_soon_as_a_live_projector_applies_the_position(
    store: InMemoryEventStore, projector: Projector[int], waiter: ConsistencyWaiter
) -> None:
    projector.start()
    writer = threading.Thread(target=append_tags, args=(store, "a", "b"))

    writer.start()
    result = waiter.wait(2, timeout=GENEROUS)
    writer.join()

    assert result.reached
    assert result.checkpoints["tag_counts"] >= 2
    assert projector.read_model.get("b") == 1


def test_wait_for_a_position_already_applied_returns_at_once(
    store: InMemoryEventStore, projector: Projector[int], waiter: ConsistencyWaiter
) -> None:
    receipt = append_tags(store, "a")
    projector.catch_up()

    result = waiter.wait(receipt, timeout=0)

    assert result == WaitResult(1, True, {"tag_counts": 1}, 0, 0.0, result.waited)
    assert not result.stale


class SteppingTimer:
    """A timer for the waiter that reads ``start``, then ``start + step``, and so on."""

    def __init__(self, start: float, step: float) -> None:
        self.now = start - step
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def test_a_wait_that_times_out_reports_the_time_its_timer_measured(
    store: InMemoryEventStore, clock: ManualClock, projector: Projector[int]
) -> None:
    append_tags(store, "a")
    waiter = ConsistencyWaiter(store, [projector], clock=clock, timer=SteppingTimer(100.0, 0.25))

    result = waiter.wait(1, timeout=0.01, on_timeout="return_stale")

    assert (result.reached, result.waited) == (False, 0.25)


def test_a_wake_up_is_never_lost_between_the_check_and_the_wait(
    store: InMemoryEventStore, projector: Projector[int], waiter: ConsistencyWaiter
) -> None:
    # each round, the projector applies the next position right as the main thread starts to
    # wait for it; a notification sent between the waiter's check and its wait would be lost
    # and the wait would run to its timeout
    rounds, timeout = 300, 2.0
    append_tags(store, *(f"t{n}" for n in range(rounds)))
    barrier = threading.Barrier(2, timeout=GENEROUS)

    def apply_one_per_round() -> None:
        for _ in range(rounds):
            barrier.wait()
            projector.step()

    applier = threading.Thread(target=apply_one_per_round)
    results: list[WaitResult] = []
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # let the threads interleave inside the waiter, not only between
    try:
        applier.start()
        for position in range(1, rounds + 1):
            barrier.wait()
            results.append(waiter.wait(position, timeout=timeout, on_timeout="return_stale"))
        applier.join()
    finally:
        sys.setswitchinterval(switch_interval)

    assert all(result.reached for result in results)
    assert [r.position for r in results if r.waited >= timeout / 2] == []


# -- timing out: one error, or one typed result ------------------------------------------------


def test_timeout_raises_an_error_that_is_also_a_timeout_error(
    store: InMemoryEventStore, waiter: ConsistencyWaiter
) -> None:
    append_tags(store, "a", "b")

    with pytest.raises(ConsistencyTimeoutError) as raised:
        waiter.wait(2, timeout=0.01)

    error = raised.value
    assert isinstance(error, TimeoutError)
    assert isinstance(error, CqrsLabError)
    assert (error.position, error.behind, error.timeout) == (2, {"tag_counts": 0}, 0.01)
    assert "tag_counts at 0" in str(error)
    assert "the write succeeded" in str(error)


def test_the_timeout_error_names_only_the_lagging_projections(
    store: InMemoryEventStore, clock: ManualClock
) -> None:
    fast, slow = Projector(store, TagCounts()), Projector(store, OtherCounts())
    waiter = ConsistencyWaiter(store, [fast, slow], clock=clock)
    append_tags(store, "a")
    fast.catch_up()

    with pytest.raises(ConsistencyTimeoutError) as raised:
        waiter.wait(1, timeout=0)

    assert raised.value.behind == {"other_counts": 0}
    assert "other_counts at 0" in str(raised.value)
    assert "tag_counts" not in str(raised.value)


def test_return_stale_says_how_far_behind_in_events_and_seconds(
    store: InMemoryEventStore,
    clock: ManualClock,
    projector: Projector[int],
    waiter: ConsistencyWaiter,
) -> None:
    append_tags(store, "a")
    clock.advance(10)
    append_tags(store, "b", "c")  # recorded at T0+10
    projector.step()
    clock.advance(30)

    result = waiter.wait(3, timeout=0, on_timeout="return_stale")

    assert type(result) is WaitResult
    assert (result.position, result.reached, result.stale) == (3, False, True)
    assert result.checkpoints == {"tag_counts": 1}
    assert (result.events_behind, result.seconds_behind) == (2, 30.0)


def test_a_stale_wait_counts_events_behind_the_position_not_the_head(
    store: InMemoryEventStore, waiter: ConsistencyWaiter
) -> None:
    append_tags(store, "a", "b", "c", "d")

    result = waiter.wait(2, timeout=0, on_timeout="return_stale")

    assert result.events_behind == 2


def test_wait_rejects_a_negative_timeout(waiter: ConsistencyWaiter) -> None:
    with pytest.raises(InvalidArgumentError, match="timeout must be >= 0"):
        waiter.wait(1, timeout=-1)


# -- reading after a write -------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CountOf(Query):
    tag: str


def count_bus(projector: Projector[int]) -> QueryBus:
    bus = QueryBus()
    bus.register(CountOf, lambda query: projector.read_model.get(query.tag) or 0)
    return bus


def test_query_after_a_write_has_one_shape_fresh_or_stale(
    store: InMemoryEventStore, projector: Projector[int], waiter: ConsistencyWaiter
) -> None:
    bus = count_bus(projector)
    receipt = append_tags(store, "a")

    stale = waiter.query(bus, CountOf(tag="a"), after=receipt, timeout=0)
    projector.catch_up()
    fresh = waiter.query(bus, CountOf(tag="a"), after=receipt, timeout=0)

    assert type(stale) is type(fresh) is ReadResult
    assert (stale.value, stale.fresh, stale.stale, stale.events_behind) == (0, False, True, 1)
    assert (fresh.value, fresh.fresh, fresh.stale, fresh.events_behind) == (1, True, False, 0)
    assert fresh.seconds_behind == 0.0


def test_query_can_raise_instead_of_answering_stale(
    store: InMemoryEventStore, projector: Projector[int], waiter: ConsistencyWaiter
) -> None:
    receipt = append_tags(store, "a")

    with pytest.raises(ConsistencyTimeoutError):
        waiter.query(
            count_bus(projector), CountOf(tag="a"), after=receipt, timeout=0, on_timeout="raise"
        )


def test_query_waits_for_a_live_projector(
    store: InMemoryEventStore, projector: Projector[int], waiter: ConsistencyWaiter
) -> None:
    projector.start()
    receipt = append_tags(store, "a", "a")

    answer = waiter.query(count_bus(projector), CountOf(tag="a"), after=receipt, timeout=GENEROUS)

    assert (answer.value, answer.fresh) == (2, True)


def test_wait_for_stream_waits_for_the_position_of_that_version(
    store: InMemoryEventStore, projector: Projector[int], waiter: ConsistencyWaiter
) -> None:
    append_tags(store, "x1", "x2", stream="other")
    append_tags(store, "a", "b", stream="tags")  # tags v2 is at position 4
    projector.catch_up(until=3)

    before = waiter.wait_for_stream("tags", 2, timeout=0, on_timeout="return_stale")
    projector.step()
    after = waiter.wait_for_stream("tags", 2, timeout=0)

    assert (before.position, before.reached) == (4, False)
    assert (after.position, after.reached) == (4, True)


@pytest.mark.parametrize(("stream", "version"), [("tags", 3), ("nowhere", 1)])
def test_wait_for_stream_rejects_a_version_that_does_not_exist(
    store: InMemoryEventStore, waiter: ConsistencyWaiter, stream: str, version: int
) -> None:
    append_tags(store, "a", "b", stream="tags")

    with pytest.raises(InvalidArgumentError, match=f"stream {stream!r} has no version {version}"):
        waiter.wait_for_stream(stream, version, timeout=0)


# -- choosing projections --------------------------------------------------------------------


@pytest.fixture
def two(
    store: InMemoryEventStore, clock: ManualClock
) -> tuple[ConsistencyWaiter, Projector[int], Projector[int]]:
    """A waiter on a caught-up projector and one that has applied nothing."""
    fast, slow = Projector(store, TagCounts()), Projector(store, OtherCounts())
    waiter = ConsistencyWaiter(store, [slow, fast], clock=clock)
    append_tags(store, "a", "b")
    fast.catch_up()
    return waiter, fast, slow


def test_wait_can_be_limited_to_some_projections(
    two: tuple[ConsistencyWaiter, Projector[int], Projector[int]],
) -> None:
    waiter, _, _ = two

    assert waiter.wait(2, timeout=0, projections=["tag_counts"]).reached
    assert waiter.reached(2, ["tag_counts"])
    assert not waiter.reached(2)


def test_by_default_wait_needs_every_watched_projection(
    two: tuple[ConsistencyWaiter, Projector[int], Projector[int]],
) -> None:
    waiter, _, _ = two

    result = waiter.wait(2, timeout=0, on_timeout="return_stale")

    assert result.checkpoints == {"other_counts": 0, "tag_counts": 2}
    assert (result.reached, result.events_behind) == (False, 2)
    assert waiter.names == ["other_counts", "tag_counts"]


def test_an_unknown_projection_name_is_rejected(
    two: tuple[ConsistencyWaiter, Projector[int], Projector[int]],
) -> None:
    waiter, _, _ = two

    with pytest.raises(InvalidArgumentError, match=r"unknown projection\(s\) \['orders'\]"):
        waiter.wait(1, timeout=0, projections=["orders", "tag_counts"])


def test_a_waiter_with_no_projection_to_wait_for_is_a_configuration_error(
    store: InMemoryEventStore,
) -> None:
    append_tags(store, "a")
    waiter = ConsistencyWaiter(store)

    expected = "a wait needs at least one projection, found .* among the watched \\[\\]"
    with pytest.raises(InvalidArgumentError, match=expected):
        waiter.wait(1, timeout=0, on_timeout="return_stale")
    with pytest.raises(InvalidArgumentError, match=expected):
        waiter.reached(1)
    with pytest.raises(InvalidArgumentError, match=expected):
        waiter.on_reached(1, lambda: None)


def test_waiting_for_an_empty_list_of_projections_is_a_configuration_error(
    waiter: ConsistencyWaiter,
) -> None:
    with pytest.raises(
        InvalidArgumentError, match=r"found \[\] among the watched \['tag_counts'\]"
    ):
        waiter.wait(0, timeout=0, projections=[])


def test_watching_two_projectors_of_one_name_is_rejected(
    store: InMemoryEventStore, waiter: ConsistencyWaiter
) -> None:
    with pytest.raises(InvalidArgumentError, match="already watching"):
        waiter.watch(Projector(store, TagCounts()))


def test_a_blue_green_switch_wakes_waiters_on_the_new_view(
    store: InMemoryEventStore, projector: Projector[int], waiter: ConsistencyWaiter
) -> None:
    append_tags(store, "a", "b")
    projector.catch_up()
    projector.rebuild()

    assert waiter.wait(2, timeout=0).checkpoints == {"tag_counts": 2}


# -- callbacks: the non-blocking form --------------------------------------------------------


def test_on_reached_fires_at_once_when_already_reached(
    store: InMemoryEventStore, projector: Projector[int], waiter: ConsistencyWaiter
) -> None:
    append_tags(store, "a")
    projector.catch_up()
    fired: list[str] = []

    waiter.on_reached(1, lambda: fired.append("now"))

    assert fired == ["now"]


def test_on_reached_fires_once_when_the_position_is_reached(
    store: InMemoryEventStore, projector: Projector[int], waiter: ConsistencyWaiter
) -> None:
    append_tags(store, "a", "b", "c")
    fired: list[int] = []
    waiter.on_reached(2, lambda: fired.append(projector.checkpoint))

    projector.step()
    assert fired == []
    projector.step()
    projector.step()

    assert fired == [2]


def test_a_cancelled_on_reached_never_fires(
    store: InMemoryEventStore, projector: Projector[int], waiter: ConsistencyWaiter
) -> None:
    append_tags(store, "a")
    fired: list[str] = []
    cancel = waiter.on_reached(1, lambda: fired.append("late"))
    kept = waiter.on_reached(1, lambda: fired.append("kept"))

    cancel()
    projector.catch_up()

    assert fired == ["kept"]
    kept()  # cancelling after it fired is harmless


def test_on_reached_callbacks_run_after_the_projector_has_released_its_lock(
    store: InMemoryEventStore, projector: Projector[int], waiter: ConsistencyWaiter
) -> None:
    # a callback that needs the projector (here: another thread running its next batch) must
    # not find it locked by the commit that fired the callback
    append_tags(store, "a", "b")
    finished: list[bool] = []

    def run_the_next_batch() -> None:
        helper = threading.Thread(target=projector.step)
        helper.start()
        helper.join(GENEROUS)  # under the projector's lock, this would wait until the timeout
        finished.append(not helper.is_alive())

    waiter.on_reached(1, run_the_next_batch)
    projector.step()

    assert finished == [True]
    assert projector.checkpoint == 2


def test_on_reached_waits_for_the_projections_named(
    two: tuple[ConsistencyWaiter, Projector[int], Projector[int]],
) -> None:
    waiter, fast, slow = two
    fired: list[str] = []

    waiter.on_reached(2, lambda: fired.append("fast only"), projections=["tag_counts"])
    waiter.on_reached(2, lambda: fired.append("all"))
    assert fired == ["fast only"]
    slow.catch_up()

    assert fired == ["fast only", "all"]
    assert fast.checkpoint == slow.checkpoint == 2


def test_on_reached_fires_from_a_live_projector(
    store: InMemoryEventStore, projector: Projector[int], waiter: ConsistencyWaiter
) -> None:
    fired = threading.Event()
    waiter.on_reached(2, fired.set)
    projector.start()

    append_tags(store, "a", "b")

    assert fired.wait(GENEROUS)
    assert projector.checkpoint >= 2
