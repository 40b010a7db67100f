"""Simulate CQRS in virtual time: projection lag, outages, poison events, rebuilds, stale reads.

A :class:`Scenario` holds the knobs; :func:`simulate` runs it with a seed through the kit's real
command bus, event store, projectors and waiter, driven by a :class:`VirtualClock`, and returns
a :class:`SimulationResult` of pandas DataFrames. The same scenario and seed give the same
results on every run. :mod:`cqrs_lab.sim.sweep` runs one many times over a knob;
:mod:`cqrs_lab.ui.charts` draws the results; ``python -m cqrs_lab simulate`` runs one from the
command line.

The playbook's Template 4 (batches of 100, a 0.1 s sleep after each) applies at most 1,000
events per second, however cheap each event is:

>>> free = ProjectorConfig(cost_per_event=0, cost_per_batch=0)
>>> flood = ConstantArrivals(rate=2000, end=20)
>>> result = simulate(Scenario(arrivals=flood, projectors=(free,), duration=20))
>>> result.summary.loc["item_counts", ["events", "checkpoint"]].tolist()
[40000, 19901]

The commands are the simulation's own (:mod:`cqrs_lab.sim.items`: ``AddItem`` appends one
``ItemAdded``, a projection counts items per key), not the Order example's: still through the
real bus, store and projector, but cheap enough that a run spends its time there (about 9 us
per event, most of it the command bus and the store) and a 20,000-event scenario runs in about
0.2 s of CPU time.

Time in a simulation is virtual: what happens at a given instant is decided by the scenario's
costs, never by how fast this machine is, so wall time never enters the results.
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
