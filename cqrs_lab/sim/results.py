"""A simulation's results as pandas DataFrames: the timeline, the reads, and a summary.

- ``timeline``: one row per projection per sample (every ``Scenario.step`` virtual seconds):
  time, head, checkpoint (and the checkpoint actually saved), lag in events and in seconds,
  whether the SLA is breached, the projector's status, rebuild progress, and what the item
  counter holds (its total, and the duplicates or missing items it shows).
- ``reads``: one row per read: when it was issued and answered, whether it used the waiter, how
  long it waited, whether it timed out, whether it was fresh (the read model had the reader's
  write), whether the answer showed the reader's own write, and whether it was exactly right.
- ``summary``: one row per projection: maximum lag, time to drain after a burst or outage, time
  in breach of its SLA, stale-read rate, read-your-writes success, wait p50/p95/p99.
- ``drains``: one row per disturbance (burst, outage, poison, rebuild) and projection.

Figures drawn from the timeline are measured at its step: a finer step, a finer measure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cqrs_lab.sim.scenario import BurstArrivals, Scenario

__all__ = [
    "DRAIN_COLUMNS",
    "READ_COLUMNS",
    "SUMMARY_COLUMNS",
    "TIMELINE_COLUMNS",
    "Disturbance",
    "SimulationResult",
    "build_result",
    "drain_frame",
    "reads_frame",
    "summarize",
    "timeline_frame",
]

TIMELINE_COLUMNS: dict[str, str] = {
    "time": "float64",
    "projection": "object",
    "head": "int64",
    "checkpoint": "int64",
    "saved_checkpoint": "int64",
    "lag_events": "int64",
    "lag_seconds": "float64",
    "in_breach": "bool",
    "status": "object",
    "rebuild_progress": "float64",
    "items_counted": "int64",
    "duplicates": "int64",
    "missing": "int64",
    "dead_letters": "int64",
}
"""The timeline's columns and their dtypes."""

READ_COLUMNS: dict[str, str] = {
    "issued_at": "float64",
    "answered_at": "float64",
    "projection": "object",
    "key": "object",
    "position": "int64",
    "used_waiter": "bool",
    "waited": "float64",
    "timed_out": "bool",
    "fresh": "bool",
    "sees_own_write": "bool",
    "correct": "bool",
    "events_behind": "int64",
    "value": "int64",
    "expected": "int64",
}
"""The reads' columns and their dtypes (times in virtual seconds)."""

SUMMARY_COLUMNS: tuple[str, ...] = (
    "events",
    "checkpoint",
    "max_lag_events",
    "max_lag_seconds",
    "mean_lag_events",
    "final_lag_events",
    "time_in_breach",
    "drain_time",
    "reads",
    "stale_read_rate",
    "ryw_success",
    "correct_rate",
    "timeouts",
    "wait_p50",
    "wait_p95",
    "wait_p99",
    "duplicates",
    "missing",
    "dead_letters",
)
"""The summary's columns (its index is the projection's name)."""

DRAIN_COLUMNS: tuple[str, ...] = (
    "disturbance",
    "projection",
    "start",
    "end",
    "baseline_lag",
    "peak_lag",
    "drained_at",
    "drain_time",
)
"""The drains' columns."""

_LETTER_COLUMNS = (
    "projection",
    "position",
    "stream_id",
    "event_type",
    "error",
    "failed_at",
    "attempts",
)


@dataclass(frozen=True, slots=True)
class Disturbance:
    """Something that makes lag grow, from ``start`` to ``end``; ``projection`` None: all."""

    label: str
    start: float
    end: float
    projection: str | None = None


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """Everything a run produced, as DataFrames, with the scenario and seed that produced it."""

    scenario: Scenario
    seed: int
    timeline: pd.DataFrame
    reads: pd.DataFrame
    summary: pd.DataFrame
    drains: pd.DataFrame
    dead_letters: pd.DataFrame
    events: int
    """Events appended in all."""
    until: float
    """Virtual seconds simulated."""

    def projection(self, name: str | None = None) -> pd.DataFrame:
        """The timeline of one projection (default: the first), indexed by time."""
        name = name or self.scenario.projectors[0].name
        rows = self.timeline[self.timeline["projection"] == name]
        return rows.set_index("time")

    def __repr__(self) -> str:
        return (
            f"SimulationResult(events={self.events}, until={self.until:g} s, seed={self.seed}, "
            f"samples={len(self.timeline)}, reads={len(self.reads)})"
        )


def _frame(rows: Sequence[tuple[object, ...]], columns: dict[str, str]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(list(rows), columns=list(columns))
    return frame.astype(columns)


def timeline_frame(rows: Sequence[tuple[object, ...]]) -> pd.DataFrame:
    """The timeline from rows in :data:`TIMELINE_COLUMNS` order."""
    return _frame(rows, TIMELINE_COLUMNS)


def reads_frame(rows: Sequence[tuple[object, ...]]) -> pd.DataFrame:
    """The reads from rows in :data:`READ_COLUMNS` order."""
    return _frame(rows, READ_COLUMNS)


def scenario_disturbances(scenario: Scenario) -> list[Disturbance]:
    """The bursts and outages a scenario plans (poison and rebuild times come from the run)."""
    found: list[Disturbance] = []
    arrivals = scenario.arrivals
    if isinstance(arrivals, BurstArrivals):
        for burst in arrivals.bursts:
            found.append(
                Disturbance(f"burst {burst.start:g}-{burst.end:g} s", burst.start, burst.end)
            )
    for outage in scenario.outages:
        label = f"{outage.kind.value} {outage.start:g}-{outage.end:g} s"
        found.append(Disturbance(label, outage.start, outage.end, outage.projection))
    return found


def drain_frame(
    scenario: Scenario, timeline: pd.DataFrame, disturbances: Sequence[Disturbance]
) -> pd.DataFrame:
    """How long each projection took to drain after each disturbance.

    Drained means back within one batch of the head, or to the highest lag of the second before
    the disturbance began, whichever is larger. ``drain_time`` is counted from the disturbance's
    end: infinite if it never drained (or the disturbance never ends), NaN if the run stopped
    before the disturbance ended.
    """
    rows = []
    for disturbance in disturbances:
        for config in scenario.projectors:
            name = config.name
            if disturbance.projection not in (None, name):
                continue
            own = timeline[timeline["projection"] == name]
            times = own["time"].to_numpy()
            lags = own["lag_events"].to_numpy()
            before = lags[(times < disturbance.start) & (times >= disturbance.start - 1.0)]
            baseline = int(before.max()) if before.size else 0
            threshold = max(baseline, config.batch_size)
            during = lags[times >= disturbance.start]
            peak = int(during.max()) if during.size else 0
            drained_at = math.nan
            drain = math.inf if math.isinf(disturbance.end) else math.nan
            if times.size and times[-1] >= disturbance.end:
                after = (times >= disturbance.end) & (lags <= threshold)
                if after.any():
                    drained_at = float(times[np.argmax(after)])
                    drain = drained_at - disturbance.end
                else:
                    drain = math.inf
            rows.append(
                (
                    disturbance.label,
                    name,
                    disturbance.start,
                    disturbance.end,
                    baseline,
                    peak,
                    drained_at,
                    drain,
                )
            )
    return pd.DataFrame.from_records(rows, columns=list(DRAIN_COLUMNS))


def summarize(
    scenario: Scenario,
    timeline: pd.DataFrame,
    reads: pd.DataFrame,
    drains: pd.DataFrame,
    dead_letters: pd.DataFrame,
) -> pd.DataFrame:
    """One row per projection: lag, SLA breach, drain, read freshness and waits."""
    records: list[dict[str, Any]] = []
    for config in scenario.projectors:
        name = config.name
        own = timeline[timeline["projection"] == name]
        mine = reads[reads["projection"] == name]
        drain = drains.loc[drains["projection"] == name, "drain_time"]
        waits = mine["waited"].to_numpy()
        p50, p95, p99 = (
            np.percentile(waits, [50, 95, 99]).tolist() if waits.size else [math.nan] * 3
        )
        last = own.iloc[-1] if len(own) else None
        records.append(
            {
                "events": int(last["head"]) if last is not None else 0,
                "checkpoint": int(last["checkpoint"]) if last is not None else 0,
                "max_lag_events": int(own["lag_events"].max()) if len(own) else 0,
                "max_lag_seconds": float(own["lag_seconds"].max()) if len(own) else 0.0,
                "mean_lag_events": float(own["lag_events"].mean()) if len(own) else 0.0,
                "final_lag_events": int(last["lag_events"]) if last is not None else 0,
                "time_in_breach": (
                    float(own["in_breach"].sum()) * scenario.step
                    if config.sla is not None
                    else math.nan
                ),
                "drain_time": float(drain.max()) if len(drain) else math.nan,
                "reads": len(mine),
                "stale_read_rate": _share(~mine["fresh"]),
                "ryw_success": _share(mine["sees_own_write"]),
                "correct_rate": _share(mine["correct"]),
                "timeouts": int(mine["timed_out"].sum()),
                "wait_p50": p50,
                "wait_p95": p95,
                "wait_p99": p99,
                "duplicates": int(last["duplicates"]) if last is not None else 0,
                "missing": int(last["missing"]) if last is not None else 0,
                "dead_letters": int((dead_letters["projection"] == name).sum()),
            }
        )
    index = pd.Index(scenario.projector_names, name="projection")
    return pd.DataFrame.from_records(records, columns=list(SUMMARY_COLUMNS), index=index)


def _share(flags: pd.Series) -> float:
    return float(flags.mean()) if len(flags) else math.nan


def build_result(
    scenario: Scenario,
    seed: int,
    timeline_rows: Sequence[tuple[object, ...]],
    read_rows: Sequence[tuple[object, ...]],
    letter_rows: Sequence[tuple[object, ...]],
    *,
    events: int,
    until: float,
    disturbances: Sequence[Disturbance] = (),
) -> SimulationResult:
    """Assemble a :class:`SimulationResult` from the rows a simulation collected."""
    timeline = timeline_frame(timeline_rows)
    reads = reads_frame(read_rows)
    letters = pd.DataFrame.from_records(list(letter_rows), columns=list(_LETTER_COLUMNS))
    drains = drain_frame(scenario, timeline, [*scenario_disturbances(scenario), *disturbances])
    summary = summarize(scenario, timeline, reads, drains, letters)
    return SimulationResult(
        scenario=scenario,
        seed=seed,
        timeline=timeline,
        reads=reads,
        summary=summary,
        drains=drains,
        dead_letters=letters,
        events=events,
        until=until,
    )
