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

>>> result = simulate(Scenario(duration=5, arrivals=ConstantArrivals(rate=100, end=5)), seed=1)
>>> result.events
500
>>> result.timeline[["time", "head", "checkpoint", "lag_events"]].iloc[[10, 50]]
    time  head  checkpoint  lag_events
10   1.0   101          93           8
50   5.0   500         495           5
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable
from datetime import datetime

import numpy as np

from cqrs_lab.clock import DEFAULT_START
from cqrs_lab.command_bus import CommandBus
from cqrs_lab.consistency import ConsistencyWaiter
from cqrs_lab.errors import InvalidArgumentError, ProjectionFailedError
from cqrs_lab.event_store import InMemoryEventStore, Receipt
from cqrs_lab.ids import SequentialIds
from cqrs_lab.projection import ReadModel
from cqrs_lab.projector import FailurePolicy, Projector, Rebuild, RebuildMode
from cqrs_lab.query_bus import QueryBus
from cqrs_lab.sim.items import (
    AddItem,
    CountItems,
    ItemCounts,
    ItemCountsModel,
    NonAtomicCheckpoint,
    item_counts,
    register_item_handlers,
    register_item_queries,
)
from cqrs_lab.sim.results import Disturbance, SimulationResult, build_result
from cqrs_lab.sim.scenario import (
    ConstantArrivals,
    Outage,
    OutageKind,
    ProjectorConfig,
    RebuildPlan,
    Scenario,
    SleepMode,
)
from cqrs_lab.sim.scheduler import Scheduler, VirtualClock

__all__ = ["Progress", "Simulation", "simulate"]

_ = ConstantArrivals  # used by the doctest above

Progress = Callable[[float, float], None]
"""Called with (virtual seconds done, virtual seconds in all) as a simulation runs."""

# what runs first when several things happen at the same virtual time
_CONTROL, _ARRIVAL, _READ, _PROJECTOR, _SAMPLE = 0, 1, 2, 3, 9
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
        self.workers: dict[str, _Worker] = {}
        for config in scenario.projectors:
            self.workers[config.name] = _Worker(self, config)
        self.projectors: dict[str, Projector[int]] = {
            name: worker.projector for name, worker in self.workers.items()
        }
        self.queries = QueryBus()
        register_item_queries(self.queries, lambda name: self.projectors[name].read_model)
        self.waiter = ConsistencyWaiter(
            self.store, self.projectors.values(), clock=self.clock, timer=self._seconds
        )
        self._timeline: list[tuple[object, ...]] = []
        self._reads: list[tuple[object, ...]] = []
        self._plan_arrivals()
        self._plan_disturbances()
        if any(w.config.sleep is SleepMode.NOTIFY for w in self.workers.values()):
            self.store.subscribe(self._on_append)
        for worker in self.workers.values():
            worker.kick()
        self._sample_index = 0
        self.scheduler.at(0.0, self._sample, priority=_SAMPLE)

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
        readers = scenario.readers
        self._read_every = readers.every if readers is not None else 0
        self._read_countdown = self._read_every
        if commands:
            self.scheduler.at(self.arrival_times[0], self._arrive, priority=_ARRIVAL)

    def _plan_disturbances(self) -> None:
        scenario = self.scenario
        at = self.scheduler.at
        for outage in scenario.outages:
            for worker in self._targets(outage.projection):
                at(outage.start, _bind(worker.outage_start, outage), priority=_CONTROL)
                at(outage.end, worker.outage_end, priority=_CONTROL)
        poison = scenario.poison
        if poison is not None and poison.fixed_at is not None:
            for worker in self.workers.values():
                at(poison.fixed_at, worker.fix, priority=_CONTROL)
        plan = scenario.rebuild
        if plan is not None:
            for worker in self._targets(plan.projection or scenario.projectors[0].name):
                at(plan.at, _bind(worker.start_rebuild, plan), priority=_CONTROL)

    def _targets(self, name: str | None) -> list[_Worker]:
        return list(self.workers.values()) if name is None else [self.workers[name]]

    # -- commands and readers --------------------------------------------------------------------

    def _arrive(self) -> None:
        # the arrivals run one after another in place while nothing else is due in between
        # (scheduler.take), which saves a heap push and pop per command
        commands = self._commands
        times = self.arrival_times
        dispatch = self.commands.dispatch
        take = self.scheduler.take
        count = len(commands)
        index = self._next_arrival
        while True:
            self._next_arrival = index + 1
            receipt = dispatch(commands[index])
            if self._read_every:
                self._read_countdown -= 1
                if self._read_countdown == 0:
                    self._read_countdown = self._read_every
                    self._start_read(receipt)
            index += 1
            if index >= count:
                return
            if not take(times[index], _ARRIVAL):
                self.scheduler.at(times[index], self._arrive, priority=_ARRIVAL)
                return

    def _start_read(self, receipt: Receipt) -> None:
        readers = self.scenario.readers
        assert readers is not None
        if readers.think_time:
            self.scheduler.after(readers.think_time, _bind(self._read, receipt), priority=_READ)
        else:
            self._read(receipt)

    def _read(self, receipt: Receipt) -> None:
        readers = self.scenario.readers
        assert readers is not None
        name = readers.projection or self.scenario.projectors[0].name
        issued_at = self.clock.seconds
        if readers.timeout is None:
            self._answer(name, receipt, issued_at, False, False)
            return
        _PendingRead(self, name, receipt, issued_at, readers.timeout)

    def _answer(
        self, name: str, receipt: Receipt, issued_at: float, waited: bool, timed_out: bool
    ) -> None:
        now = self.clock.seconds
        key = receipt.stream_id
        value = self.queries.dispatch(CountItems(projection=name, key=key))
        checkpoint = self.projectors[name].checkpoint
        expected = self.store.stream_version(key)
        self._reads.append(
            (
                issued_at,
                now,
                name,
                key,
                receipt.position,
                waited,
                now - issued_at,
                timed_out,
                checkpoint >= receipt.position,
                value >= receipt.stream_version,
                value == expected,
                max(receipt.position - checkpoint, 0),
                value,
                expected,
            )
        )

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
        rows = self._timeline
        for name, worker in self.workers.items():
            projector = worker.projector
            report = projector.lag(now)
            model = projector.read_model
            total = model.total  # type: ignore[attr-defined]
            checkpoint = report.checkpoint
            rows.append(
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
            self.scheduler.at(following, self._sample, priority=_SAMPLE)

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
        """Run up to virtual time ``until`` (default: the scenario's duration); returns self.

        The garbage collector is paused meanwhile (as :mod:`timeit` does): a run allocates
        millions of objects that form no reference cycles, and scanning them again and again
        would cost a tenth to a quarter of the time.
        """
        duration = self.scenario.duration
        end = duration if until is None else until
        if not (isinstance(end, int | float) and self.clock.seconds <= end <= duration):
            raise InvalidArgumentError(
                f"until must be between now ({self.clock.seconds:g} s) and the duration "
                f"({duration:g} s), found {until!r}"
            )
        collecting = gc.isenabled()
        gc.disable()
        try:
            if progress is None:
                self.scheduler.run(until=end)
                return self
            start = self.clock.seconds
            for chunk in range(1, _PROGRESS_CHUNKS + 1):
                self.scheduler.run(until=start + (end - start) * chunk / _PROGRESS_CHUNKS)
                progress(self.clock.seconds, duration)
            return self
        finally:
            if collecting:
                gc.enable()

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
            self._reads,
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


def _bind(function: Callable[..., object], *args: object) -> Callable[[], object]:
    def call() -> object:
        return function(*args)

    return call


class _PendingRead:
    """A reader waiting on the waiter, with a timer: whichever comes first answers."""

    __slots__ = ("cancel_wait", "done", "issued_at", "name", "receipt", "sim", "timer")

    def __init__(
        self, sim: Simulation, name: str, receipt: Receipt, issued_at: float, timeout: float
    ) -> None:
        self.sim = sim
        self.name = name
        self.receipt = receipt
        self.issued_at = issued_at
        self.done = False
        self.timer = sim.scheduler.after(timeout, self.expire, priority=_READ)
        self.cancel_wait = sim.waiter.on_reached(receipt.position, self.reached, [name])

    def reached(self) -> None:
        if self.done:
            return
        self.done = True
        self.sim.scheduler.cancel(self.timer)
        self.sim._answer(self.name, self.receipt, self.issued_at, True, False)

    def expire(self) -> None:
        if self.done:
            return
        self.done = True
        self.cancel_wait()
        self.sim._answer(self.name, self.receipt, self.issued_at, True, True)


class _Worker:
    """The process around one projector: when it polls, commits, sleeps, pauses, crashes."""

    def __init__(self, sim: Simulation, config: ProjectorConfig) -> None:
        self.sim = sim
        self.config = config
        scheduler = sim.scheduler
        self.scheduler = scheduler
        poison = sim.scenario.poison
        self.projection: ItemCounts = item_counts(
            config.name, None if poison is None else poison.failures
        )
        self.projector: Projector[int] = Projector(
            sim.store,
            self.projection,
            self._new_model(),
            batch_size=config.batch_size,
            policy=config.policy,
            max_attempts=config.max_attempts,
            backoff=config.backoff,
            clock=sim.clock,
            pause=self._pause,
        )
        self.projection.sla = config.sla
        self.pending: int | None = None  # scheduler token of the next poll or commit
        self.in_flight = 0  # events read by the batch being processed
        self.due = 0.0  # when that batch commits
        self.remaining: float | None = None  # batch time left when a pause froze it
        self.debt = 0.0  # retry pauses taken inside the last batch
        self.down: OutageKind | None = None
        self.suspended = False  # stopped for an in-place rebuild
        self.blocked = False  # stopped on a failure
        self.idle = False  # waiting for an append notification
        self.rebuild: Rebuild[int] | None = None
        self.rebuild_plan: RebuildPlan | None = None
        self.rebuild_failed = False
        self.rebuild_finished = False
        self.rebuild_finished_at: float | None = None
        self._poll_interval = config.poll_interval
        self._always_sleep = config.sleep is SleepMode.ALWAYS
        self._notify = config.sleep is SleepMode.NOTIFY

    def _new_model(self) -> ReadModel[int]:
        model = ItemCountsModel(self.config.name)
        every = self.config.checkpoint_every
        return model if every is None else NonAtomicCheckpoint(model, every)

    def _pause(self, seconds: float) -> None:
        # a retry's backoff: the batch ends that much later (committed at its start: see docs)
        self.debt += seconds

    @property
    def status(self) -> str:
        """What the process is doing: running, paused, crashed, rebuilding or stopped."""
        if self.down is not None:
            return "crashed" if self.down is OutageKind.CRASH else "paused"
        if self.suspended:
            return "rebuilding"
        if self.blocked:
            return "stopped"
        return "running"

    @property
    def rebuild_progress(self) -> float:
        """Share of the rebuild done: NaN before it starts (or if it failed), 1 once finished."""
        rebuild = self.rebuild
        if rebuild is None:
            return 1.0 if self.rebuild_finished else math.nan
        return rebuild.done / rebuild.total if rebuild.total else 1.0

    # -- the loop ----------------------------------------------------------------------------------

    def kick(self, delay: float = 0.0) -> None:
        """Poll after ``delay`` unless something is already scheduled or the process is held."""
        if self.pending is None and self.down is None and not self.suspended and not self.blocked:
            self.pending = self.scheduler.after(delay, self.poll, priority=_PROJECTOR)

    def poll(self) -> None:
        """Look at the log: start a batch, or go idle."""
        self.pending = None
        projector = self.projector
        if projector.failure is not None:
            self.blocked = True
            return
        config = self.config
        count = min(config.batch_size, self.sim.store.head - projector.checkpoint)
        if count <= 0:
            if self._notify:
                self.idle = True
            else:
                self.pending = self.scheduler.after(
                    config.cost_per_batch + self._poll_interval, self.poll, priority=_PROJECTOR
                )
            return
        cost = config.cost_per_batch + count * config.cost_per_event
        self.in_flight = count
        self.due = self.scheduler.now + cost
        self.pending = self.scheduler.at(self.due, self.commit, priority=_PROJECTOR)

    def commit(self) -> None:
        """The batch is done: let the real projector apply and commit it."""
        self.pending = None
        count, self.in_flight = self.in_flight, 0
        try:
            self.projector.run_batch(limit=count)
        except ProjectionFailedError:
            self.blocked = True
            self.debt = 0.0
            return
        delay, self.debt = self.debt, 0.0
        if self._always_sleep:
            delay += self._poll_interval
        self.pending = self.scheduler.after(delay, self.poll, priority=_PROJECTOR)

    # -- disturbances ------------------------------------------------------------------------------

    def outage_start(self, outage: Outage) -> None:
        """Freeze (pause) or kill (crash) the process."""
        self.down = outage.kind
        self.idle = False
        if self.pending is not None:
            self.scheduler.cancel(self.pending)
            self.pending = None
            if self.in_flight and outage.kind is OutageKind.PAUSE:
                self.remaining = self.due - self.scheduler.now
            else:
                self.in_flight = 0
        if outage.kind is OutageKind.CRASH:
            self.debt = 0.0
            model = self.projector.read_model
            if isinstance(model, NonAtomicCheckpoint):
                model.crash()

    def outage_end(self) -> None:
        """Go on (after a pause) or restart from the saved checkpoint (after a crash)."""
        crashed = self.down is OutageKind.CRASH
        self.down = None
        if crashed and self.blocked:
            self.blocked = False  # a restart tries the failed event again
            self.projector.resume()
        if self.remaining is not None:
            remaining, self.remaining = self.remaining, None
            self.due = self.scheduler.now + remaining
            self.pending = self.scheduler.at(self.due, self.commit, priority=_PROJECTOR)
        else:
            self.kick()

    def fix(self) -> None:
        """The fix for the poison event is deployed: resume, replay dead letters."""
        self.projection.fix()
        projector = self.projector
        if projector.policy is FailurePolicy.DEAD_LETTER:
            projector.replay_dead_letters()
        if self.blocked:
            self.blocked = False
            projector.resume()
            self.kick()

    # -- rebuilds ----------------------------------------------------------------------------------

    def start_rebuild(self, plan: RebuildPlan) -> None:
        """Begin rebuilding; in place, the live loop stops until the log has been replayed."""
        if self.rebuild is not None:
            return
        self.rebuild_plan = plan
        if plan.mode is RebuildMode.IN_PLACE:
            self.suspended = True
            self.blocked = False  # the rebuild starts over, failure forgotten
            if self.pending is not None:
                self.scheduler.cancel(self.pending)
                self.pending = None
            self.in_flight = 0
            self.remaining = None
            self.rebuild = self.projector.start_rebuild(RebuildMode.IN_PLACE)
        else:
            self.rebuild = self.projector.start_rebuild(
                RebuildMode.BLUE_GREEN, read_model=self._new_model()
            )
        self._rebuild_poll()

    def _rebuild_poll(self) -> None:
        rebuild = self.rebuild
        plan = self.rebuild_plan
        assert rebuild is not None and plan is not None
        count = max(min(plan.batch_size, self.sim.store.head - rebuild.target.checkpoint), 0)
        cost = self.config.cost_per_batch + count * self.config.cost_per_event
        self.scheduler.after(cost, _bind(self._rebuild_commit, max(count, 1)), priority=_PROJECTOR)

    def _rebuild_commit(self, count: int) -> None:
        rebuild = self.rebuild
        assert rebuild is not None
        try:
            rebuild.step(limit=count)
        except ProjectionFailedError:
            self.rebuild_failed = True
            self.rebuild = None
            if self.suspended:  # in place: the live projector now stops on that event
                self.suspended = False
                self.blocked = True
            return
        if not rebuild.finished:
            self._rebuild_poll()
            return
        self.rebuild = None
        self.rebuild_finished = True
        self.rebuild_finished_at = self.scheduler.now
        if self.suspended:
            self.suspended = False
            self.kick()
