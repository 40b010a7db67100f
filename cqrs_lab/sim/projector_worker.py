"""The process around one simulated projector: when it polls, commits, sleeps, pauses, crashes.

The real :class:`~cqrs_lab.projector.Projector` applies and commits each batch; the worker only
decides *when*, in virtual time: a batch of ``n`` events read at ``t`` is committed at ``t +
cost_per_batch + n * cost_per_event``, and then the worker sleeps as its
:class:`~cqrs_lab.sim.projector_config.SleepMode` says.

>>> from cqrs_lab.event_store import InMemoryEventStore
>>> from cqrs_lab.sim.items import AddItem, register_item_handlers
>>> from cqrs_lab.sim.scheduler import Scheduler
>>> from cqrs_lab.command_bus import CommandBus
>>> from cqrs_lab.ids import SequentialIds
>>> scheduler = Scheduler()
>>> store = InMemoryEventStore(clock=scheduler.clock)
>>> commands = CommandBus(clock=scheduler.clock, ids=SequentialIds("cmd"))
>>> register_item_handlers(commands, store)
>>> for key in ["a", "b", "a"]:
...     _ = commands.dispatch(AddItem(key=key))
>>> worker = ProjectorWorker(ProjectorConfig(), store=store, scheduler=scheduler)
>>> worker.kick()
>>> _ = scheduler.run(until=0.01)
>>> worker.projector.checkpoint, worker.status  # committed 0.0023 s after the poll
(3, 'running')
"""

from __future__ import annotations

import functools
import math

from cqrs_lab.errors import ProjectionFailedError
from cqrs_lab.event_store import InMemoryEventStore
from cqrs_lab.failures import FailurePolicy
from cqrs_lab.pitfalls import SilentSkip
from cqrs_lab.projection import ReadModel
from cqrs_lab.projector import Projector
from cqrs_lab.rebuild import Rebuild, RebuildMode
from cqrs_lab.sim.disturbances import Outage, OutageKind, Poison, RebuildPlan
from cqrs_lab.sim.items import ItemCounts, ItemCountsModel, NonAtomicCheckpoint
from cqrs_lab.sim.priorities import Priority
from cqrs_lab.sim.projector_config import ProjectorConfig, SleepMode
from cqrs_lab.sim.scheduler import Scheduler

__all__ = ["ProjectorWorker"]


class ProjectorWorker:
    """The process around one projector: when it polls, commits, sleeps, pauses, crashes."""

    def __init__(
        self,
        config: ProjectorConfig,
        *,
        store: InMemoryEventStore,
        scheduler: Scheduler,
        poison: Poison | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.scheduler = scheduler
        self.projection = ItemCounts(None if poison is None else poison.failures, name=config.name)
        self.projector: Projector[int] = Projector(
            store,
            SilentSkip(self.projection) if config.silent_skip_pitfall else self.projection,
            self._new_model(),
            batch_size=config.batch_size,
            policy=config.policy,
            max_attempts=config.max_attempts,
            backoff=config.backoff,
            clock=scheduler.clock,
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
            self.pending = self.scheduler.after(delay, self.poll, priority=Priority.PROJECTOR)

    def poll(self) -> None:
        """Look at the log: start a batch, or go idle."""
        self.pending = None
        projector = self.projector
        if projector.failure is not None:
            self.blocked = True
            return
        config = self.config
        count = min(config.batch_size, self.store.head - projector.checkpoint)
        if count <= 0:
            if config.sleep is SleepMode.NOTIFY:
                self.idle = True
            else:
                self.pending = self.scheduler.after(
                    config.cost_per_batch + config.poll_interval,
                    self.poll,
                    priority=Priority.PROJECTOR,
                )
            return
        cost = config.cost_per_batch + count * config.cost_per_event
        self.in_flight = count
        self.due = self.scheduler.now + cost
        self.pending = self.scheduler.at(self.due, self.commit, priority=Priority.PROJECTOR)

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
        if self.config.sleep is SleepMode.ALWAYS:
            delay += self.config.poll_interval
        self.pending = self.scheduler.after(delay, self.poll, priority=Priority.PROJECTOR)

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
            self.pending = self.scheduler.at(self.due, self.commit, priority=Priority.PROJECTOR)
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
        count = max(min(plan.batch_size, self.store.head - rebuild.target.checkpoint), 0)
        cost = self.config.cost_per_batch + count * self.config.cost_per_event
        self.scheduler.after(
            cost,
            functools.partial(self._rebuild_commit, max(count, 1)),
            priority=Priority.PROJECTOR,
        )

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
