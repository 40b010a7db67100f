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

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

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
        self._current = start  # the last reading, or start before the first
        self._read = False  # whether _current has been read: the next reading is one step on
        self._step = timedelta(seconds=step)
        self._lock = threading.Lock()  # two threads never get the same reading

    def now(self) -> datetime:
        """Return the current time, then move on by ``step``."""
        with self._lock:
            # stepping lazily, so the last time a datetime can hold can still be read
            if self._read:
                self._current += self._step
            self._read = True
            return self._current

    def peek(self) -> datetime:
        """Return the current time without moving on."""
        with self._lock:
            return self._current + self._step if self._read else self._current

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward by ``seconds`` (>= 0) and return the new time."""
        if seconds < 0:
            raise InvalidArgumentError(
                f"seconds must be >= 0, found {seconds}: time never runs back"
            )
        with self._lock:
            if self._read:
                self._current += self._step
            self._read = False
            self._current += timedelta(seconds=seconds)
            return self._current

    def __repr__(self) -> str:
        return f"ManualClock({self.peek().isoformat()!r}, step={self._step.total_seconds()})"
