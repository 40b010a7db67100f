"""Simulations through the real components: determinism, analytic cases, and each disturbance."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

from cqrs_lab.errors import InvalidArgumentError
from cqrs_lab.event_store import InMemoryEventStore
from cqrs_lab.failures import FailurePolicy
from cqrs_lab.projector import Projector
from cqrs_lab.rebuild import RebuildMode
from cqrs_lab.sim.engine import Simulation, simulate
from cqrs_lab.sim.items import ItemCounts
from cqrs_lab.sim.results import (
    READ_COLUMNS,
    SUMMARY_COLUMNS,
    TIMELINE_COLUMNS,
    SimulationResult,
)
from cqrs_lab.sim.scenario import (
    Burst,
    BurstArrivals,
    ConstantArrivals,
    Outage,
    OutageKind,
    Poison,
    PoissonArrivals,
    ProjectorConfig,
    Readers,
    RebuildPlan,
    Scenario,
    SleepMode,
    TraceArrivals,
)
from cqrs_lab.sim.scheduler import VirtualClock

SEED = 42

# 200 commands/s for 25 s, 5 s to drain: small enough to run in a blink
SHORT = Scenario(duration=30, arrivals=ConstantArrivals(rate=200, end=25))
# Template 4 with free work: the only limit is 100 events per 0.1 s sleep
FREE_TEMPLATE_4 = ProjectorConfig(cost_per_event=0, cost_per_batch=0)


def cell(frame: pd.DataFrame, row: object, column: str) -> Any:
    """One value of ``frame``, untyped (pandas-stubs type a cell as a union of every scalar)."""
    value: Any = frame.loc[row, column]  # type: ignore[index]
    return value


def slope(frame: pd.DataFrame, column: str, start: float, end: float) -> float:
    """Least-squares slope of ``column`` against time between ``start`` and ``end``."""
    rows = frame[(frame["time"] >= start) & (frame["time"] <= end)]
    return float(np.polyfit(rows["time"], rows[column], 1)[0])


# -- the real components, in virtual time -----------------------------------------------------


def test_the_simulation_drives_the_real_components_with_its_virtual_clock() -> None:
    sim = Simulation(SHORT, seed=SEED)
    assert isinstance(sim.store, InMemoryEventStore)
    assert isinstance(sim.projectors["item_counts"], Projector)
    assert isinstance(sim.clock, VirtualClock)
    assert sim.commands.clock is sim.clock and sim.waiter.clock is sim.clock
    sim.run(until=10.0)
    assert sim.now == 10.0
    last = sim.store.read_all(sim.store.head - 1)[0]
    assert sim.clock.to_seconds(last.recorded_at) == pytest.approx(10.0)
    assert last.causation_id.startswith("cmd-")
    sim.run()
    assert sim.finished
    assert sim.projectors["item_counts"].checkpoint == sim.store.head == 5000


def test_frames_have_the_documented_columns_and_dtypes() -> None:
    result = simulate(SHORT, seed=SEED)
    assert list(result.timeline.columns) == list(TIMELINE_COLUMNS)
    assert {c: str(t) for c, t in result.timeline.dtypes.items()} == TIMELINE_COLUMNS
    assert list(result.reads.columns) == list(READ_COLUMNS)
    assert list(result.summary.columns) == list(SUMMARY_COLUMNS)
    assert list(result.summary.index) == ["item_counts"]
    assert len(result.timeline) == 301  # every 0.1 s from 0 to 30 inclusive
    assert result.timeline["time"].iloc[-1] == 30.0
    assert len(result.reads) == 500  # every 10th of 5,000 senders


def test_run_refuses_to_go_back_or_past_the_duration() -> None:
    sim = Simulation(SHORT).run(until=5.0)
    with pytest.raises(InvalidArgumentError, match="until must be between now"):
        sim.run(until=4.0)
    with pytest.raises(InvalidArgumentError, match=r"duration \(30 s\)"):
        sim.run(until=31.0)


def test_a_bad_seed_or_poison_beyond_the_arrivals_is_rejected() -> None:
    with pytest.raises(InvalidArgumentError, match="seed must be a whole number >= 0, found -1"):
        Simulation(SHORT, seed=-1)
    with pytest.raises(InvalidArgumentError, match=r"Poison\.at_event .* \(5000\), found 9999"):
        Simulation(SHORT.replace(poison=Poison(at_event=9999)))


def test_progress_is_reported_up_to_the_duration() -> None:
    seen: list[tuple[float, float]] = []
    simulate(SHORT, progress=lambda done, total: seen.append((done, total)))
    assert len(seen) == 100
    assert seen[-1] == (30.0, 30.0)
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(seen))


# -- determinism ------------------------------------------------------------------------------


def test_same_scenario_and_seed_give_identical_frames() -> None:
    scenario = SHORT.replace(
        arrivals=PoissonArrivals(rate=300, end=25),
        readers=Readers(every=5, timeout=0.2),
        outages=(Outage(start=10, end=12, kind="crash"),),  # type: ignore[arg-type]
    ).with_projectors(checkpoint_every=150)
    first = simulate(scenario, seed=7)
    second = simulate(scenario, seed=7)
    assert_frame_equal(first.timeline, second.timeline, check_exact=True)
    assert_frame_equal(first.reads, second.reads, check_exact=True)
    assert_frame_equal(first.summary, second.summary, check_exact=True)
    assert_frame_equal(first.drains, second.drains, check_exact=True)


def test_different_seeds_give_different_arrivals() -> None:
    scenario = SHORT.replace(arrivals=PoissonArrivals(rate=200, end=25))
    one = simulate(scenario, seed=1)
    two = simulate(scenario, seed=2)
    assert one.events != two.events or not one.timeline["head"].equals(two.timeline["head"])
    assert not one.reads["issued_at"].equals(two.reads["issued_at"])


# -- analytic cases ---------------------------------------------------------------------------


def test_a_projector_faster_than_arrivals_keeps_lag_bounded() -> None:
    result = simulate(SHORT, seed=SEED)
    own = result.timeline
    config = SHORT.projectors[0]
    cycle = config.poll_interval + config.cost_per_batch + 100 * config.cost_per_event
    # at most the arrivals of one cycle plus the batch being applied
    assert own["lag_events"].max() <= math.ceil(200 * cycle) + 1
    assert abs(slope(own, "lag_events", 2, 25)) < 0.5
    assert cell(result.summary, "item_counts", "final_lag_events") == 0


def test_a_slower_projector_grows_lag_at_the_rate_difference() -> None:
    # capacity 100 / (0.1 + 0.005 + 100 * 0.0005) = 645 events/s, arrivals 1,500/s
    config = ProjectorConfig(cost_per_batch=0.005, cost_per_event=0.0005)
    scenario = Scenario(
        duration=20, arrivals=ConstantArrivals(rate=1500, end=20), projectors=(config,)
    )
    result = simulate(scenario, seed=SEED)
    growth = slope(result.timeline, "lag_events", 2, 20)
    assert growth == pytest.approx(1500 - config.capacity, rel=0.02)


def test_template_4_defaults_cap_a_projector_at_1000_events_per_second() -> None:
    scenario = Scenario(
        duration=8,
        arrivals=ConstantArrivals(rate=5000, end=8),
        projectors=(FREE_TEMPLATE_4,),
        readers=None,
    )

    def throughput(result: SimulationResult) -> float:
        timeline = result.timeline.set_index("time")["checkpoint"]
        return float(timeline.loc[8.0] - timeline.loc[1.0]) / 7.0

    assert throughput(simulate(scenario, seed=SEED)) == pytest.approx(1000, rel=0.015)
    faster = simulate(scenario.with_projectors(sleep=SleepMode.WHEN_IDLE, cost_per_event=1e-4))
    assert throughput(faster) == pytest.approx(5000, rel=0.015)


def test_a_notify_projector_trails_by_at_most_the_event_in_hand() -> None:
    result = simulate(SHORT.with_projectors(sleep=SleepMode.NOTIFY), seed=SEED)
    assert cell(result.summary, "item_counts", "max_lag_events") <= 1


# -- readers and the waiter -------------------------------------------------------------------


def test_readers_without_the_waiter_read_stale_data_right_after_their_write() -> None:
    result = simulate(SHORT, seed=SEED)
    reads = result.reads
    assert not reads["used_waiter"].any()
    assert (reads["waited"] == 0).all()
    assert cell(result.summary, "item_counts", "stale_read_rate") == 1.0


def test_a_long_enough_waiter_timeout_gives_read_your_writes() -> None:
    result = simulate(SHORT.replace(readers=Readers(timeout=0.5)), seed=SEED)
    summary = result.summary.loc["item_counts"]
    assert summary["stale_read_rate"] == 0.0 and summary["ryw_success"] == 1.0
    assert summary["timeouts"] == 0
    assert 0 < summary["wait_p50"] <= summary["wait_p95"] <= summary["wait_p99"] <= 0.5


def test_a_short_waiter_timeout_times_out_and_reports_stale_reads() -> None:
    result = simulate(SHORT.replace(readers=Readers(timeout=0.02)), seed=SEED)
    reads = result.reads
    timed_out = reads[reads["timed_out"]]
    assert len(timed_out) > 0
    assert not timed_out["fresh"].any()
    assert np.allclose(timed_out["waited"], 0.02)
    assert (reads.loc[~reads["timed_out"], "fresh"]).all()


def test_think_time_delays_the_read() -> None:
    result = simulate(SHORT.replace(readers=Readers(think_time=0.5)), seed=SEED)
    assert cell(result.summary, "item_counts", "stale_read_rate") == 0.0


# -- outages ----------------------------------------------------------------------------------


def test_a_pause_lets_lag_build_up_then_drain() -> None:
    result = simulate(SHORT.replace(outages=(Outage(start=10, end=12),)), seed=SEED)
    timeline = result.timeline.set_index("time")
    assert (timeline.loc[10.1:11.9, "status"] == "paused").all()
    assert cell(timeline, 11.9, "lag_events") > 350
    drains = result.drains
    assert list(drains["disturbance"]) == ["pause 10-12 s"]
    assert 0 < drains["drain_time"].iloc[0] < 2
    assert cell(result.summary, "item_counts", "duplicates") == 0


def test_a_crash_with_an_atomic_checkpoint_loses_no_item_and_counts_none_twice() -> None:
    outage = Outage(start=10.05, end=12, kind="crash")  # type: ignore[arg-type]
    result = simulate(SHORT.replace(outages=(outage,)), seed=SEED)
    assert (result.timeline["duplicates"] == 0).all()
    assert (result.timeline["missing"] == 0).all()
    assert cell(result.summary, "item_counts", "checkpoint") == 5000


def test_a_crash_with_a_non_atomic_checkpoint_counts_items_twice() -> None:
    outage = Outage(start=10.05, end=12, kind="crash")  # type: ignore[arg-type]
    scenario = SHORT.replace(outages=(outage,)).with_projectors(checkpoint_every=250)
    result = simulate(scenario, seed=SEED)
    timeline = result.timeline.set_index("time")
    assert (timeline["checkpoint"] >= timeline["saved_checkpoint"]).all()
    rolled_back = cell(timeline, 10.0, "checkpoint") - cell(timeline, 10.1, "checkpoint")
    assert rolled_back > 0
    duplicates = cell(result.summary, "item_counts", "duplicates")
    assert duplicates == rolled_back
    assert cell(result.summary, "item_counts", "checkpoint") == 5000  # caught up, but wrong


# -- poison events under each policy ----------------------------------------------------------


def poisoned(policy: FailurePolicy, **poison: object) -> Scenario:
    return SHORT.replace(poison=Poison(at_event=1000, **poison)).with_projectors(  # type: ignore[arg-type]
        policy=policy
    )


def test_stop_holds_the_projector_before_the_poison_until_the_fix() -> None:
    result = simulate(poisoned(FailurePolicy.STOP, fixed_at=15.0), seed=SEED)
    timeline = result.timeline.set_index("time")
    assert (timeline.loc[6.0:14.9, "checkpoint"] == 999).all()
    assert (timeline.loc[6.0:14.9, "status"] == "stopped").all()
    assert cell(timeline, 30.0, "checkpoint") == 5000
    assert cell(result.summary, "item_counts", "missing") == 0


def test_stop_without_a_fix_never_drains() -> None:
    result = simulate(poisoned(FailurePolicy.STOP), seed=SEED)
    assert cell(result.summary, "item_counts", "checkpoint") == 999
    assert cell(result.summary, "item_counts", "drain_time") == math.inf


def test_retry_gets_past_a_transient_fault_after_its_backoff() -> None:
    result = simulate(poisoned(FailurePolicy.RETRY, failures=2), seed=SEED)
    summary = result.summary.loc["item_counts"]
    assert summary["checkpoint"] == 5000 and summary["missing"] == 0
    assert (result.timeline["status"] == "running").all()


def test_retry_stops_once_attempts_run_out() -> None:
    result = simulate(poisoned(FailurePolicy.RETRY, failures=5), seed=SEED)
    assert cell(result.summary, "item_counts", "checkpoint") == 999


def test_dead_letter_parks_the_poison_moves_on_and_replays_it_after_the_fix() -> None:
    unfixed = simulate(poisoned(FailurePolicy.DEAD_LETTER), seed=SEED)
    assert cell(unfixed.summary, "item_counts", "dead_letters") == 1
    assert cell(unfixed.summary, "item_counts", "missing") == 1
    assert list(unfixed.dead_letters["position"]) == [1000]
    fixed = simulate(poisoned(FailurePolicy.DEAD_LETTER, fixed_at=20.0), seed=SEED)
    assert cell(fixed.summary, "item_counts", "dead_letters") == 0
    assert cell(fixed.summary, "item_counts", "missing") == 0


def test_silent_skip_loses_the_poison_item_for_good(caplog: pytest.LogCaptureFixture) -> None:
    scenario = poisoned(FailurePolicy.STOP, fixed_at=20.0).with_projectors(silent_skip_pitfall=True)
    result = simulate(scenario, seed=SEED)
    assert cell(result.summary, "item_counts", "missing") == 1
    assert cell(result.summary, "item_counts", "dead_letters") == 0
    assert "Projection error" in caplog.text


# -- rebuilds ---------------------------------------------------------------------------------


def test_an_in_place_rebuild_empties_the_view_that_readers_see() -> None:
    plan = RebuildPlan(at=10.0, mode=RebuildMode.IN_PLACE, batch_size=100)
    result = simulate(SHORT.replace(rebuild=plan), seed=SEED)
    timeline = result.timeline.set_index("time")
    during = timeline[timeline["status"] == "rebuilding"]
    assert len(during) > 0
    assert (during["lag_events"] > 400).all()
    assert during["rebuild_progress"].between(0, 1).all()
    assert cell(timeline, 30.0, "rebuild_progress") == 1.0
    assert cell(timeline, 30.0, "checkpoint") == 5000
    reads = result.reads
    meanwhile = reads[reads["answered_at"].between(during.index.min(), during.index.max())]
    assert len(meanwhile) > 0 and (meanwhile["events_behind"] > 400).all()


def test_a_blue_green_rebuild_keeps_serving_the_old_view() -> None:
    plan = RebuildPlan(at=10.0, mode=RebuildMode.BLUE_GREEN, batch_size=100)
    result = simulate(SHORT.replace(rebuild=plan), seed=SEED)
    timeline = result.timeline
    assert not (timeline["status"] == "rebuilding").any()
    assert timeline["lag_events"].max() <= 25
    progress = timeline["rebuild_progress"].dropna()
    assert progress.iloc[0] < 1.0 and progress.iloc[-1] == 1.0
    sim = Simulation(SHORT.replace(rebuild=plan), seed=SEED).run()
    assert sim.projectors["item_counts"].generation == 2


def test_rebuild_drain_is_reported_per_projection() -> None:
    plan = RebuildPlan(at=10.0, mode=RebuildMode.IN_PLACE)
    drains = simulate(SHORT.replace(rebuild=plan), seed=SEED).drains
    assert drains["disturbance"].tolist() == ["rebuild in_place at 10 s"]
    assert drains["end"].iloc[0] > 10.0


# -- several projectors, bursts, traces -------------------------------------------------------


def test_each_projection_has_its_own_checkpoint_and_lag() -> None:
    fast = ProjectorConfig(name="fast", sleep=SleepMode.NOTIFY)
    slow = ProjectorConfig(name="slow", cost_per_event=0.002)
    result = simulate(SHORT.replace(projectors=(fast, slow)), seed=SEED)
    summary = result.summary
    assert list(summary.index) == ["fast", "slow"]
    assert cell(summary, "fast", "max_lag_events") < cell(summary, "slow", "max_lag_events")
    assert set(result.timeline["projection"]) == {"fast", "slow"}
    assert (result.reads["projection"] == "fast").all()


def test_each_projector_names_its_own_projection_instance() -> None:
    fast = ProjectorConfig(name="fast", sleep=SleepMode.NOTIFY)
    slow = ProjectorConfig(name="slow", cost_per_event=0.002)
    sim = Simulation(SHORT.replace(projectors=(fast, slow)), seed=SEED)
    projections = {name: projector.projection for name, projector in sim.projectors.items()}
    assert {name: p.name for name, p in projections.items()} == {"fast": "fast", "slow": "slow"}
    # one plain class, named per instance: no class is made at run time for each name
    assert {type(p) for p in projections.values()} == {ItemCounts}


def test_a_burst_is_drained_and_timed() -> None:
    arrivals = BurstArrivals(rate=200, end=25, bursts=(Burst(start=5, end=7, rate=2000),))
    result = simulate(SHORT.replace(arrivals=arrivals), seed=SEED)
    drain = result.drains.set_index("disturbance").loc["burst 5-7 s"]
    assert drain["peak_lag"] > 2000
    # after the burst: ~2,700 events behind, draining at capacity minus arrivals
    capacity = SHORT.projectors[0].capacity
    expected = drain["peak_lag"] / (capacity - 200)
    assert drain["drain_time"] == pytest.approx(expected, rel=0.2)
    assert cell(result.summary, "item_counts", "time_in_breach") > 0


def test_a_recorded_trace_is_replayed_as_is() -> None:
    trace = TraceArrivals(times=(0.5, 0.5, 1.25, 3.0))
    result = simulate(Scenario(arrivals=trace, duration=5, readers=Readers(every=1)))
    assert result.events == 4
    assert result.reads["issued_at"].tolist() == [0.5, 0.5, 1.25, 3.0]


# -- any scenario at all ----------------------------------------------------------------------


@st.composite
def small_scenarios(draw: st.DrawFn) -> Scenario:
    duration = draw(st.floats(1.0, 5.0))
    rate = draw(st.floats(10.0, 400.0))
    config = ProjectorConfig(
        batch_size=draw(st.integers(1, 200)),
        poll_interval=draw(st.sampled_from([0.01, 0.1, 0.5])),
        sleep=draw(st.sampled_from(list(SleepMode))),
        cost_per_event=draw(st.sampled_from([0.0, 1e-4, 2e-3])),
        policy=draw(st.sampled_from(list(FailurePolicy))),
        checkpoint_every=draw(st.sampled_from([None, 7, 50])),
    )
    start = draw(st.floats(0.0, duration - 0.5))
    kind = draw(st.sampled_from([None, OutageKind.PAUSE, OutageKind.CRASH]))
    outages = () if kind is None else (Outage(start=start, end=start + 0.4, kind=kind),)
    events = int(rate * duration * 0.9)
    poison = draw(st.none() | st.just(Poison(at_event=max(events // 2, 1), fixed_at=duration / 2)))
    rebuild = draw(
        st.none()
        | st.builds(
            RebuildPlan, at=st.floats(0.0, duration), mode=st.sampled_from(list(RebuildMode))
        )
    )
    timeout = st.none() | st.floats(0, 0.5)
    readers = draw(st.none() | st.builds(Readers, every=st.integers(1, 5), timeout=timeout))
    return Scenario(
        arrivals=PoissonArrivals(rate=rate, end=duration),
        projectors=(config,),
        outages=outages,
        poison=poison if events >= 2 else None,
        rebuild=rebuild,
        readers=readers,
        duration=duration,
        step=0.05,
        keys=draw(st.integers(1, 20)),
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=small_scenarios(), seed=st.integers(0, 2**32 - 1))
def test_every_scenario_keeps_the_log_and_checkpoints_consistent(
    scenario: Scenario, seed: int
) -> None:
    try:
        result = simulate(scenario, seed=seed)
    except InvalidArgumentError as error:  # a poison beyond the arrivals drawn
        assert "Poison.at_event" in str(error)
        return
    timeline = result.timeline
    assert (timeline["checkpoint"] <= timeline["head"]).all()
    assert (timeline["saved_checkpoint"] <= timeline["checkpoint"]).all()
    assert (timeline["lag_events"] == timeline["head"] - timeline["checkpoint"]).all()
    assert (timeline["lag_seconds"] >= 0).all()
    assert timeline["head"].is_monotonic_increasing
    assert (timeline["time"].diff().dropna() > 0).all()
    reads = result.reads
    assert (reads["answered_at"] >= reads["issued_at"]).all()
    assert (reads.loc[reads["fresh"], "events_behind"] == 0).all()
    if scenario.readers is not None and scenario.readers.timeout is not None:
        assert (reads["waited"] <= scenario.readers.timeout + 1e-9).all()
    if scenario.projectors[0].checkpoint_every is None:
        assert (timeline["duplicates"] == 0).all()
