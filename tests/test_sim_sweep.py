"""Sweeps: lag against the arrival/throughput ratio, reads against the waiter's timeout."""

from __future__ import annotations

import numpy as np
import pytest

from cqrs_lab.errors import InvalidArgumentError
from cqrs_lab.sim.scenario import (
    BurstArrivals,
    ConstantArrivals,
    ProjectorConfig,
    Readers,
    Scenario,
    SleepMode,
)
from cqrs_lab.sim.sweep import sweep, sweep_arrival_ratio, sweep_waiter_timeout

QUICK = Scenario(duration=20, arrivals=ConstantArrivals(end=20), readers=None)


def test_lag_stays_flat_below_capacity_and_grows_at_the_difference_above() -> None:
    table = sweep_arrival_ratio(QUICK, ratios=(0.5, 0.9, 1.5, 2.0))
    capacity = QUICK.projectors[0].capacity
    assert table["ratio"].tolist() == [0.5, 0.9, 1.5, 2.0]
    assert np.allclose(table["arrival_rate"], table["ratio"] * capacity)
    below, above = table[table["ratio"] < 1], table[table["ratio"] > 1]
    assert (below["lag_slope"].abs() < 1).all()
    expected = above["arrival_rate"] - capacity
    assert np.allclose(above["lag_slope"], expected, rtol=0.02)
    assert table["max_lag_events"].is_monotonic_increasing


def test_a_longer_waiter_timeout_means_fewer_stale_reads() -> None:
    scenario = QUICK.replace(readers=Readers(every=5))
    table = sweep_waiter_timeout(scenario, timeouts=(0.0, 0.05, 0.1, 0.5))
    assert table["timeout"].tolist() == [0.0, 0.05, 0.1, 0.5]
    assert table["stale_read_rate"].iloc[0] == 1.0
    assert table["stale_read_rate"].iloc[-1] == 0.0
    assert table["stale_read_rate"].is_monotonic_decreasing
    assert table["ryw_success"].is_monotonic_increasing
    assert (table["wait_p95"] <= table["timeout"] + 1e-9).all()


def test_sweep_tabulates_any_knob() -> None:
    table = sweep(
        QUICK,
        [10, 100],
        lambda base, size: base.with_projectors(batch_size=size),
        name="batch_size",
    )
    assert table["batch_size"].tolist() == [10, 100]
    assert str(table["max_lag_events"].dtype) == "int64"
    assert table["max_lag_events"].iloc[0] != table["max_lag_events"].iloc[1]


def test_ratio_sweep_needs_plain_arrivals_a_finite_capacity_and_positive_ratios() -> None:
    with pytest.raises(InvalidArgumentError, match="constant or Poisson arrivals, found Burst"):
        sweep_arrival_ratio(QUICK.replace(arrivals=BurstArrivals()))
    free = ProjectorConfig(cost_per_event=0, cost_per_batch=0, sleep=SleepMode.NOTIFY)
    with pytest.raises(InvalidArgumentError, match="finite capacity"):
        sweep_arrival_ratio(QUICK.replace(projectors=(free,)))
    with pytest.raises(InvalidArgumentError, match="ratios must be numbers > 0, found -1"):
        sweep_arrival_ratio(QUICK, ratios=(1.0, -1))
