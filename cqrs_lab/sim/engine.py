"""Run a :class:`~cqrs_lab.sim.scenario.Scenario` in virtual time through the kit's real parts.

Commands go through the real :class:`~cqrs_lab.command_bus.CommandBus` into the real
:class:`~cqrs_lab.event_store.InMemoryEventStore`; real :class:`~cqrs_lab.projector.Projector`
objects apply them in batches; readers wait on the real
:class:`~cqrs_lab.consistency.ConsistencyWaiter` and ask the real
:class:`~cqrs_lab.query_bus.QueryBus`. The simulation only decides *when* each of them acts --
a projector's batch is committed ``cost_per_batch + n * cost_per_event`` virtual seconds after
it was read -- and every clock they hold is the :class:`~cqrs_lab.sim.scheduler.VirtualClock`.

Randomness comes only from ``numpy.random.default_rng(seed)``: the same scenario and seed give
the same DataFrames, bit for bit.

Simplifications, on purpose: a retry's backoff delays the projector's next batch, but the batch
that retried becomes visible when it ends, not after the backoff; outages stop the live
projector, not a rebuild in progress; a read still waiting when the run ends is not recorded.

>>> from cqrs_lab.sim.arrivals import ConstantArrivals
>>> result = simulate(Scenario(duration=5, arrivals=ConstantArrivals(rate=100, end=5)), seed=1)
>>> result.events
500
>>> result.timeline[["time", "head", "checkpoint", "lag_events"]].iloc[[10, 50]]
    time  head  checkpoint  lag_events
10   1.0   101          93           8
50   5.0   500         495           5
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from datetime import datetime

import numpy as np

from cqrs_lab.clock import DEFAULT_START
from cqrs_lab.command_bus import CommandBus
from cqrs_lab.consistency import ConsistencyWaiter
from cqrs_lab.errors import InvalidArgumentError
from cqrs_lab.event_store import InMemoryEventStore
from cqrs_lab.ids import SequentialIds
from cqrs_lab.projector import Projector
from cqrs_lab.query_bus import QueryBus
from cqrs_lab.sim.items import AddItem, register_item_handlers, register_item_queries
from cqrs_lab.sim.priorities import Priority
from cqrs_lab.sim.projector_worker import ProjectorWorker
from cqrs_lab.sim.reads import SimulatedReaders
from cqrs_lab.sim.results import Disturbance, SimulationResult, build_result
from cqrs_lab.sim.scenario import Scenario, SleepMode
from cqrs_lab.sim.scheduler import Scheduler, VirtualClock

__all__ = ["Progress", "Simulation", "simulate"]

Progress = Callable[[float, float], None]
"""Called with (virtual seconds done, virtual seconds in all) as a simulation runs."""

_PROGRESS_CHUNKS = 100


class Simulation:
    """One run of a scenario: the real components, wired to a virtual clock, and their schedule.

    Build it, then :meth:`run` it (all at once, or ``until`` some time, any number of times), and
    read :meth:`result`. Everything is public for a notebook to look at mid-run: ``store``,
    ``commands``, ``queries``, ``projectors``, ``waiter``, ``scheduler``, ``clock``.
    """

    def __init__(
        self, scenario: Scenario | None = None, *, seed: int = 42, start: datetime = DEFAULT_START
    ) -> None:
        scenario = scenario or Scenario()
        if not isinstance(scenario, Scenario):
            raise InvalidArgumentError(f"expected a Scenario, found {type(scenario).__name__}")
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise InvalidArgumentError(f"seed must be a whole number >= 0, found {seed!r}")
        self.scenario = scenario
        self.seed = int(seed)
        self.clock = VirtualClock(start)
        self.scheduler = Scheduler(self.clock)
        self.store = InMemoryEventStore(clock=self.clock)
        self.commands = CommandBus(clock=self.clock, ids=SequentialIds("cmd", width=7))
        register_item_handlers(self.commands, self.store)
        self.workers: dict[str, ProjectorWorker] = {}
        for config in scenario.projectors:
            self.workers[config.name] = ProjectorWorker(
                config, store=self.store, scheduler=self.scheduler, poison=scenario.poison
            )
        self.projectors: dict[str, Projector[int]] = {
            name: worker.projector for name, worker in self.workers.items()
        }
        self.queries = QueryBus()
        register_item_queries(self.queries, lambda name: self.projectors[name].read_model)
        self.waiter = ConsistencyWaiter(
            self.store, self.projectors.values(), clock=self.clock, timer=self._seconds
        )
        self.readers: SimulatedReaders | None = None
        if scenario.readers is not None:
            name = scenario.readers.projection or scenario.projectors[0].name
            self.readers = SimulatedReaders(
                scenario.readers,
                projector=self.projectors[name],
                scheduler=self.scheduler,
                queries=self.queries,
                waiter=self.waiter,
                store=self.store,
            )
        self._timeline: list[tuple[object, ...]] = []
        self._plan_arrivals()
        self._plan_disturbances()
        if any(w.config.sleep is SleepMode.NOTIFY for w in self.workers.values()):
            self.store.subscribe(self._on_append)
        for worker in self.workers.values():
            worker.kick()
        self._sample_index = 0
        self.scheduler.at(0.0, self._sample, priority=Priority.SAMPLE)

    def _seconds(self) -> float:
        return self.clock.seconds

    # -- the plan ----------------------------------------------------------------------------------

    def _plan_arrivals(self) -> None:
        scenario = self.scenario
        rng = np.random.default_rng(self.seed)
        times = scenario.arrivals.arrival_times(rng)
        times = times[times <= scenario.duration]
        keys = rng.integers(0, scenario.keys, size=times.size)
        width = len(str(scenario.keys - 1))
        names = [f"item-{k:0{width}d}" for k in range(scenario.keys)]
        templates = [AddItem(key=name) for name in names]
        commands = [templates[k] for k in keys.tolist()]
        poison = scenario.poison
        if poison is not None:
            if poison.at_event > len(commands):
                raise InvalidArgumentError(
                    f"Poison.at_event must be at most the number of arrivals within the duration "
                    f"({len(commands)}), found {poison.at_event}"
                )
            index = poison.at_event - 1
            commands[index] = AddItem(key=commands[index].key, poison=True)
        self.arrival_times: list[float] = times.tolist()
        self._commands = commands
        self._next_arrival = 0
        if commands:
            self.scheduler.at(self.arrival_times[0], self._arrive, priority=Priority.ARRIVAL)

    def _plan_disturbances(self) -> None:
        scenario = self.scenario
        at = self.scheduler.at
        for outage in scenario.outages:
            for worker in self._targets(outage.projection):
                at(
                    outage.start,
                    functools.partial(worker.outage_start, outage),
                    priority=Priority.CONTROL,
                )
                at(outage.end, worker.outage_end, priority=Priority.CONTROL)
        poison = scenario.poison
        if poison is not None and poison.fixed_at is not None:
            for worker in self.workers.values():
                at(poison.fixed_at, worker.fix, priority=Priority.CONTROL)
        plan = scenario.rebuild
        if plan is not None:
            for worker in self._targets(plan.projection or scenario.projectors[0].name):
                at(
                    plan.at,
                    functools.partial(worker.start_rebuild, plan),
                    priority=Priority.CONTROL,
                )

    def _targets(self, name: str | None) -> list[ProjectorWorker]:
        return list(self.workers.values()) if name is None else [self.workers[name]]

    # -- commands and readers --------------------------------------------------------------------

    def _arrive(self) -> None:
        # the arrivals run one after another in place while nothing else is due in between
        # (scheduler.take), which saves a heap push and pop per command
        times = self.arrival_times
        index = self._next_arrival
        while True:
            self._next_arrival = index + 1
            receipt = self.commands.dispatch(self._commands[index])
            if self.readers is not None:
                self.readers.after_command(receipt)
            index += 1
            if index >= len(self._commands):
                return
            if not self.scheduler.take(times[index], Priority.ARRIVAL):
                self.scheduler.at(times[index], self._arrive, priority=Priority.ARRIVAL)
                return

    def _on_append(self, head: int) -> None:
        for worker in self.workers.values():
            if worker.idle:
                worker.idle = False
                worker.kick()

    # -- the timeline ------------------------------------------------------------------------------

    def _sample(self) -> None:
        now = self.clock.now()
        seconds = self.clock.seconds
        head = self.store.head
        for name, worker in self.workers.items():
            projector = worker.projector
            report = projector.lag(now)
            model = projector.read_model
            total = model.total  # type: ignore[attr-defined]
            checkpoint = report.checkpoint
            self._timeline.append(
                (
                    seconds,
                    name,
                    head,
                    checkpoint,
                    getattr(model, "saved_checkpoint", checkpoint),
                    report.events_behind,
                    report.seconds_behind,
                    report.in_breach,
                    worker.status,
                    worker.rebuild_progress,
                    total,
                    max(total - checkpoint, 0),
                    max(checkpoint - total, 0),
                    len(projector.dead_letters),
                )
            )
        self._sample_index += 1
        # rounded, so that the sample after 10.0 s is at 10.1 s and not at 10.100000000000001 s
        following = round(self._sample_index * self.scenario.step, 9)
        if following <= self.scenario.duration:
            self.scheduler.at(following, self._sample, priority=Priority.SAMPLE)

    # -- running -----------------------------------------------------------------------------------

    @property
    def now(self) -> float:
        """Virtual seconds since the start."""
        return self.clock.seconds

    @property
    def finished(self) -> bool:
        """Whether the simulation has reached its duration."""
        return self.clock.seconds >= self.scenario.duration

    def run(self, until: float | None = None, *, progress: Progress | None = None) -> Simulation:
        """Run up to virtual time ``until`` (default: the scenario's duration); returns self."""
        duration = self.scenario.duration
        end = duration if until is None else until
        if not (isinstance(end, int | float) and self.clock.seconds <= end <= duration):
            raise InvalidArgumentError(
                f"until must be between now ({self.clock.seconds:g} s) and the duration "
                f"({duration:g} s), found {until!r}"
            )
        if progress is None:
            self.scheduler.run(until=end)
            return self
        start = self.clock.seconds
        for chunk in range(1, _PROGRESS_CHUNKS + 1):
            self.scheduler.run(until=start + (end - start) * chunk / _PROGRESS_CHUNKS)
            progress(self.clock.seconds, duration)
        return self

    def result(self) -> SimulationResult:
        """The timeline, reads and summary so far, as DataFrames."""
        letters = [
            (
                name,
                letter.position,
                letter.stream_id,
                letter.event_type,
                letter.error,
                self.clock.to_seconds(letter.failed_at),
                letter.attempts,
            )
            for name, projector in self.projectors.items()
            for letter in projector.dead_letters
        ]
        return build_result(
            self.scenario,
            self.seed,
            self._timeline,
            self.readers.rows if self.readers is not None else [],
            letters,
            events=self.store.head,
            until=self.clock.seconds,
            disturbances=self._disturbances(),
        )

    def _disturbances(self) -> list[Disturbance]:
        found: list[Disturbance] = []
        poison = self.scenario.poison
        if poison is not None:
            hit = self.arrival_times[poison.at_event - 1]
            for name, worker in self.workers.items():
                if poison.fixed_at is not None:
                    fixed = max(poison.fixed_at, hit)
                elif worker.blocked:
                    fixed = math.inf  # stopped on it, and no fix is coming
                else:
                    fixed = hit  # got past it on its own
                found.append(Disturbance("poison", hit, fixed, name))
        plan = self.scenario.rebuild
        for name, worker in self.workers.items():
            if plan is not None and worker.rebuild_plan is not None:
                done = worker.rebuild_finished_at
                label = f"rebuild {plan.mode.value} at {plan.at:g} s"
                found.append(Disturbance(label, plan.at, math.inf if done is None else done, name))
        return found

    def __repr__(self) -> str:
        return (
            f"Simulation(now={self.clock.seconds:g}, head={self.store.head}, "
            f"projectors={list(self.workers)}, seed={self.seed})"
        )


def simulate(
    scenario: Scenario | None = None, *, seed: int = 42, progress: Progress | None = None
) -> SimulationResult:
    """Run ``scenario`` (default: :class:`Scenario()`) to its end and return its results."""
    return Simulation(scenario, seed=seed).run(progress=progress).result()
