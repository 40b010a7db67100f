"""The projector: keeps one read model up to date with the log, one batch at a time.

Drive it by hand (:meth:`Projector.step`, :meth:`Projector.catch_up`) to watch a read model lag and
catch up, or :meth:`Projector.start` it: a thread that sleeps until the store reports an append.
Its parts live beside it, one concept each: :mod:`cqrs_lab.batch` (one batch), :mod:`~.failures`
(what a failure does), :mod:`~.listeners` (who is told, once the lock is released), :mod:`~.live`
(the thread) and :mod:`~.rebuild`, which drives it through a public seam: :meth:`project_batch`,
:meth:`start_over` and :meth:`switch_to`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Generic, TypeVar

from cqrs_lab.batch import apply_batch
from cqrs_lab.clock import Clock, SystemClock
from cqrs_lab.errors import (
    InvalidArgumentError,
    ProjectionFailedError,
    ProjectorCrashedError,
    parse_choice,
)
from cqrs_lab.event_store import EventStore
from cqrs_lab.failures import DeadLetter, FailurePolicy, Recovery, dead_letters_frame
from cqrs_lab.lag import LagReport, measure_lag
from cqrs_lab.listeners import (
    Announcement,
    Announcer,
    ChangeListener,
    CheckpointListener,
    FailureListener,
)
from cqrs_lab.live import LiveThread
from cqrs_lab.messages import RecordedEvent
from cqrs_lab.projection import Changes, InMemoryReadModel, Projection, ReadModel, check_projection
from cqrs_lab.rebuild import Progress, Rebuild, RebuildMode
from cqrs_lab.upcasting import EventRegistry

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Failure", "Projector"]

Row = TypeVar("Row")

Failure = ProjectionFailedError | ProjectorCrashedError
"""What a projector stops on: its projection's failure, or an error outside it."""


class Projector(Generic[Row]):
    """Keeps one read model up to date with the log for one projection.

    ``store`` is the log (if its ``registry`` knows some of the event types the projection
    handles, it must know them all: a misspelt name would match nothing); ``read_model`` holds
    rows and checkpoint (a new :class:`InMemoryReadModel` if omitted); ``batch_size`` events are
    read and committed at a time; ``clock`` dates dead letters and measures lag. ``policy``,
    ``max_attempts``, ``backoff`` and ``pause`` say what a failure does: see
    :class:`~cqrs_lab.failures.Recovery` (by default a pause that :meth:`stop` interrupts).
    """

    def __init__(
        self,
        store: EventStore,
        projection: Projection[Row],
        read_model: ReadModel[Row] | None = None,
        *,
        batch_size: int = 100,
        policy: FailurePolicy | str = FailurePolicy.STOP,
        max_attempts: int = 3,
        backoff: float = 0.05,
        clock: Clock | None = None,
        pause: Callable[[float], object] | None = None,
    ) -> None:
        if batch_size < 1:
            raise InvalidArgumentError(f"batch_size must be >= 1, found {batch_size}")
        registry = getattr(store, "registry", None)
        check_projection(projection, registry if isinstance(registry, EventRegistry) else None)
        self.store = store
        self.projection = projection
        # `is None`, not `or`: an empty read model has len() 0 and is falsy, and must be kept
        self.read_model: ReadModel[Row] = (
            InMemoryReadModel(projection.name) if read_model is None else read_model
        )
        self.batch_size = batch_size
        self.clock: Clock = clock or SystemClock()
        self._live = LiveThread(self)
        self.recovery = Recovery(
            parse_choice(FailurePolicy, policy, "policy"),
            max_attempts=max_attempts,
            backoff=backoff,
            clock=self.clock,
            pause=pause or self._live.pause,
        )
        self.dead_letters: list[DeadLetter] = []
        self.failure: Failure | None = None
        self.generation = 1  # goes up with every blue/green switch
        self._work = threading.Lock()  # one batch at a time: the live thread or a caller
        self._announcer = Announcer()

    @property
    def name(self) -> str:
        """The projection's name."""
        return self.projection.name

    @property
    def checkpoint(self) -> int:
        """The position of the last event the read model reflects."""
        return self.read_model.checkpoint

    @property
    def policy(self) -> FailurePolicy:
        """What the projector does when its projection fails."""
        return self.recovery.policy

    @property
    def running(self) -> bool:
        """Whether the background thread is running."""
        return self._live.running

    def lag(self, now: datetime | None = None) -> LagReport:
        """Head, checkpoint, events and seconds behind, and SLA breach, measured now."""
        return measure_lag(
            self.store, self.name, self.checkpoint, now or self.clock.now(), self.projection.sla
        )

    def on_checkpoint(self, listener: CheckpointListener) -> Callable[[], None]:
        """Call ``listener(name, checkpoint)`` after each commit; returns an unsubscriber."""
        return self._announcer.checkpoints.add(listener)

    def on_changes(self, listener: ChangeListener) -> Callable[[], None]:
        """Call ``listener(name, checkpoint, {key: (before, after)})`` after each commit of rows
        of the live model (not a blue/green switch, nor a dead letter replayed), after the
        checkpoint listeners. Rows before a commit are read only while a listener exists."""
        return self._announcer.changes.add(listener)

    def on_failure(self, listener: FailureListener) -> Callable[[], None]:
        """Call ``listener(name, failure)`` when the projector stops on a failure."""
        return self._announcer.failures.add(listener)

    # -- driving it by hand ----------------------------------------------------------------------

    def step(self) -> RecordedEvent | None:
        """Process the next event, if any; returns it (or None when caught up)."""
        before = self.checkpoint
        self.run_batch(limit=1)
        if self.checkpoint == before:
            return None
        return self.store.read_all(before, 1)[0]

    def catch_up(self, *, until: int | None = None) -> int:
        """Process batches until the checkpoint reaches ``until`` (default: the head); returns
        the events processed. A stop raises :class:`ProjectionFailedError`, before the event."""
        target = self.store.head if until is None else until
        done = 0
        while self.checkpoint < target:
            processed = self.run_batch(limit=min(self.batch_size, target - self.checkpoint))
            if processed == 0:
                break
            done += processed
        return done

    def run_batch(self, limit: int | None = None) -> int:
        """Process one batch (default ``batch_size``); returns how many events it covered."""
        with self._exclusive():
            if self.failure is not None:
                raise self.failure
            limit = limit or self.batch_size
            return self._project(self.read_model, self.projection, limit, self.dead_letters)

    def resume(self) -> None:
        """Forget a stop after its cause is fixed: the next batch retries the failed event."""
        self.failure = None
        self._live.wake()

    def stop_on(self, failure: ProjectorCrashedError) -> None:
        """Stop on an error outside the projection, as a policy stops, and tell who listens."""
        self.failure = failure
        self._announcer.deliver(self.name, [], failure)

    # -- the seam a rebuild uses -------------------------------------------------------------------

    def project_batch(
        self,
        read_model: ReadModel[Row],
        projection: Projection[Row],
        limit: int | None = None,
        *,
        dead_letters: list[DeadLetter] | None = None,
    ) -> int:
        """Project the events after ``read_model``'s checkpoint (at most ``limit``) into it.

        Rows are committed with the checkpoint; a failure is handled by the policy, events
        parked in ``dead_letters`` (default: this projector's). A failure that stops the live
        read model stops the projector; one in a model built beside it only aborts that build.
        Returns how many events moved the checkpoint.
        """
        letters = self.dead_letters if dead_letters is None else dead_letters
        with self._exclusive():
            return self._project(read_model, projection, limit or self.batch_size, letters)

    def start_over(self, projection: Projection[Row]) -> None:
        """Clear the live read model and go on with ``projection`` from position 0.

        Forgets a stop and the dead letters: the replay parks again whatever still fails.
        """
        check_projection(projection)
        with self._exclusive():
            self.read_model.clear()
            self.projection = projection
            self.failure = None
            self.dead_letters = []

    def switch_to(
        self,
        read_model: ReadModel[Row],
        projection: Projection[Row],
        dead_letters: list[DeadLetter],
    ) -> None:
        """Catch ``read_model`` up with the log and make it, its projection and its dead letters
        the live ones: under the lock, so that no live batch runs in between."""
        check_projection(projection)
        with self._exclusive():
            while self._project(read_model, projection, self.batch_size, dead_letters):
                pass
            self.read_model = read_model
            self.projection = projection
            self.dead_letters = dead_letters
            self.generation += 1
            self._announcer.committed(read_model.checkpoint)

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Hold the lock for one piece of work; then, with it released, announce its commits."""
        commits: list[Announcement] = []
        failure: Failure | None = None
        try:
            with self._work:
                failed_before = self.failure
                try:
                    yield
                finally:
                    commits = self._announcer.take()
                    failure = None if self.failure is failed_before else self.failure
        finally:
            self._announcer.deliver(self.name, commits, failure)

    def _project(
        self,
        model: ReadModel[Row],
        projection: Projection[Row],
        limit: int,
        letters: list[DeadLetter],
    ) -> int:
        try:
            return apply_batch(
                self.store,
                model,
                projection,
                limit,
                commit=self._commit,
                recovery=self.recovery,
                dead_letters=letters,
            )
        except ProjectionFailedError as failure:
            if model is self.read_model:  # a failed blue/green build only aborts
                self.failure = failure
            raise

    def _commit(self, model: ReadModel[Row], position: int, changes: Changes) -> None:
        live = model is self.read_model
        # rows before the commit are read only when someone listens: the hot path stays as it was
        before = (
            {key: model.get(key) for key in changes} if live and self._announcer.changes else {}
        )
        if position > model.checkpoint and model.commit(position, changes) and live:
            self._announcer.committed(
                position, {key: (before[key], changes[key]) for key in before}
            )

    def replay_dead_letters(self) -> int:
        """Apply each parked event again (after a fix); returns how many succeeded.

        Those that fail again stay parked, with the new error. The checkpoint does not move:
        these events are applied out of order, which the projection must tolerate.
        """
        with self._work:
            parked = len(self.dead_letters)
            self.dead_letters = self.recovery.replay(
                self.projection, self.read_model, self.dead_letters
            )
            return parked - len(self.dead_letters)

    def dead_letters_frame(self) -> pd.DataFrame:
        """The dead letters as a DataFrame, one row per parked event."""
        return dead_letters_frame(self.dead_letters)

    # -- running live ----------------------------------------------------------------------------

    def start(self) -> None:
        """Run in a background thread, woken by the store after each append."""
        self._live.start()

    def stop(self, timeout: float | None = 5.0) -> None:
        """Stop the background thread after its current batch; waits up to ``timeout`` seconds."""
        self._live.stop(timeout)

    def __enter__(self) -> Projector[Row]:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- rebuilds --------------------------------------------------------------------------------

    def start_rebuild(
        self,
        mode: RebuildMode | str = RebuildMode.BLUE_GREEN,
        *,
        projection: Projection[Row] | None = None,
        read_model: ReadModel[Row] | None = None,
    ) -> Rebuild[Row]:
        """Begin a rebuild that you drive with :meth:`Rebuild.step` (a simulation does), to a new
        ``projection`` if given, blue/green into ``read_model`` (default: see ``empty_like``)."""
        rebuild_mode = parse_choice(RebuildMode, mode, "mode")
        if projection is not None:
            check_projection(projection)
        return Rebuild(self, rebuild_mode, projection or self.projection, read_model)

    def rebuild(
        self,
        mode: RebuildMode | str = RebuildMode.BLUE_GREEN,
        *,
        projection: Projection[Row] | None = None,
        read_model: ReadModel[Row] | None = None,
        progress: Progress | None = None,
    ) -> int:
        """Rebuild the read model from the whole log; returns the events replayed. It ends:
        it replays to the head it found, then (blue/green) switches under the projector's lock."""
        return self.start_rebuild(mode, projection=projection, read_model=read_model).run(progress)

    def __repr__(self) -> str:
        return (
            f"Projector({self.name!r}, checkpoint={self.checkpoint}, head={self.store.head}, "
            f"policy={self.policy.value})"
        )
