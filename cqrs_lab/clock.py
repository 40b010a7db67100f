"""Injected time: the :class:`Clock` protocol and two clocks.

Nothing in the kit reads the wall clock by itself: every component takes a clock.
:class:`ManualClock` makes notebooks print the same times on every run.

>>> clock = ManualClock(step=1.0)
>>> clock.now().isoformat()
'2026-01-01T09:00:00+00:00'
>>> clock.now().isoformat()
'2026-01-01T09:00:01+00:00'
"""

from __future__ import annotations

import itertools
import operator
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Protocol, cast, runtime_checkable

from cqrs_lab.errors import InvalidArgumentError

__all__ = ["DEFAULT_START", "Clock", "ManualClock", "SystemClock"]

DEFAULT_START = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
"""Where a :class:`ManualClock` starts unless told otherwise."""


@runtime_checkable
class Clock(Protocol):
    """Anything that tells the current time as a timezone-aware datetime."""

    def now(self) -> datetime:
        """Return the current time."""
        ...


class SystemClock:
    """The real clock, in UTC."""

    def now(self) -> datetime:
        """Return the wall-clock time in UTC."""
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that moves only when told: by ``advance`` or by ``step`` after each reading.

    Args:
        start: the first time returned (timezone-aware).
        step: seconds added after each call to :meth:`now`; 0 keeps time still.
    """

    def __init__(self, start: datetime = DEFAULT_START, *, step: float = 0.0) -> None:
        if start.tzinfo is None:
            raise InvalidArgumentError(
                f"start must be timezone-aware, found naive {start.isoformat()}; "
                "pass e.g. datetime(2026, 1, 1, tzinfo=UTC)"
            )
        if step < 0:
            raise InvalidArgumentError(f"step must be >= 0 seconds, found {step}")
        self._step = timedelta(seconds=step)
        self._lock = threading.Lock()  # for advance(); readings need none
        self._start_at(start)

    def _start_at(self, start: datetime) -> None:
        # The readings come from a C iterator: start, then start + step after each reading.
        # next() on it runs in C, so two threads never get the same reading, without a lock
        # (the kit reads the clock twice per command). The two repeats it draws from count for
        # peek(): `_first` is empty once the first reading is out, and each later reading takes
        # one of `_steps`.
        self._start = start
        self._first = itertools.repeat(start, 1)
        self._steps = itertools.repeat(self._step, sys.maxsize)
        sums = itertools.accumulate(itertools.chain(self._first, self._steps))
        readings = cast(Iterator[datetime], sums)  # typeshed cannot tell the sum's type
        self._next = readings.__next__ if self._step else itertools.repeat(start).__next__

    def now(self) -> datetime:
        """Return the current time, then move on by ``step``."""
        return self._next()

    def peek(self) -> datetime:
        """Return the current time without moving on."""
        if not self._step or operator.length_hint(self._first):
            return self._start
        return self._start + self._step * (1 + sys.maxsize - operator.length_hint(self._steps))

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward by ``seconds`` (>= 0) and return the new time."""
        if seconds < 0:
            raise InvalidArgumentError(
                f"seconds must be >= 0, found {seconds}: time never runs back"
            )
        with self._lock:
            self._start_at(self.peek() + timedelta(seconds=seconds))
            return self._start

    def __repr__(self) -> str:
        return f"ManualClock({self.peek().isoformat()!r}, step={self._step.total_seconds()})"
