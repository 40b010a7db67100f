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
        # The readings come from an iterator over start, start + step, ...: next() on it runs in
        # C, so two threads never get the same reading, without a lock -- and the kit reads the
        # clock twice per command (stamp and append).
        self._start = start
        self._last: datetime | None = None  # the last reading handed out, for peek()
        readings = itertools.accumulate(itertools.repeat(self._step), initial=start)
        self._readings = cast(Iterator[datetime], readings)  # typeshed cannot tell the sum

    def now(self) -> datetime:
        """Return the current time, then move on by ``step``."""
        if not self._step:  # time stands still
            return self._start
        self._last = reading = next(self._readings)
        return reading

    def peek(self) -> datetime:
        """Return the current time without moving on (while other threads read the clock, it
        may lag one reading behind them)."""
        last = self._last
        return self._start if last is None else last + self._step

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
