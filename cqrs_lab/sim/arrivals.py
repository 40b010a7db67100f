"""When commands arrive: evenly, at random, in bursts, or at recorded times.

Each arrival process is a frozen knob of a :class:`~cqrs_lab.sim.scenario.Scenario` with an
``arrival_times(rng)`` method; randomness comes only from the generator it is given.

>>> arrivals = BurstArrivals(rate=10, end=10, bursts=(Burst(start=2, end=3, rate=100),))
>>> arrivals.expected_count, arrivals.arrival_times(np.random.default_rng(42)).size
(200.0, 200)
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

import numpy as np

from cqrs_lab.errors import InvalidArgumentError
from cqrs_lab.sim.validation import check_number, check_window, invalid

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ARRIVAL_TYPES",
    "Arrivals",
    "Burst",
    "BurstArrivals",
    "ConstantArrivals",
    "PoissonArrivals",
    "TraceArrivals",
]


@dataclass(frozen=True, kw_only=True)
class ConstantArrivals:
    """Commands evenly spaced at ``rate`` per second from ``start`` until ``end`` (seconds).

    >>> ConstantArrivals(rate=2, end=2).arrival_times(np.random.default_rng(0)).tolist()
    [0.0, 0.5, 1.0, 1.5]
    """

    rate: float = 200.0
    start: float = 0.0
    end: float = 100.0

    def __post_init__(self) -> None:
        check_number(self, "rate", above=0, unit="arrivals per second")
        check_window(self)

    def arrival_times(self, rng: np.random.Generator) -> np.ndarray:
        """The arrival times, sorted (the generator is not used)."""
        count = math.ceil((self.end - self.start) * self.rate - 1e-9)
        times = self.start + np.arange(max(count, 0), dtype=np.float64) / self.rate
        return times[times < self.end]

    @property
    def expected_count(self) -> float:
        """How many arrivals to expect."""
        return (self.end - self.start) * self.rate


@dataclass(frozen=True, kw_only=True)
class PoissonArrivals:
    """Commands arriving at random (exponential gaps) at ``rate`` per second on average."""

    rate: float = 200.0
    start: float = 0.0
    end: float = 100.0

    def __post_init__(self) -> None:
        check_number(self, "rate", above=0, unit="arrivals per second")
        check_window(self)

    def arrival_times(self, rng: np.random.Generator) -> np.ndarray:
        """The arrival times, sorted, drawn from ``rng``."""
        return _poisson(rng, self.rate, self.start, self.end)

    @property
    def expected_count(self) -> float:
        """How many arrivals to expect."""
        return (self.end - self.start) * self.rate


def _poisson(rng: np.random.Generator, rate: float, start: float, end: float) -> np.ndarray:
    expected = (end - start) * rate
    chunks: list[np.ndarray] = []
    last = start
    while True:
        size = int(expected + 6 * math.sqrt(expected) + 16)
        times = last + np.cumsum(rng.exponential(1.0 / rate, size))
        chunks.append(times)
        if times[-1] >= end:
            break
        last = float(times[-1])
    times = np.concatenate(chunks)
    return times[times < end]


@dataclass(frozen=True, kw_only=True)
class Burst:
    """Extra arrivals at ``rate`` per second from ``start`` until ``end`` (seconds)."""

    start: float
    end: float
    rate: float

    def __post_init__(self) -> None:
        check_window(self)
        check_number(self, "rate", above=0, unit="arrivals per second")


@dataclass(frozen=True, kw_only=True)
class BurstArrivals:
    """A background ``rate`` from ``start`` to ``end``, plus bursts on top of it.

    ``poisson`` draws both at random; otherwise both are evenly spaced.
    """

    rate: float = 200.0
    start: float = 0.0
    end: float = 100.0
    bursts: tuple[Burst, ...] = (Burst(start=30.0, end=35.0, rate=2000.0),)
    poisson: bool = False

    def __post_init__(self) -> None:
        check_number(self, "rate", at_least=0, unit="arrivals per second")
        check_window(self)
        object.__setattr__(self, "bursts", tuple(self.bursts))
        for burst in self.bursts:
            if not isinstance(burst, Burst):
                raise invalid(self, "bursts", "a tuple of Burst", burst)
        if not self.bursts and self.rate == 0:
            raise invalid(self, "rate", "a number > 0 when there are no bursts", self.rate)

    def arrival_times(self, rng: np.random.Generator) -> np.ndarray:
        """Background and burst arrivals merged in time order."""
        parts = []
        for rate, start, end in [
            (self.rate, self.start, self.end),
            *((b.rate, b.start, b.end) for b in self.bursts),
        ]:
            if rate == 0:
                continue
            if self.poisson:
                parts.append(_poisson(rng, rate, start, end))
            else:
                parts.append(ConstantArrivals(rate=rate, start=start, end=end).arrival_times(rng))
        return np.sort(np.concatenate(parts), kind="stable")

    @property
    def expected_count(self) -> float:
        """How many arrivals to expect."""
        background = (self.end - self.start) * self.rate
        return background + sum((b.end - b.start) * b.rate for b in self.bursts)


@dataclass(frozen=True, kw_only=True)
class TraceArrivals:
    """Recorded arrival times, in seconds from the start of the simulation (sorted when built).

    >>> import pandas as pd
    >>> TraceArrivals.from_frame(pd.DataFrame({"time": [0.5, 0.1, 2.0]})).times
    (0.1, 0.5, 2.0)
    """

    times: tuple[float, ...]

    def __post_init__(self) -> None:
        try:
            values = np.asarray(self.times, dtype=np.float64)
        except (TypeError, ValueError):
            raise invalid(self, "times", "a sequence of numbers (seconds)", self.times) from None
        if values.ndim != 1 or values.size == 0:
            raise invalid(self, "times", "a non-empty sequence of numbers", self.times)
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            first = float(values[np.argmax(bad)])
            raise invalid(self, "times", "finite times >= 0 seconds", first)
        object.__setattr__(self, "times", tuple(np.sort(values, kind="stable").tolist()))

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, column: str = "time") -> TraceArrivals:
        """Times from ``frame[column]``: seconds, or datetimes (taken from the first one)."""
        import pandas as pd

        if column not in frame.columns:
            raise InvalidArgumentError(
                f"TraceArrivals.from_frame needs a column {column!r}, "
                f"found columns {list(map(str, frame.columns))}"
            )
        series = frame[column]
        if pd.api.types.is_datetime64_any_dtype(series):
            seconds = (series - series.min()).dt.total_seconds()
            return cls(times=tuple(seconds.tolist()))
        return cls(times=tuple(series.tolist()))

    @classmethod
    def from_csv(cls, path: str | Path, column: str = "time") -> TraceArrivals:
        """Times from column ``column`` of a CSV file (seconds, or ISO datetimes)."""
        import pandas as pd

        frame = pd.read_csv(path)
        if column in frame.columns and not pd.api.types.is_numeric_dtype(frame[column]):
            # from_frame reports the values that are neither numbers nor datetimes
            with contextlib.suppress(ValueError, TypeError):
                frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
        return cls.from_frame(frame, column)

    def arrival_times(self, rng: np.random.Generator) -> np.ndarray:
        """The recorded times (the generator is not used)."""
        return np.asarray(self.times, dtype=np.float64)

    @property
    def start(self) -> float:
        """The first arrival."""
        return self.times[0]

    @property
    def end(self) -> float:
        """The last arrival."""
        return self.times[-1]

    @property
    def expected_count(self) -> float:
        """How many arrivals there are."""
        return float(len(self.times))


Arrivals: TypeAlias = ConstantArrivals | PoissonArrivals | BurstArrivals | TraceArrivals
"""Any of the arrival processes."""

ARRIVAL_TYPES: tuple[type, ...] = (ConstantArrivals, PoissonArrivals, BurstArrivals, TraceArrivals)
"""The arrival classes, for ``isinstance`` checks."""
