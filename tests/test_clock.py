"""The injected clocks: ManualClock moves only when told; SystemClock is the real UTC time."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from cqrs_lab.clock import DEFAULT_START, Clock, ManualClock, SystemClock
from cqrs_lab.errors import InvalidArgumentError


def test_manual_clock_starts_at_the_default_start_and_stays_still_without_a_step() -> None:
    clock = ManualClock()

    assert clock.now() == DEFAULT_START
    assert clock.now() == DEFAULT_START


def test_manual_clock_moves_on_by_step_after_each_reading() -> None:
    clock = ManualClock(step=1.5)

    readings = [clock.now() for _ in range(3)]

    assert readings == [DEFAULT_START + timedelta(seconds=1.5 * i) for i in range(3)]


def test_peek_reads_the_time_without_moving_the_clock() -> None:
    clock = ManualClock(step=1.0)

    assert clock.peek() == DEFAULT_START
    assert clock.peek() == DEFAULT_START
    assert clock.now() == DEFAULT_START
    assert clock.peek() == DEFAULT_START + timedelta(seconds=1)


def test_advance_moves_the_clock_and_returns_the_new_time() -> None:
    start = datetime(2030, 5, 1, tzinfo=UTC)
    clock = ManualClock(start)

    assert clock.advance(90) == start + timedelta(seconds=90)
    assert clock.now() == start + timedelta(seconds=90)


def test_advance_by_a_negative_amount_is_refused_because_time_never_runs_back() -> None:
    clock = ManualClock()

    with pytest.raises(InvalidArgumentError, match="time never runs back") as caught:
        clock.advance(-1)

    assert isinstance(caught.value, ValueError)
    assert clock.peek() == DEFAULT_START


def test_a_naive_start_time_is_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="timezone-aware"):
        ManualClock(datetime(2026, 1, 1))


def test_a_negative_step_is_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="step must be >= 0"):
        ManualClock(step=-0.5)


def test_concurrent_readers_of_a_stepping_clock_never_get_the_same_time() -> None:
    clock = ManualClock(step=1.0)
    readings: list[datetime] = []
    start = threading.Barrier(4, timeout=30)

    def read() -> None:
        start.wait()
        mine = [clock.now() for _ in range(2_000)]
        readings.extend(mine)  # list.extend is atomic under the GIL

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(readings) == 8_000
    assert len(set(readings)) == 8_000
    assert clock.peek() == DEFAULT_START + timedelta(seconds=8_000)


def test_a_stepping_clock_that_runs_out_of_time_raises_on_every_reading_past_the_end() -> None:
    end = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    clock = ManualClock(end, step=1.0)

    assert clock.now() == end  # the last time a datetime can hold
    for _ in range(2):  # an error on one reading leaves the next one failing the same way
        with pytest.raises(OverflowError):
            clock.now()


def test_readings_from_many_threads_are_each_one_step_apart() -> None:
    clock = ManualClock(step=1.0)
    readings: list[datetime] = []

    def read() -> None:
        readings.extend(clock.now() for _ in range(2_000))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(readings) == [DEFAULT_START + timedelta(seconds=s) for s in range(16_000)]


def test_advances_from_another_thread_are_never_lost_between_readings() -> None:
    clock = ManualClock(step=1.0)
    readings: list[datetime] = []
    start = threading.Barrier(4, timeout=30)

    def read() -> None:
        start.wait()
        readings.extend([clock.now() for _ in range(2_000)])

    def advance() -> None:
        start.wait()
        for _ in range(1_000):
            clock.advance(1_000_000)

    threads = [threading.Thread(target=read) for _ in range(3)]
    threads.append(threading.Thread(target=advance))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(set(readings)) == 6_000
    # every reading took one step and every advance its million seconds: none was overwritten
    assert clock.peek() == DEFAULT_START + timedelta(seconds=6_000 + 1_000 * 1_000_000)


def test_advance_moves_on_from_the_next_reading_of_a_stepping_clock() -> None:
    clock = ManualClock(step=1.0)
    clock.now()  # 09:00:00; the next would be 09:00:01

    assert clock.advance(10) == DEFAULT_START + timedelta(seconds=11)
    assert clock.now() == DEFAULT_START + timedelta(seconds=11)
    assert clock.peek() == DEFAULT_START + timedelta(seconds=12)


def test_system_clock_tells_timezone_aware_utc_time() -> None:
    before = datetime.now(UTC)
    now = SystemClock().now()
    after = datetime.now(UTC)

    assert now.tzinfo is UTC
    assert before <= now <= after


def test_both_clocks_satisfy_the_clock_protocol() -> None:
    assert isinstance(ManualClock(), Clock)
    assert isinstance(SystemClock(), Clock)


def test_manual_clock_repr_shows_the_current_time_and_step() -> None:
    assert repr(ManualClock(step=2.0)) == "ManualClock('2026-01-01T09:00:00+00:00', step=2.0)"


def test_a_reader_that_kept_the_bound_now_follows_an_advance() -> None:
    clock = ManualClock(step=1.0)
    read = clock.now
    read()

    clock.advance(3600)

    assert read() == DEFAULT_START + timedelta(seconds=3601)


def test_manual_clock_is_a_clock_as_a_class_too() -> None:
    assert issubclass(ManualClock, Clock)
    assert issubclass(SystemClock, Clock)
