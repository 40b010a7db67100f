"""Read-your-writes: wait until read models have seen a write, without polling.

The receipt's ``position`` is the token. :meth:`ConsistencyWaiter.wait` blocks on a condition that
every projector's commit notifies, with a deadline; on timeout the caller chooses between an error
(also a :class:`TimeoutError`) and one typed result that says how stale the data is. The answer
has the same shape whether the wait succeeded or timed out, so a caller cannot forget the slow case.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from cqrs_lab.clock import Clock, SystemClock
from cqrs_lab.errors import (
    ConsistencyTimeoutError,
    InvalidArgumentError,
    ProjectorStoppedError,
    parse_choice,
)
from cqrs_lab.event_store import EventStore, Receipt
from cqrs_lab.lag import measure_lag
from cqrs_lab.messages import Query

__all__ = [
    "ConsistencyWaiter",
    "OnTimeout",
    "ReadResult",
    "WaitResult",
    "Waitable",
]

T = TypeVar("T")


class OnTimeout(StrEnum):
    """What :meth:`ConsistencyWaiter.wait` does when the deadline passes."""

    RAISE = "raise"
    """Raise :class:`~cqrs_lab.errors.ConsistencyTimeoutError`."""
    RETURN_STALE = "return_stale"
    """Return a result marked stale, with how far behind it is."""


class Waitable(Protocol):
    """What the waiter needs of a projector (a :class:`~cqrs_lab.projector.Projector` is one)."""

    @property
    def name(self) -> str:
        """The projection's name."""
        ...

    @property
    def checkpoint(self) -> int:
        """The position of the last event applied."""
        ...

    @property
    def failure(self) -> BaseException | None:
        """What the projector has stopped on, if it has (it will not move until resumed)."""
        ...

    def on_checkpoint(self, listener: Callable[[str, int], None]) -> Callable[[], None]:
        """Call ``listener(name, checkpoint)`` after each commit."""
        ...

    def on_failure(self, listener: Callable[[str, BaseException], None]) -> Callable[[], None]:
        """Call ``listener(name, failure)`` when the projector stops on a failure."""
        ...


@dataclass(frozen=True, slots=True)
class WaitResult:
    """How a wait for ``position`` ended."""

    position: int
    reached: bool
    checkpoints: dict[str, int]
    events_behind: int
    seconds_behind: float
    waited: float
    """Seconds spent waiting (wall time: do not print it in a deterministic notebook)."""

    @property
    def stale(self) -> bool:
        """Whether some read model had not reached the position."""
        return not self.reached


@dataclass(frozen=True, slots=True)
class ReadResult(Generic[T]):
    """A query's answer and whether it reflects the write waited for: one shape, always."""

    value: T
    wait: WaitResult

    @property
    def fresh(self) -> bool:
        """Whether the answer reflects the write."""
        return self.wait.reached

    @property
    def stale(self) -> bool:
        """Whether the answer may predate the write."""
        return not self.wait.reached

    @property
    def events_behind(self) -> int:
        """How many events the slowest read model still had to apply."""
        return self.wait.events_behind

    @property
    def seconds_behind(self) -> float:
        """Age of the oldest event the slowest read model had not applied."""
        return self.wait.seconds_behind


class _QueryBus(Protocol):
    def dispatch(self, query: Query) -> Any: ...


class ConsistencyWaiter:
    """Waits for projectors to reach a global position; woken by their checkpoint notifications.

    Args:
        store: the event store, to measure how far behind a read model is.
        projectors: the projectors to watch (more can be added with :meth:`watch`).
        clock: measures ``seconds_behind``.
        timer: measures ``waited``; real monotonic time by default.
    """

    def __init__(
        self,
        store: EventStore,
        projectors: Iterable[Waitable] = (),
        *,
        clock: Clock | None = None,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.clock: Clock = clock or SystemClock()
        self._timer = timer
        self._projectors: dict[str, Waitable] = {}
        self._changed = threading.Condition()
        self._callbacks: list[tuple[int, tuple[str, ...], Callable[[], None]]] = []
        for projector in projectors:
            self.watch(projector)

    def watch(self, projector: Waitable) -> None:
        """Watch one more projector."""
        if projector.name in self._projectors:
            raise InvalidArgumentError(f"already watching a projector named {projector.name!r}")
        self._projectors[projector.name] = projector
        projector.on_checkpoint(self._on_checkpoint)
        projector.on_failure(self._on_failure)

    @property
    def names(self) -> list[str]:
        """The watched projections, sorted."""
        return sorted(self._projectors)

    def check_projections(self, projections: Sequence[str] | None) -> None:
        """Raise :class:`InvalidArgumentError` unless every name is a watched projection."""
        self._selected(projections)

    def _selected(self, projections: Sequence[str] | None) -> tuple[str, ...]:
        if not self._projectors or (projections is not None and not projections):
            # nothing to wait for would read as "caught up" for a write no view has applied
            raise InvalidArgumentError(
                f"a wait needs at least one projection, found {list(projections or [])} among "
                f"the watched {self.names}; pass projectors to ConsistencyWaiter or call watch()"
            )
        if projections is None:
            return tuple(sorted(self._projectors))
        unknown = sorted(set(projections) - set(self._projectors))
        if unknown:
            raise InvalidArgumentError(
                f"unknown projection(s) {unknown}; the waiter watches {self.names}"
            )
        return tuple(projections)

    def reached(self, position: int, projections: Sequence[str] | None = None) -> bool:
        """Whether every selected projection has applied ``position``."""
        return all(self._projectors[n].checkpoint >= position for n in self._selected(projections))

    def _on_checkpoint(self, name: str, checkpoint: int) -> None:
        with self._changed:
            self._changed.notify_all()
            due = [cb for cb in self._callbacks if self._reached(cb[0], cb[1])]
            if due:
                self._callbacks = [cb for cb in self._callbacks if cb not in due]
        for _, _, callback in due:
            callback()

    def _on_failure(self, name: str, failure: BaseException) -> None:
        with self._changed:
            self._changed.notify_all()

    def _reached(self, position: int, names: tuple[str, ...]) -> bool:
        return all(self._projectors[n].checkpoint >= position for n in names)

    def _stopped(self, position: int, names: tuple[str, ...]) -> ProjectorStoppedError | None:
        """The error for the first selected projector stopped short of ``position``, if any."""
        for name in names:
            projector = self._projectors[name]
            failure = projector.failure
            if failure is not None and projector.checkpoint < position:
                error = ProjectorStoppedError(position, name, failure)
                error.__cause__ = failure
                return error
        return None

    def on_reached(
        self,
        position: int,
        callback: Callable[[], None],
        projections: Sequence[str] | None = None,
    ) -> Callable[[], None]:
        """Call ``callback()`` once the position is reached (now, if it already is).

        Returns a function that cancels it. This is the non-blocking form a simulation in
        virtual time uses.
        """
        names = self._selected(projections)
        entry = (position, names, callback)
        with self._changed:
            if not self._reached(position, names):
                self._callbacks.append(entry)
                entry_added = True
            else:
                entry_added = False
        if not entry_added:
            callback()

        def cancel() -> None:
            with self._changed:
                self._callbacks = [cb for cb in self._callbacks if cb is not entry]

        return cancel

    def wait(
        self,
        position: int | Receipt,
        *,
        timeout: float,
        projections: Sequence[str] | None = None,
        on_timeout: OnTimeout | str = OnTimeout.RAISE,
    ) -> WaitResult:
        """Block until the selected projections have applied ``position``, or ``timeout`` passes.

        ``position`` may be a :class:`~cqrs_lab.event_store.Receipt`. On timeout, raises
        :class:`~cqrs_lab.errors.ConsistencyTimeoutError` or, with
        ``on_timeout="return_stale"``, returns a result whose ``reached`` is False. If a selected
        projector has stopped on a failure short of the position, raises
        :class:`~cqrs_lab.errors.ProjectorStoppedError` at once, caused by that failure: waiting
        could only time out.
        """
        target = position.position if isinstance(position, Receipt) else position
        if timeout < 0:
            raise InvalidArgumentError(f"timeout must be >= 0 seconds, found {timeout}")
        policy = parse_choice(OnTimeout, on_timeout, "on_timeout")
        names = self._selected(projections)
        started = self._timer()
        with self._changed:
            self._changed.wait_for(
                lambda: self._reached(target, names) or self._stopped(target, names) is not None,
                timeout,
            )
            reached = self._reached(target, names)
        waited = self._timer() - started
        stopped = None if reached else self._stopped(target, names)
        if stopped is not None:
            raise stopped
        result = self._result(target, names, reached, waited)
        if not reached and policy is OnTimeout.RAISE:
            behind = {n: c for n, c in result.checkpoints.items() if c < target}
            raise ConsistencyTimeoutError(target, behind, timeout)
        return result

    def wait_for_stream(
        self,
        stream_id: str,
        version: int,
        *,
        timeout: float,
        projections: Sequence[str] | None = None,
        on_timeout: OnTimeout | str = OnTimeout.RAISE,
    ) -> WaitResult:
        """Like :meth:`wait`, for the global position of ``stream_id`` at ``version``."""
        records = self.store.read_stream(stream_id, version)
        if not records or records[0].stream_version != version:
            raise InvalidArgumentError(
                f"stream {stream_id!r} has no version {version} "
                f"(its version is {self.store.stream_version(stream_id)})"
            )
        return self.wait(
            records[0].position, timeout=timeout, projections=projections, on_timeout=on_timeout
        )

    def query(
        self,
        bus: _QueryBus,
        query: Query,
        *,
        after: int | Receipt,
        timeout: float,
        projections: Sequence[str] | None = None,
        on_timeout: OnTimeout | str = OnTimeout.RETURN_STALE,
    ) -> ReadResult[Any]:
        """Wait for ``after``, then answer ``query``: the answer and its freshness, in one shape."""
        waited = self.wait(after, timeout=timeout, projections=projections, on_timeout=on_timeout)
        return ReadResult(bus.dispatch(query), waited)

    def _result(
        self, position: int, names: tuple[str, ...], reached: bool, waited: float
    ) -> WaitResult:
        checkpoints = {n: self._projectors[n].checkpoint for n in names}
        if reached:
            return WaitResult(position, True, checkpoints, 0, 0.0, waited)
        slowest = min(checkpoints.values())
        now: datetime = self.clock.now()
        lag = measure_lag(self.store, "", slowest, now)
        behind = max(position - slowest, 0)
        return WaitResult(position, False, checkpoints, behind, lag.seconds_behind, waited)
