"""The projector: feeds a projection from the log in batches, committing rows with the checkpoint.

Drive it by hand -- :meth:`Projector.step` applies one event, :meth:`Projector.catch_up` runs to the
head -- to watch a read model lag and catch up; or :meth:`Projector.start` it in a background
thread that sleeps until the store says something was appended (no polling).

When a projection raises, the projector's :class:`FailurePolicy` decides, and the checkpoint never
moves past a failed event without a record of it -- unless you choose
``FailurePolicy.SILENT_SKIP_PITFALL``, the playbook's Template 4 behaviour, kept to show its loss.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from cqrs_lab.clock import Clock, SystemClock
from cqrs_lab.errors import InvalidArgumentError, ProjectionFailedError, parse_choice
from cqrs_lab.event_store import EventStore
from cqrs_lab.lag import LagReport, measure_lag
from cqrs_lab.messages import RecordedEvent
from cqrs_lab.projection import Changes, InMemoryReadModel, Projection, ReadModel

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ChangeListener",
    "CheckpointListener",
    "DeadLetter",
    "FailurePolicy",
    "Progress",
    "Projector",
    "Rebuild",
    "RebuildMode",
]

logger = logging.getLogger(__name__)

Row = TypeVar("Row")

CheckpointListener = Callable[[str, int], None]
"""Called with (projection name, new checkpoint) after every commit."""

ChangeListener = Callable[[str, int, dict[str, tuple[Any, Any]]], None]
"""Called with (projection name, new checkpoint, {key: (row before, row after)}) after a commit."""

Progress = Callable[[int, int], None]
"""Called with (events done, events in all) as a rebuild goes."""


class FailurePolicy(StrEnum):
    """What a projector does when its projection raises on an event."""

    STOP = "stop"
    """Stay before the failing event; the error is kept in ``failure`` and raised to callers."""
    RETRY = "retry"
    """Try again up to ``max_attempts`` times with growing backoff; then stop."""
    DEAD_LETTER = "dead_letter"
    """Record the event, error and time in ``dead_letters``, move on; replay them after a fix."""
    SILENT_SKIP_PITFALL = "silent_skip_pitfall"
    """The playbook's Template 4: log and move past the event with no record. Loses data."""


class RebuildMode(StrEnum):
    """How a read model is rebuilt."""

    IN_PLACE = "in_place"
    """Clear the live view and replay into it: queries see it empty, then partial."""
    BLUE_GREEN = "blue_green"
    """Build a new view beside the live one and switch when it has caught up."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An event a projection failed on, parked with the error for a later replay."""

    projection: str
    position: int
    stream_id: str
    event_type: str
    error: str
    failed_at: datetime
    attempts: int
    record: RecordedEvent


class _Overlay:
    """Read access to a view plus the changes not committed yet (later events see earlier ones)."""

    __slots__ = ("_model", "staged")

    def __init__(self, model: ReadModel[Any]) -> None:
        self._model = model
        self.staged: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        staged = self.staged
        if key in staged:
            return staged[key]
        return self._model.get(key)


class Projector(Generic[Row]):
    """Keeps one read model up to date with the log for one projection.

    Args:
        store: the event store to read.
        projection: decides row changes for each event.
        read_model: where rows and checkpoint live (a new :class:`InMemoryReadModel` if omitted).
        batch_size: events read and committed per batch.
        policy: what to do when the projection raises (see :class:`FailurePolicy`).
        max_attempts: attempts per event under ``FailurePolicy.RETRY`` (>= 1).
        backoff: seconds before the first retry, doubled for each further one.
        clock: dates dead letters and measures lag.
        pause: waits between retries; by default a wait that :meth:`stop` interrupts. Tests and
            simulations pass their own, so nothing sleeps.
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
        if max_attempts < 1:
            raise InvalidArgumentError(f"max_attempts must be >= 1, found {max_attempts}")
        if backoff < 0:
            raise InvalidArgumentError(f"backoff must be >= 0 seconds, found {backoff}")
        self.store = store
        self.projection = projection
        # `is None`, not `or`: an empty read model has len() 0 and is falsy, and must be kept
        self.read_model: ReadModel[Row] = (
            InMemoryReadModel(projection.name) if read_model is None else read_model
        )
        self.batch_size = batch_size
        self.policy = parse_choice(FailurePolicy, policy, "policy")
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.clock: Clock = clock or SystemClock()
        self.dead_letters: list[DeadLetter] = []
        self._rebuild_letters: list[DeadLetter] = []
        self.failure: ProjectionFailedError | None = None
        self.generation = 1  # goes up with every blue/green switch
        self._stopping = threading.Event()
        self._pause = pause or self._stopping.wait
        self._work = threading.Lock()  # one batch at a time: the live thread or a caller
        self._wake = threading.Condition()
        self._listeners: list[CheckpointListener] = []
        self._change_listeners: list[ChangeListener] = []
        self._thread: threading.Thread | None = None
        self._unsubscribe: Callable[[], None] | None = None

    # -- what it is, and how far it has come --------------------------------------------------

    @property
    def name(self) -> str:
        """The projection's name."""
        return self.projection.name

    @property
    def checkpoint(self) -> int:
        """The position of the last event the read model reflects."""
        return self.read_model.checkpoint

    @property
    def running(self) -> bool:
        """Whether the background thread is running."""
        return self._thread is not None and self._thread.is_alive()

    def lag(self, now: datetime | None = None) -> LagReport:
        """Head, checkpoint, events and seconds behind, and SLA breach, measured now."""
        return measure_lag(
            self.store, self.name, self.checkpoint, now or self.clock.now(), self.projection.sla
        )

    def on_checkpoint(self, listener: CheckpointListener) -> Callable[[], None]:
        """Call ``listener(name, checkpoint)`` after each commit; returns an unsubscriber."""
        self._listeners = [*self._listeners, listener]

        def unsubscribe() -> None:
            self._listeners = [item for item in self._listeners if item is not listener]

        return unsubscribe

    def on_changes(self, listener: ChangeListener) -> Callable[[], None]:
        """Call ``listener(name, checkpoint, {key: (before, after)})`` after each commit of rows.

        Called after the checkpoint listeners, for commits that change rows of the live read
        model (not for a blue/green switch, nor for dead letters replayed). Rows before a commit
        are read only while a listener exists. Returns an unsubscriber.
        """
        self._change_listeners = [*self._change_listeners, listener]

        def unsubscribe() -> None:
            self._change_listeners = [
                item for item in self._change_listeners if item is not listener
            ]

        return unsubscribe

    # -- driving it by hand ----------------------------------------------------------------------

    def step(self) -> RecordedEvent | None:
        """Process the next event, if any; returns it (or None when caught up)."""
        before = self.checkpoint
        self.run_batch(limit=1)
        if self.checkpoint == before:
            return None
        return self.store.read_all(before, 1)[0]

    def catch_up(self, *, until: int | None = None) -> int:
        """Process batches until the checkpoint reaches ``until`` (default: the head).

        Returns the number of events processed. Under ``FailurePolicy.STOP`` (and ``RETRY``
        once attempts run out) raises :class:`ProjectionFailedError`, checkpoint before the event.
        """
        target = self.store.head if until is None else until
        done = 0
        while self.checkpoint < target:
            processed = self.run_batch(limit=min(self.batch_size, target - self.checkpoint))
            if processed == 0:
                break
            done += processed
        return done

    def run_batch(self, limit: int | None = None) -> int:
        """Read and process one batch (at most ``limit`` events, default ``batch_size``).

        Returns how many events moved the checkpoint.
        """
        with self._work:
            if self.failure is not None:
                raise self.failure
            return self._process(self.read_model, self.projection, limit or self.batch_size)

    def resume(self) -> None:
        """Forget a stop after its cause is fixed: the next batch retries the failed event."""
        self.failure = None
        with self._wake:
            self._wake.notify_all()

    # -- the batch: project, commit with checkpoint, handle failures --------------------------

    def _process(self, model: ReadModel[Row], projection: Projection[Row], limit: int) -> int:
        start = model.checkpoint
        records = self.store.read_all(start, limit)
        if not records:
            return 0
        overlay = _Overlay(model)
        staged = overlay.staged
        handles = projection.handles
        project = projection.project
        committed_to = start
        for record in records:
            if record.event_type in handles:
                try:
                    changes = project(record, overlay)
                except Exception as error:
                    self._commit(model, record.position - 1, staged)
                    self._fail(model, projection, record, error)
                    return model.checkpoint - start
                staged.update(changes)
            committed_to = record.position
        self._commit(model, committed_to, staged)
        return committed_to - start

    def _commit(self, model: ReadModel[Row], position: int, changes: Changes) -> None:
        # rows before the commit are read only when someone listens: the hot path stays as it was
        before = self._rows_before(model, changes) if self._change_listeners else None
        if (
            position > model.checkpoint
            and model.commit(position, changes)
            and (model is self.read_model)
        ):
            self._announce(position)
            if before:
                rows = {key: (before[key], changes[key]) for key in before}
                for listener in self._change_listeners:
                    listener(self.name, position, rows)

    def _rows_before(self, model: ReadModel[Row], changes: Changes) -> dict[str, Any] | None:
        if model is not self.read_model or not changes:
            return None
        return {key: model.get(key) for key in changes}

    def _announce(self, position: int) -> None:
        for listener in self._listeners:
            listener(self.name, position)

    def _fail(
        self,
        model: ReadModel[Row],
        projection: Projection[Row],
        record: RecordedEvent,
        error: Exception,
    ) -> None:
        attempts = 1
        if self.policy is FailurePolicy.RETRY:
            delay = self.backoff
            while attempts < self.max_attempts:
                self._pause(delay)
                delay *= 2
                attempts += 1
                try:
                    changes = projection.project(record, _Overlay(model))
                except Exception as again:
                    error = again
                    continue
                self._commit(model, record.position, changes)
                return
        if self.policy is FailurePolicy.DEAD_LETTER:
            # a blue/green build parks its letters apart: they replace the live ones at the switch
            letters = self.dead_letters if model is self.read_model else self._rebuild_letters
            letters.append(
                DeadLetter(
                    self.name,
                    record.position,
                    record.stream_id,
                    record.event_type,
                    repr(error),
                    self.clock.now(),
                    attempts,
                    record,
                )
            )
            self._commit(model, record.position, {})
            return
        if self.policy is FailurePolicy.SILENT_SKIP_PITFALL:
            logger.error("Projection error: %s", error)  # and nothing else: the pitfall
            self._commit(model, record.position, {})
            return
        failure = ProjectionFailedError(self.name, record.position, record.event_type, error)
        failure.__cause__ = error
        if model is self.read_model:  # a failed blue/green build aborts; the live view goes on
            self.failure = failure
        raise failure

    # -- dead letters ------------------------------------------------------------------------

    def replay_dead_letters(self) -> int:
        """Apply each parked event again (after a fix); returns how many succeeded.

        Those that fail again stay parked, with the new error. The checkpoint does not move:
        these events are applied out of order, which the projection must tolerate.
        """
        replayed = 0
        with self._work:
            remaining: list[DeadLetter] = []
            for letter in self.dead_letters:
                try:
                    changes = self.projection.project(letter.record, self.read_model)
                except Exception as error:
                    remaining.append(
                        DeadLetter(
                            letter.projection,
                            letter.position,
                            letter.stream_id,
                            letter.event_type,
                            repr(error),
                            self.clock.now(),
                            letter.attempts + 1,
                            letter.record,
                        )
                    )
                    continue
                self.read_model.apply_out_of_order(changes)
                replayed += 1
            self.dead_letters = remaining
        return replayed

    def dead_letters_frame(self) -> pd.DataFrame:
        """The dead letters as a DataFrame, one row per parked event."""
        import pandas as pd

        columns = ["position", "stream_id", "event_type", "error", "failed_at", "attempts"]
        rows = [{c: getattr(letter, c) for c in columns} for letter in self.dead_letters]
        return pd.DataFrame(rows, columns=columns).set_index("position")

    # -- running live ----------------------------------------------------------------------------

    def start(self) -> None:
        """Run in a background thread, woken by the store after each append."""
        if self.running:
            return
        self._stopping.clear()
        self._unsubscribe = self.store.subscribe(self._on_append)
        self._thread = threading.Thread(
            target=self._run, name=f"projector-{self.name}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float | None = 5.0) -> None:
        """Stop the background thread after its current batch; waits up to ``timeout`` seconds."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._stopping.set()
        with self._wake:
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _on_append(self, head: int) -> None:
        with self._wake:
            self._wake.notify_all()

    def _has_work(self) -> bool:
        return self._stopping.is_set() or (
            self.failure is None and self.store.head > self.read_model.checkpoint
        )

    def _run(self) -> None:
        while not self._stopping.is_set():
            with self._wake:
                # the predicate reads the store itself, so a wake-up before the wait is not lost
                self._wake.wait_for(self._has_work)
            if self._stopping.is_set():
                return
            try:
                self.run_batch()
            except ProjectionFailedError:
                continue  # kept in self.failure; the thread waits for resume() or stop()

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
        """Begin a rebuild that you drive with :meth:`Rebuild.step` (a simulation does).

        ``projection`` is a new version of the projection to switch to; ``read_model`` the empty
        model a blue/green rebuild fills (by default a new one of the live model's class when that
        is an :class:`InMemoryReadModel`, built as ``cls(name)`` so a subclass keeps its indexes;
        else a new :class:`InMemoryReadModel`).
        """
        rebuild_mode = parse_choice(RebuildMode, mode, "mode")
        return Rebuild(self, rebuild_mode, projection or self.projection, read_model)

    def rebuild(
        self,
        mode: RebuildMode | str = RebuildMode.BLUE_GREEN,
        *,
        projection: Projection[Row] | None = None,
        read_model: ReadModel[Row] | None = None,
        progress: Progress | None = None,
    ) -> int:
        """Rebuild the read model from the whole log; returns the events replayed.

        Always terminates: it replays up to the head it finds, then (blue/green) catches up with
        what arrived meanwhile under the projector's lock and switches.
        """
        rebuild = self.start_rebuild(mode, projection=projection, read_model=read_model)
        while not rebuild.finished:
            rebuild.step()
            if progress is not None:
                progress(rebuild.done, rebuild.total)
        return rebuild.done

    def __repr__(self) -> str:
        return (
            f"Projector({self.name!r}, checkpoint={self.checkpoint}, head={self.store.head}, "
            f"policy={self.policy.value})"
        )


class Rebuild(Generic[Row]):
    """A rebuild in progress, advanced one batch per :meth:`step`."""

    def __init__(
        self,
        projector: Projector[Row],
        mode: RebuildMode,
        projection: Projection[Row],
        read_model: ReadModel[Row] | None,
    ) -> None:
        self.projector = projector
        self.mode = mode
        self.projection = projection
        self.total = projector.store.head  # the head when the rebuild began
        self.finished = False
        if mode is RebuildMode.IN_PLACE:
            with projector._work:
                projector.read_model.clear()
                projector.projection = projection
                projector.failure = None
                # the replay parks again whatever still fails; old letters would apply twice
                projector.dead_letters = []
            self.target: ReadModel[Row] = projector.read_model
        else:
            live = projector.read_model
            self.target = (
                read_model if read_model is not None else _empty_like(live, projection.name)
            )
            if self.target.checkpoint != 0:
                raise InvalidArgumentError(
                    f"a blue/green rebuild needs an empty read model, found checkpoint "
                    f"{self.target.checkpoint}; pass a new one"
                )
            projector._rebuild_letters = []

    @property
    def done(self) -> int:
        """Events replayed so far (capped at ``total``)."""
        return min(self.target.checkpoint, self.total)

    def step(self, limit: int | None = None) -> int:
        """Replay one batch; returns how many events it covered."""
        if self.finished:
            return 0
        projector = self.projector
        size = limit or projector.batch_size
        with projector._work:
            processed = projector._process(self.target, self.projection, size)
            if self.mode is RebuildMode.IN_PLACE:
                self.finished = self.target.checkpoint >= self.total
            elif self.target.checkpoint >= self.total or processed == 0:
                # past the head it began at: under the lock, where nothing else processes, finish
                # what arrived meanwhile and switch (chasing the moving head might never end)
                while projector._process(self.target, self.projection, size):
                    pass
                projector.read_model = self.target
                projector.projection = self.projection
                projector.dead_letters = projector._rebuild_letters
                projector._rebuild_letters = []
                projector.generation += 1
                projector._announce(self.target.checkpoint)
                self.finished = True
        return processed


def _empty_like(live: ReadModel[Row], name: str) -> ReadModel[Row]:
    """A new, empty model to build beside ``live``: of its class if it is in memory."""
    if isinstance(live, InMemoryReadModel):
        return type(live)(name)
    return InMemoryReadModel(name)
