"""Run a scenario many times, changing one knob, and tabulate the summaries.

:func:`sweep_arrival_ratio` shows what happens as arrivals approach and pass what a projector
can apply (lag stays bounded below a ratio of 1 and grows without end above it);
:func:`sweep_waiter_timeout` shows what a reader's waiter timeout buys. Both return a DataFrame
with one row per value, ready for :mod:`cqrs_lab.ui.charts`.

>>> quick = Scenario(duration=10, arrivals=ConstantArrivals(end=10), readers=None)
>>> table = sweep_arrival_ratio(quick, ratios=(0.5, 2.0))
>>> table[["ratio", "arrival_rate", "final_lag_events"]].round(1)
   ratio  arrival_rate  final_lag_events
0    0.5         446.4                34
1    2.0        1785.7              8957
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from cqrs_lab.errors import InvalidArgumentError
from cqrs_lab.sim.engine import simulate
from cqrs_lab.sim.results import SimulationResult
from cqrs_lab.sim.scenario import (
    ConstantArrivals,
    PoissonArrivals,
    Readers,
    Scenario,
)

__all__ = ["sweep", "sweep_arrival_ratio", "sweep_waiter_timeout"]

V = TypeVar("V")


def sweep(
    scenario: Scenario,
    values: Iterable[V],
    vary: Callable[[Scenario, V], Scenario],
    *,
    name: str = "value",
    seed: int = 42,
    projection: str | None = None,
    extra: Callable[[SimulationResult], dict[str, Any]] | None = None,
) -> pd.DataFrame:
    """For each value, run ``vary(scenario, value)`` and keep its summary row.

    The result has the value in column ``name``, then the summary's columns for ``projection``
    (default: the first), then whatever ``extra(result)`` adds.
    """
    rows = []
    for value in values:
        result = simulate(vary(scenario, value), seed=seed)
        summary = result.summary
        row: dict[str, Any] = {name: value}
        index = projection or summary.index[0]
        row.update({column: summary.at[index, column] for column in summary.columns})
        if extra is not None:
            row.update(extra(result))
        rows.append(row)
    return pd.DataFrame(rows)


def lag_slope(result: SimulationResult, start: float, end: float) -> float:
    """How fast lag grew (events per second) from ``start`` to ``end``, by least squares."""
    timeline = result.projection()
    window = timeline[(timeline.index >= start) & (timeline.index <= end)]
    if len(window) < 2:
        return math.nan
    return float(np.polyfit(window.index.to_numpy(), window["lag_events"].to_numpy(), 1)[0])


def sweep_arrival_ratio(
    scenario: Scenario | None = None,
    ratios: Iterable[float] = (0.25, 0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0),
    *,
    seed: int = 42,
) -> pd.DataFrame:
    """Lag as the arrival rate goes from below to above what the first projector can apply.

    Each run sets the arrival rate to ``ratio`` times the projector's capacity (see
    :attr:`~cqrs_lab.sim.scenario.ProjectorConfig.capacity`), keeping the arrivals' window and
    kind (constant or Poisson). ``lag_slope`` is the lag's growth over the second half of the
    arrival window: about ``arrival_rate - throughput`` above a ratio of 1, about 0 below.
    """
    scenario = scenario or Scenario(readers=None)
    arrivals = scenario.arrivals
    if not isinstance(arrivals, ConstantArrivals | PoissonArrivals):
        raise InvalidArgumentError(
            f"sweep_arrival_ratio needs constant or Poisson arrivals, found "
            f"{type(arrivals).__name__}"
        )
    capacity = scenario.projectors[0].capacity
    if math.isinf(capacity):
        raise InvalidArgumentError(
            "sweep_arrival_ratio needs a projector with a finite capacity, found one that costs "
            "nothing and never sleeps"
        )
    ratios = list(ratios)
    for ratio in ratios:
        if not (isinstance(ratio, int | float) and ratio > 0 and math.isfinite(ratio)):
            raise InvalidArgumentError(f"ratios must be numbers > 0, found {ratio!r}")
    start, end = arrivals.start, min(arrivals.end, scenario.duration)
    kind = type(arrivals)

    def vary(base: Scenario, ratio: float) -> Scenario:
        return base.replace(arrivals=kind(rate=ratio * capacity, start=start, end=end))

    def extra(result: SimulationResult) -> dict[str, Any]:
        rate = result.scenario.arrivals.rate  # type: ignore[union-attr]
        return {
            "arrival_rate": rate,
            "throughput": capacity,
            "lag_slope": lag_slope(result, (start + end) / 2, end),
        }

    table = sweep(scenario, ratios, vary, name="ratio", seed=seed, extra=extra)
    first = ["ratio", "arrival_rate", "throughput", "lag_slope"]
    return table[first + [c for c in table.columns if c not in first]]


def sweep_waiter_timeout(
    scenario: Scenario | None = None,
    timeouts: Iterable[float] = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0),
    *,
    seed: int = 42,
) -> pd.DataFrame:
    """Stale reads, read-your-writes success and waits, for each waiter timeout.

    Readers keep the scenario's other settings (or the defaults); a timeout of 0 is the same as
    reading without the waiter.
    """
    scenario = scenario or Scenario()
    readers = scenario.readers or Readers()
    timeouts = list(timeouts)

    def vary(base: Scenario, timeout: float) -> Scenario:
        return base.replace(
            readers=Readers(
                every=readers.every,
                timeout=timeout,
                think_time=readers.think_time,
                projection=readers.projection,
            )
        )

    table = sweep(scenario, timeouts, vary, name="timeout", seed=seed)
    columns = [
        "timeout",
        "reads",
        "stale_read_rate",
        "ryw_success",
        "correct_rate",
        "timeouts",
        "wait_p50",
        "wait_p95",
        "wait_p99",
        "max_lag_events",
    ]
    return table[columns]
