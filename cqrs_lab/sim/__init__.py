"""Simulate CQRS in virtual time: projection lag, outages, poison events, rebuilds, stale reads.

A :class:`Scenario` holds the knobs; :func:`simulate` runs it with a seed through the kit's real
command bus, event store, projectors and waiter, driven by a :class:`VirtualClock`, and returns
a :class:`SimulationResult` of pandas DataFrames. The same scenario and seed give the same
results on every run. :mod:`cqrs_lab.ui.charts` draws them; ``python -m cqrs_lab simulate``
runs one from the command line.
"""

from cqrs_lab.sim.engine import Progress, Simulation, simulate
from cqrs_lab.sim.results import Disturbance, SimulationResult
from cqrs_lab.sim.scenario import (
    Arrivals,
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
from cqrs_lab.sim.scheduler import Scheduler, VirtualClock
from cqrs_lab.sim.sweep import sweep, sweep_arrival_ratio, sweep_waiter_timeout

__all__ = [
    "Arrivals",
    "Burst",
    "BurstArrivals",
    "ConstantArrivals",
    "Disturbance",
    "Outage",
    "OutageKind",
    "Poison",
    "PoissonArrivals",
    "Progress",
    "ProjectorConfig",
    "Readers",
    "RebuildPlan",
    "Scenario",
    "Scheduler",
    "Simulation",
    "SimulationResult",
    "SleepMode",
    "TraceArrivals",
    "VirtualClock",
    "simulate",
    "sweep",
    "sweep_arrival_ratio",
    "sweep_waiter_timeout",
]
