"""measure_lag, SLA breaches and lag_frame, all derived from the log with a ManualClock."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from readside_support import TagCounts, append_tags, new_store

from cqrs_lab.clock import DEFAULT_START, ManualClock
from cqrs_lab.event_store import InMemoryEventStore
from cqrs_lab.lag import LagReport, lag_frame, measure_lag
from cqrs_lab.projection import ConsistencySLA
from cqrs_lab.projector import Projector

T0 = DEFAULT_START


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def store_and_clock() -> tuple[InMemoryEventStore, ManualClock]:
    """Three events recorded at T0, T0+10 s and T0+20 s; the clock then reads T0+25 s."""
    store, clock = new_store()
    append_tags(store, "a")
    clock.advance(10)
    append_tags(store, "b")
    clock.advance(10)
    append_tags(store, "c")
    clock.advance(5)
    return store, clock


@pytest.fixture
def store(store_and_clock: tuple[InMemoryEventStore, ManualClock]) -> InMemoryEventStore:
    return store_and_clock[0]


@pytest.fixture
def clock(store_and_clock: tuple[InMemoryEventStore, ManualClock]) -> ManualClock:
    return store_and_clock[1]


def test_the_fixture_records_events_at_the_times_the_tests_rely_on(
    store: InMemoryEventStore, clock: ManualClock
) -> None:
    assert [r.recorded_at for r in store.read_all()] == [at(0), at(10), at(20)]
    assert clock.peek() == at(25)


@pytest.mark.parametrize(
    ("checkpoint", "events_behind", "seconds_behind"),
    [(0, 3, 25.0), (1, 2, 15.0), (2, 1, 5.0)],
)
def test_lag_counts_unapplied_events_and_the_age_of_the_oldest(
    store: InMemoryEventStore, checkpoint: int, events_behind: int, seconds_behind: float
) -> None:
    report = measure_lag(store, "counts", checkpoint, at(25))

    assert (report.projection, report.measured_at, report.head) == ("counts", at(25), 3)
    assert (report.checkpoint, report.events_behind) == (checkpoint, events_behind)
    assert report.seconds_behind == seconds_behind
    assert not report.caught_up


def test_seconds_behind_grows_as_the_clock_advances(
    store: InMemoryEventStore, clock: ManualClock
) -> None:
    before = measure_lag(store, "counts", 1, clock.now())
    clock.advance(7.5)
    after = measure_lag(store, "counts", 1, clock.now())

    assert after.seconds_behind - before.seconds_behind == 7.5
    assert after.events_behind == before.events_behind == 2


def test_a_caught_up_projection_has_no_lag_and_no_breach(store: InMemoryEventStore) -> None:
    sla = ConsistencySLA(max_events=0, max_seconds=0.0)

    report = measure_lag(store, "counts", 3, at(1000), sla)

    assert (report.events_behind, report.seconds_behind) == (0, 0.0)
    assert report.caught_up
    assert (report.in_breach, report.breach_since) == (False, None)


def test_an_empty_log_has_no_lag() -> None:
    store, clock = new_store()

    report = measure_lag(store, "counts", 0, clock.now())

    assert (report.head, report.events_behind, report.seconds_behind) == (0, 0, 0.0)


def test_breach_by_events_began_when_the_first_event_past_the_bound_was_recorded(
    store: InMemoryEventStore,
) -> None:
    report = measure_lag(store, "counts", 0, at(25), ConsistencySLA(max_events=1))

    # one event behind is allowed; the second (position 2, recorded at T0+10) broke the SLA
    assert report.in_breach
    assert report.breach_since == at(10)


def test_exactly_max_events_behind_is_within_the_sla(store: InMemoryEventStore) -> None:
    report = measure_lag(store, "counts", 1, at(25), ConsistencySLA(max_events=2))

    assert report.events_behind == 2
    assert (report.in_breach, report.breach_since) == (False, None)


def test_a_zero_event_bound_is_breached_from_the_oldest_unapplied_event(
    store: InMemoryEventStore,
) -> None:
    report = measure_lag(store, "counts", 1, at(25), ConsistencySLA(max_events=0))

    assert report.breach_since == at(10)


def test_breach_by_seconds_began_when_the_oldest_unapplied_event_became_too_old(
    store: InMemoryEventStore,
) -> None:
    report = measure_lag(store, "counts", 1, at(25), ConsistencySLA(max_seconds=4))

    # the oldest unapplied event (position 2) was recorded at T0+10: too old from T0+14 on
    assert report.in_breach
    assert report.breach_since == at(14)


def test_exactly_max_seconds_behind_is_within_the_sla(store: InMemoryEventStore) -> None:
    report = measure_lag(store, "counts", 1, at(25), ConsistencySLA(max_seconds=15))

    assert report.seconds_behind == 15.0
    assert not report.in_breach


@pytest.mark.parametrize(
    ("sla", "breach_since"),
    [
        # events bound broken at T0+10, seconds bound at T0+0+4: the earlier one counts
        (ConsistencySLA(max_events=1, max_seconds=4), at(4)),
        # events bound broken at T0+10, seconds bound at T0+15
        (ConsistencySLA(max_events=1, max_seconds=15), at(10)),
        # only the events bound is broken (25 s behind is within 30 s)
        (ConsistencySLA(max_events=1, max_seconds=30), at(10)),
        # only the seconds bound is broken (3 behind is within 5)
        (ConsistencySLA(max_events=5, max_seconds=4), at(4)),
    ],
)
def test_breach_since_is_the_earlier_of_the_two_bounds(
    store: InMemoryEventStore, sla: ConsistencySLA, breach_since: datetime
) -> None:
    report = measure_lag(store, "counts", 0, at(25), sla)

    assert report.breach_since == breach_since


def test_within_both_bounds_there_is_no_breach(store: InMemoryEventStore) -> None:
    report = measure_lag(store, "counts", 0, at(25), ConsistencySLA(max_events=3, max_seconds=25))

    assert (report.in_breach, report.breach_since) == (False, None)


def test_as_row_flattens_the_report_with_its_sla() -> None:
    sla = ConsistencySLA(max_events=1, max_seconds=2.0)
    report = LagReport("counts", at(5), 4, 1, 3, 5.0, sla, at(1))

    assert report.as_row() == {
        "projection": "counts",
        "measured_at": at(5),
        "head": 4,
        "checkpoint": 1,
        "events_behind": 3,
        "seconds_behind": 5.0,
        "sla_events": 1,
        "sla_seconds": 2.0,
        "in_breach": True,
        "breach_since": at(1),
    }


def test_lag_frame_has_one_row_per_projection(store: InMemoryEventStore) -> None:
    reports = [
        measure_lag(store, "fast", 3, at(25)),
        measure_lag(store, "slow", 0, at(25), ConsistencySLA(max_events=1)),
    ]

    frame = lag_frame(reports)

    assert frame.index.name == "projection"
    assert list(frame.index) == ["fast", "slow"]
    assert list(frame.columns) == [
        "measured_at",
        "head",
        "checkpoint",
        "events_behind",
        "seconds_behind",
        "sla_events",
        "sla_seconds",
        "in_breach",
        "breach_since",
    ]
    assert frame["events_behind"].tolist() == [0, 3]
    assert frame["in_breach"].tolist() == [False, True]
    assert frame.loc["slow", "breach_since"] == at(10)


def test_lag_frame_of_no_reports_is_empty_with_the_columns() -> None:
    frame = lag_frame([])

    assert len(frame) == 0
    assert "events_behind" in frame.columns


class SlaCounts(TagCounts):
    sla = ConsistencySLA(max_events=1, max_seconds=60)


def test_projector_lag_measures_against_its_projections_sla(
    store: InMemoryEventStore, clock: ManualClock
) -> None:
    projector = Projector(store, SlaCounts(), clock=clock)

    report = projector.lag()

    assert report.sla == SlaCounts.sla
    assert (report.events_behind, report.seconds_behind) == (3, 25.0)
    assert report.breach_since == at(10)
    projector.catch_up()
    assert not projector.lag().in_breach


def test_projector_lag_without_an_sla_is_never_in_breach(
    store: InMemoryEventStore, clock: ManualClock
) -> None:
    report = Projector(store, TagCounts(), clock=clock).lag(now=at(10_000))

    assert report.sla is None
    assert report.seconds_behind == 10_000.0
    assert not report.in_breach
