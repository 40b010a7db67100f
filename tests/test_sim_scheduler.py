"""The virtual clock and the discrete-event scheduler."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

import pytest

from cqrs_lab.clock import DEFAULT_START, Clock
from cqrs_lab.errors import InvalidArgumentError
from cqrs_lab.sim.scheduler import Scheduler, VirtualClock


def test_virtual_clock_is_a_clock_that_tells_virtual_time() -> None:
    clock = VirtualClock()
    assert isinstance(clock, Clock)
    assert clock.now() == DEFAULT_START
    clock.advance_to(1.5)
    assert clock.now() == datetime(2026, 1, 1, 9, 0, 1, 500000, tzinfo=UTC)
    assert clock.to_seconds(clock.now()) == 1.5


def test_virtual_clock_never_runs_back() -> None:
    clock = VirtualClock()
    clock.advance_to(2.0)
    with pytest.raises(InvalidArgumentError, match="must not run back"):
        clock.advance_to(1.0)


def test_virtual_clock_rejects_a_naive_start() -> None:
    with pytest.raises(InvalidArgumentError, match="timezone-aware"):
        VirtualClock(datetime(2026, 1, 1))


def test_actions_run_in_time_order_and_move_the_clock() -> None:
    scheduler = Scheduler()
    seen: list[tuple[str, float]] = []
    scheduler.at(3.0, lambda: seen.append(("c", scheduler.now)))
    scheduler.at(1.0, lambda: seen.append(("a", scheduler.now)))
    scheduler.at(2.0, lambda: seen.append(("b", scheduler.now)))
    assert scheduler.run() == 3
    assert seen == [("a", 1.0), ("b", 2.0), ("c", 3.0)]


def test_ties_go_by_priority_then_by_scheduling_order() -> None:
    scheduler = Scheduler()
    seen: list[str] = []
    for name, priority in [("x", 1), ("y", 0), ("z", 1), ("w", 0)]:
        scheduler.at(5.0, functools.partial(seen.append, name), priority=priority)
    scheduler.run()
    assert seen == ["y", "w", "x", "z"]


def test_run_until_includes_actions_due_then_and_stops_the_clock_there() -> None:
    scheduler = Scheduler()
    seen: list[float] = []
    for time in (1.0, 2.0, 3.0):
        scheduler.at(time, lambda: seen.append(scheduler.now))
    assert scheduler.run(until=2.0) == 2
    assert seen == [1.0, 2.0]
    assert scheduler.now == 2.0
    scheduler.run(until=2.5)
    assert scheduler.now == 2.5
    assert scheduler.peek() == 3.0


def test_actions_may_schedule_more_actions() -> None:
    scheduler = Scheduler()
    ticks: list[float] = []

    def tick() -> None:
        ticks.append(scheduler.now)
        if len(ticks) < 4:
            scheduler.after(0.5, tick)

    scheduler.at(0.0, tick)
    scheduler.run()
    assert ticks == [0.0, 0.5, 1.0, 1.5]


def test_a_cancelled_action_does_not_run() -> None:
    scheduler = Scheduler()
    seen: list[str] = []
    token = scheduler.at(1.0, lambda: seen.append("cancelled"))
    scheduler.at(2.0, lambda: seen.append("kept"))
    scheduler.cancel(token)
    assert len(scheduler) == 1
    scheduler.run()
    assert seen == ["kept"]


def test_step_runs_one_action_at_a_time() -> None:
    scheduler = Scheduler()
    seen: list[int] = []
    scheduler.at(1.0, lambda: seen.append(1))
    scheduler.at(2.0, lambda: seen.append(2))
    assert scheduler.step()
    assert seen == [1]
    assert scheduler.now == 1.0
    assert scheduler.step()
    assert not scheduler.step()
    assert scheduler.executed == 2


@pytest.mark.parametrize("time", [-1.0, float("nan"), float("inf")])
def test_scheduling_in_the_past_or_at_no_time_is_rejected(time: float) -> None:
    scheduler = Scheduler()
    with pytest.raises(InvalidArgumentError, match="time must be finite and >= now"):
        scheduler.at(time, lambda: None)


def test_negative_delays_and_running_backwards_are_rejected() -> None:
    scheduler = Scheduler()
    scheduler.run(until=5.0)
    with pytest.raises(InvalidArgumentError, match="delay must be >= 0"):
        scheduler.after(-1.0, lambda: None)
    with pytest.raises(InvalidArgumentError, match="until must be >= now"):
        scheduler.run(until=4.0)
