"""The simulation's knobs: defaults, arrival processes, and a validation error for each."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from cqrs_lab.errors import InvalidArgumentError
from cqrs_lab.failures import FailurePolicy
from cqrs_lab.rebuild import RebuildMode
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


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_defaults_are_template_4_fed_20000_commands() -> None:
    scenario = Scenario()
    config = scenario.projectors[0]
    assert (config.batch_size, config.poll_interval, config.sleep) == (100, 0.1, SleepMode.ALWAYS)
    assert scenario.arrivals.arrival_times(rng()).size == 20_000
    assert scenario.readers == Readers()


def test_template_4_caps_capacity_at_1000_events_per_second_whatever_the_cost() -> None:
    for cost in (0.0, 1e-9, 1e-6):
        config = ProjectorConfig(cost_per_event=cost, cost_per_batch=0)
        assert config.capacity <= 1000.0
    assert ProjectorConfig(cost_per_event=0, cost_per_batch=0).capacity == 1000.0
    fast = ProjectorConfig(cost_per_event=0.0001, cost_per_batch=0, sleep=SleepMode.WHEN_IDLE)
    assert fast.capacity == pytest.approx(10_000.0)


def test_constant_arrivals_are_evenly_spaced_before_the_end() -> None:
    times = ConstantArrivals(rate=4, start=1, end=2).arrival_times(rng())
    assert times.tolist() == [1.0, 1.25, 1.5, 1.75]


def test_poisson_arrivals_depend_on_the_generator_and_average_the_rate() -> None:
    arrivals = PoissonArrivals(rate=500, end=20)
    first = arrivals.arrival_times(rng(1))
    assert np.array_equal(first, arrivals.arrival_times(rng(1)))
    assert not np.array_equal(first, arrivals.arrival_times(rng(2)))
    assert first.size == pytest.approx(10_000, rel=0.05)
    assert np.all(np.diff(first) >= 0) and first[-1] < 20


def test_bursts_add_to_the_background_in_time_order() -> None:
    arrivals = BurstArrivals(
        rate=10, end=10, bursts=(Burst(start=2, end=3, rate=100), Burst(start=5, end=6, rate=50))
    )
    times = arrivals.arrival_times(rng())
    assert times.size == 100 + 100 + 50
    assert np.all(np.diff(times) >= 0)
    assert ((times >= 2) & (times < 3)).sum() == 110
    assert arrivals.expected_count == 250


def test_a_trace_comes_from_a_frame_of_seconds_or_datetimes_or_a_csv(tmp_path: Path) -> None:
    seconds = TraceArrivals.from_frame(pd.DataFrame({"time": [3.0, 1.0, 2.0]}))
    assert seconds.times == (1.0, 2.0, 3.0)
    stamps = pd.to_datetime(["2026-01-01T09:00:01Z", "2026-01-01T09:00:00.5Z"], format="ISO8601")
    moments = TraceArrivals.from_frame(pd.DataFrame({"at": stamps}), column="at")
    assert moments.times == (0.0, 0.5)
    path = tmp_path / "trace.csv"
    path.write_text("time\n0.25\n0.5\n")
    assert TraceArrivals.from_csv(path).times == (0.25, 0.5)
    iso = tmp_path / "iso.csv"
    iso.write_text("time\n2026-01-01T09:00:00Z\n2026-01-01T09:00:02Z\n")
    assert TraceArrivals.from_csv(iso).times == (0.0, 2.0)


def test_a_trace_without_its_column_names_the_columns_it_found() -> None:
    with pytest.raises(InvalidArgumentError, match=r"needs a column 'time', found columns \['t'\]"):
        TraceArrivals.from_frame(pd.DataFrame({"t": [1.0]}))


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: ConstantArrivals(rate=0), r"ConstantArrivals\.rate must be a number > 0"),
        (lambda: ConstantArrivals(rate=math.nan), r"ConstantArrivals\.rate .* found nan"),
        (lambda: ConstantArrivals(rate=True), r"ConstantArrivals\.rate .* found True"),
        (lambda: PoissonArrivals(rate=-1), r"PoissonArrivals\.rate must be a number > 0"),
        (lambda: PoissonArrivals(start=5, end=5), r"PoissonArrivals\.end must be .*> start \(5\)"),
        (lambda: ConstantArrivals(start=-1), r"ConstantArrivals\.start must be a number >= 0"),
        (lambda: Burst(start=3, end=2, rate=5), r"Burst\.end must be a number > start \(3\)"),
        (lambda: Burst(start=1, end=2, rate=0), r"Burst\.rate must be a number > 0"),
        (lambda: BurstArrivals(bursts=("x",)), r"BurstArrivals\.bursts must be a tuple of Burst"),  # type: ignore[arg-type]
        (lambda: BurstArrivals(rate=0, bursts=()), r"BurstArrivals\.rate must be a number > 0"),
        (lambda: TraceArrivals(times=()), r"TraceArrivals\.times must be a non-empty"),
        (lambda: TraceArrivals(times=(1.0, -2.0)), r"TraceArrivals\.times .* found -2\.0"),
        (lambda: TraceArrivals(times=("a",)), r"TraceArrivals\.times must be a sequence"),  # type: ignore[arg-type]
        (lambda: ProjectorConfig(batch_size=0), r"batch_size must be a whole number >= 1, found 0"),
        (lambda: ProjectorConfig(batch_size=2.5), r"batch_size must be a whole number"),  # type: ignore[arg-type]
        (lambda: ProjectorConfig(poll_interval=-0.1), r"poll_interval must be a number >= 0"),
        (lambda: ProjectorConfig(cost_per_event=-1), r"cost_per_event must be a number >= 0"),
        (lambda: ProjectorConfig(cost_per_batch=math.inf), r"cost_per_batch .* found inf"),
        (lambda: ProjectorConfig(sleep="never"), r"sleep must be one of 'always', "),  # type: ignore[arg-type]
        (lambda: ProjectorConfig(policy="ignore"), r"policy must be one of 'stop'"),  # type: ignore[arg-type]
        (lambda: ProjectorConfig(max_attempts=0), r"max_attempts must be a whole number >= 1"),
        (lambda: ProjectorConfig(checkpoint_every=0), r"checkpoint_every must be .* or None"),
        (
            lambda: ProjectorConfig(silent_skip_pitfall="yes"),  # type: ignore[arg-type]
            r"ProjectorConfig\.silent_skip_pitfall must be True or False, found 'yes'",
        ),
        (lambda: ProjectorConfig(name=" "), r"ProjectorConfig\.name must be a non-blank string"),
        (lambda: ProjectorConfig(sla_seconds=-1), r"sla_seconds must be a number >= 0"),
        (
            lambda: ProjectorConfig(poll_interval=0, cost_per_batch=0),
            r"poll_interval must be > 0 when cost_per_batch is 0",
        ),
        (lambda: Outage(start=10, end=5), r"Outage\.end must be a number > start \(10\), found 5"),
        (lambda: Outage(start=1, end=2, kind="melt"), r"Outage\.kind must be one of 'pause'"),  # type: ignore[arg-type]
        (lambda: Poison(at_event=0), r"Poison\.at_event must be a whole number >= 1, found 0"),
        (lambda: Poison(failures=-1), r"Poison\.failures must be a whole number >= 0"),
        (lambda: Poison(fixed_at=-2), r"Poison\.fixed_at must be a number >= 0"),
        (lambda: RebuildPlan(at=-1), r"RebuildPlan\.at must be a number >= 0"),
        (lambda: RebuildPlan(mode="sideways"), r"RebuildPlan\.mode must be one of"),  # type: ignore[arg-type]
        (lambda: RebuildPlan(batch_size=0), r"RebuildPlan\.batch_size must be a whole number"),
        (lambda: Readers(every=0), r"Readers\.every must be a whole number >= 1, found 0"),
        (lambda: Readers(timeout=-1), r"Readers\.timeout must be a number >= 0"),
        (lambda: Readers(think_time=-1), r"Readers\.think_time must be a number >= 0"),
        (lambda: Scenario(duration=0), r"Scenario\.duration must be a number > 0"),
        (lambda: Scenario(step=0), r"Scenario\.step must be a number > 0"),
        (lambda: Scenario(duration=1, step=2), r"Scenario\.step must be <= duration \(1 s\)"),
        (lambda: Scenario(keys=0), r"Scenario\.keys must be a whole number >= 1"),
        (lambda: Scenario(projectors=()), r"Scenario\.projectors must be at least one"),
        (lambda: Scenario(arrivals=[1.0]), r"Scenario\.arrivals must be one of"),  # type: ignore[arg-type]
        (
            lambda: Scenario(projectors=(ProjectorConfig(), ProjectorConfig())),
            r"Scenario\.projectors must be projectors with distinct names",
        ),
        (
            lambda: Scenario(readers=Readers(projection="nope")),
            r"Scenario\.readers\.projection must be one of \['item_counts'\], found 'nope'",
        ),
        (
            lambda: Scenario(outages=(Outage(start=1, end=5), Outage(start=4, end=6))),
            r"Scenario\.outages must be windows that do not overlap",
        ),
    ],
)
def test_each_knob_rejects_nonsense_naming_field_expectation_and_value(
    build: Any, message: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        build()


def test_strings_are_accepted_for_enums_and_become_members() -> None:
    config = ProjectorConfig(sleep="when_idle", policy="dead_letter")  # type: ignore[arg-type]
    assert config.sleep is SleepMode.WHEN_IDLE
    assert config.policy is FailurePolicy.DEAD_LETTER
    assert Outage(start=0, end=1, kind="crash").kind is OutageKind.CRASH  # type: ignore[arg-type]
    assert RebuildPlan(mode="in_place").mode is RebuildMode.IN_PLACE  # type: ignore[arg-type]


def test_replace_and_with_projectors_validate_again() -> None:
    scenario = Scenario().with_projectors(batch_size=10)
    assert scenario.projector().batch_size == 10
    assert scenario.replace(duration=5).duration == 5
    with pytest.raises(InvalidArgumentError, match="batch_size"):
        scenario.with_projectors(batch_size=-1)


def test_projector_lookup_by_name_says_which_exist() -> None:
    with pytest.raises(
        InvalidArgumentError, match=r"no projector named 'x'; found \['item_counts'\]"
    ):
        Scenario().projector("x")


def test_sla_comes_from_the_config() -> None:
    assert ProjectorConfig(sla_seconds=None).sla is None
    sla = ProjectorConfig(sla_events=50, sla_seconds=None).sla
    assert sla is not None and sla.max_events == 50
