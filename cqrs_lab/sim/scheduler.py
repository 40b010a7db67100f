"""Virtual time: a clock telling the simulation's time, and the discrete-event scheduler moving it.

The scheduler is a heap of ``(time, priority, sequence, action)``, as in SimPy: the earliest time
runs first, then the lowest priority, then the one scheduled first -- so ties are broken the same
way on every run and every machine. Nothing here sleeps or reads the wall clock; time jumps from
one scheduled action to the next.

>>> scheduler = Scheduler()
>>> seen = []
>>> _ = scheduler.at(2.0, lambda: seen.append(("late", scheduler.now)))
>>> _ = scheduler.at(1.0, lambda: seen.append(("b", scheduler.now)), priority=1)
>>> _ = scheduler.at(1.0, lambda: seen.append(("a", scheduler.now)))
>>> scheduler.run(until=1.5)
2
>>> seen, scheduler.now
([('a', 1.0), ('b', 1.0)], 1.5)
>>> scheduler.clock.now().isoformat()
'2026-01-01T09:00:01.500000+00:00'
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable
from datetime import datetime, timedelta

from cqrs_lab.clock import DEFAULT_START
from cqrs_lab.errors import InvalidArgumentError

__all__ = ["Action", "Scheduler", "VirtualClock"]

Action = Callable[[], object]
"""What the scheduler runs: a function of no arguments."""


class VirtualClock:
    """A :class:`~cqrs_lab.clock.Clock` that tells the simulation's time, not the wall clock's.

    Time is kept as float seconds since ``start``; :meth:`now` turns it into a datetime (to the
    microsecond, as :class:`~datetime.timedelta` rounds), once per distinct time: a simulation
    reads the same instant many times (a command's envelope, its events, the lag samples).

    >>> clock = VirtualClock()
    >>> clock.advance_to(0.25)
    >>> clock.seconds, clock.now().isoformat()
    (0.25, '2026-01-01T09:00:00.250000+00:00')
    """

    def __init__(self, start: datetime = DEFAULT_START) -> None:
        if start.tzinfo is None:
            raise InvalidArgumentError(
                f"start must be timezone-aware, found naive {start.isoformat()}"
            )
        self._start = start
        self.seconds = 0.0
        self._last_seconds = 0.0  # the time of the last datetime made, and that datetime
        self._last_now = start

    @property
    def start(self) -> datetime:
        """The datetime of virtual time 0."""
        return self._start

    def now(self) -> datetime:
        """The current virtual time as a timezone-aware datetime."""
        if self.seconds != self._last_seconds:
            self._last_seconds = self.seconds
            self._last_now = self._start + timedelta(seconds=self.seconds)
        return self._last_now

    def to_seconds(self, moment: datetime) -> float:
        """Seconds from ``start`` to ``moment``."""
        return (moment - self._start).total_seconds()

    def advance_to(self, seconds: float) -> None:
        """Move to ``seconds`` after ``start``; time never runs back."""
        if not seconds >= self.seconds:  # also rejects NaN
            raise InvalidArgumentError(
                f"virtual time must not run back: now {self.seconds} s, asked for {seconds} s"
            )
        self.seconds = seconds

    def __repr__(self) -> str:
        return f"VirtualClock(start={self._start.isoformat()!r}, seconds={self.seconds})"


class Scheduler:
    """Runs actions in virtual-time order; ties go by priority, then by scheduling order.

    Args:
        clock: the clock to move; a new :class:`VirtualClock` if omitted.
    """

    def __init__(self, clock: VirtualClock | None = None) -> None:
        self.clock = clock or VirtualClock()
        self._queue: list[tuple[float, int, int, Action]] = []
        self._counter = itertools.count()
        self._cancelled: set[int] = set()
        self._until = -math.inf  # how far the current run() goes; nothing runs outside one
        self.executed = 0
        """How many actions have run so far."""

    @property
    def now(self) -> float:
        """The current virtual time, in seconds since the clock's start."""
        return self.clock.seconds

    def at(self, time: float, action: Action, *, priority: int = 0) -> int:
        """Run ``action`` at virtual ``time`` (not before now); returns a token for cancelling."""
        if not time >= self.clock.seconds or math.isinf(time):
            raise InvalidArgumentError(
                f"time must be finite and >= now ({self.clock.seconds} s), found {time}"
            )
        token = next(self._counter)
        heapq.heappush(self._queue, (time, priority, token, action))
        return token

    def after(self, delay: float, action: Action, *, priority: int = 0) -> int:
        """Run ``action`` ``delay`` seconds from now (``delay`` >= 0); returns a token."""
        if not delay >= 0:
            raise InvalidArgumentError(f"delay must be >= 0 seconds, found {delay}")
        return self.at(self.clock.seconds + delay, action, priority=priority)

    def cancel(self, token: int) -> None:
        """Make sure the action scheduled under ``token`` does not run (no-op if it has run)."""
        self._cancelled.add(token)

    def take(self, time: float, priority: int = 0) -> bool:
        """Claim the next slot: True if an action at ``(time, priority)`` would run next.

        Then the clock moves to ``time`` and the caller runs the action itself, in place of
        scheduling it: a cheap path for a process with many actions in a row (the arrivals).
        False outside :meth:`run`, past its ``until``, or when something else is due first.
        """
        if time > self._until or time < self.clock.seconds:
            return False
        queue = self._queue
        if queue:
            head = queue[0]
            if head[0] < time or (head[0] == time and head[1] <= priority):
                return False
        self.clock.seconds = time
        self.executed += 1
        return True

    def peek(self) -> float | None:
        """The time of the next action, or None when nothing is scheduled."""
        queue = self._queue
        while queue and queue[0][2] in self._cancelled:
            self._cancelled.discard(heapq.heappop(queue)[2])
        return queue[0][0] if queue else None

    def __len__(self) -> int:
        cancelled = self._cancelled
        return sum(1 for entry in self._queue if entry[2] not in cancelled)

    def step(self) -> bool:
        """Run the next action; returns False when nothing is left to run."""
        if self.peek() is None:
            return False
        time, _, _, action = heapq.heappop(self._queue)
        self.clock.advance_to(time)
        self.executed += 1
        action()
        return True

    def run(self, until: float | None = None) -> int:
        """Run every action due at or before ``until`` (default: until none is left).

        The clock ends at ``until`` even if the last action ran earlier. Returns how many
        actions ran (counting those run in place through :meth:`take`).
        """
        if until is not None and not until >= self.clock.seconds:
            raise InvalidArgumentError(
                f"until must be >= now ({self.clock.seconds} s), found {until}"
            )
        queue = self._queue
        cancelled = self._cancelled
        clock = self.clock
        pop = heapq.heappop
        limit = math.inf if until is None else until
        ran = 0
        before = self.executed
        self._until = limit
        try:
            while queue and queue[0][0] <= limit:
                time, _, token, action = pop(queue)
                if cancelled and token in cancelled:
                    cancelled.discard(token)
                    continue
                clock.seconds = time  # the heap guarantees time >= now
                ran += 1
                action()
        finally:
            self._until = -math.inf
        self.executed += ran
        if until is not None:
            clock.advance_to(until)
        return self.executed - before

    def __repr__(self) -> str:
        return f"Scheduler(now={self.now}, pending={len(self)})"
