"""The knobs of a simulation, as frozen dataclasses with defaults and validation.

Each knob rejects nonsense when it is built, naming the field, what it expects and what it found:

>>> ConstantArrivals(rate=-5)
Traceback (most recent call last):
...
cqrs_lab.errors.InvalidArgumentError: ConstantArrivals.rate must be a number > 0 (...), found -5
>>> Outage(start=10, end=5)
Traceback (most recent call last):
...
cqrs_lab.errors.InvalidArgumentError: Outage.end must be a number > start (10), found 5

The defaults are the playbook's Template 4 projector (batches of 100, a 0.1 s sleep after each)
fed 200 commands per second for 100 seconds -- 20,000 events:

>>> scenario = Scenario()
>>> scenario.projectors[0].batch_size, scenario.projectors[0].poll_interval
(100, 0.1)
>>> round(scenario.projectors[0].capacity, 1)  # events/s it can project at most
892.9
>>> ProjectorConfig(cost_per_event=0, cost_per_batch=0).capacity  # the cap of Template 4
1000.0
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from cqrs_lab.errors import InvalidArgumentError
from cqrs_lab.projection import ConsistencySLA
from cqrs_lab.projector import FailurePolicy, RebuildMode

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Arrivals",
    "Burst",
    "BurstArrivals",
    "ConstantArrivals",
    "Outage",
    "OutageKind",
    "Poison",
    "PoissonArrivals",
    "ProjectorConfig",
    "Readers",
    "RebuildPlan",
    "Scenario",
    "SleepMode",
    "TraceArrivals",
]


# -- validation helpers -----------------------------------------------------------------------


def _fail(owner: object, name: str, expected: str, found: object) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"{type(owner).__name__}.{name} must be {expected}, found {found!r}"
    )


def _is_number(value: object) -> bool:
    return (
        isinstance(value, int | float | np.integer | np.floating)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _number(
    owner: object,
    name: str,
    *,
    above: float | None = None,
    at_least: float | None = None,
    unit: str = "",
) -> None:
    """Check that field ``name`` of ``owner`` is a finite number in range."""
    value = getattr(owner, name)
    suffix = f" ({unit})" if unit else ""
    if above is not None and not (_is_number(value) and value > above):
        raise _fail(owner, name, f"a number > {above:g}{suffix}", value)
    if at_least is not None and not (_is_number(value) and value >= at_least):
        raise _fail(owner, name, f"a number >= {at_least:g}{suffix}", value)
    if above is None and at_least is None and not _is_number(value):
        raise _fail(owner, name, f"a finite number{suffix}", value)


def _integer(owner: object, name: str, *, at_least: int, optional: bool = False) -> None:
    value = getattr(owner, name)
    if optional and value is None:
        return
    ok = isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= at_least
    if not ok:
        expected = f"a whole number >= {at_least}" + (" or None" if optional else "")
        raise _fail(owner, name, expected, value)


def _window(owner: object) -> None:
    """Check ``start`` >= 0 and ``end`` > ``start``."""
    _number(owner, "start", at_least=0, unit="seconds")
    start = owner.start  # type: ignore[attr-defined]
    end = owner.end  # type: ignore[attr-defined]
    if not (_is_number(end) and end > start):
        raise _fail(owner, "end", f"a number > start ({start:g})", end)


def _enum(owner: object, name: str, kind: type[StrEnum]) -> None:
    value = getattr(owner, name)
    try:
        object.__setattr__(owner, name, kind(value))
    except ValueError:
        choices = ", ".join(repr(member.value) for member in kind)
        raise _fail(owner, name, f"one of {choices}", value) from None


# -- arrivals -----------------------------------------------------------------------------------


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
        _number(self, "rate", above=0, unit="arrivals per second")
        _window(self)

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
        _number(self, "rate", above=0, unit="arrivals per second")
        _window(self)

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
        _window(self)
        _number(self, "rate", above=0, unit="arrivals per second")


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
        _number(self, "rate", at_least=0, unit="arrivals per second")
        _window(self)
        object.__setattr__(self, "bursts", tuple(self.bursts))
        for burst in self.bursts:
            if not isinstance(burst, Burst):
                raise _fail(self, "bursts", "a tuple of Burst", burst)
        if not self.bursts and self.rate == 0:
            raise _fail(self, "rate", "a number > 0 when there are no bursts", self.rate)

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
            raise _fail(self, "times", "a sequence of numbers (seconds)", self.times) from None
        if values.ndim != 1 or values.size == 0:
            raise _fail(self, "times", "a non-empty sequence of numbers", self.times)
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            first = float(values[np.argmax(bad)])
            raise _fail(self, "times", "finite times >= 0 seconds", first)
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

_ARRIVAL_TYPES = (ConstantArrivals, PoissonArrivals, BurstArrivals, TraceArrivals)


# -- the projector ------------------------------------------------------------------------------


class SleepMode(StrEnum):
    """When a simulated projector sleeps ``poll_interval``."""

    ALWAYS = "always"
    """After every batch, whether or not it found work: the playbook's Template 4."""
    WHEN_IDLE = "when_idle"
    """Only when a poll finds nothing to do; batches follow each other while there is work."""
    NOTIFY = "notify"
    """Never polls: when idle it waits for the store's append notification (``Projector.start``)."""


@dataclass(frozen=True, kw_only=True)
class ProjectorConfig:
    """One projector: its batches, its costs in virtual seconds, its failure policy and its SLA.

    A batch of ``n`` events found at time ``t`` is committed at ``t + cost_per_batch +
    n * cost_per_event``. ``checkpoint_every`` None commits rows and checkpoint together; a
    number saves the checkpoint separately every that many events (the pitfall a crash exposes).
    """

    name: str = "item_counts"
    batch_size: int = 100
    poll_interval: float = 0.1
    sleep: SleepMode = SleepMode.ALWAYS
    cost_per_event: float = 0.0001
    cost_per_batch: float = 0.002
    policy: FailurePolicy = FailurePolicy.STOP
    max_attempts: int = 3
    backoff: float = 0.05
    checkpoint_every: int | None = None
    sla_events: int | None = None
    sla_seconds: float | None = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise _fail(self, "name", "a non-blank string", self.name)
        _integer(self, "batch_size", at_least=1)
        _number(self, "poll_interval", at_least=0, unit="seconds")
        _enum(self, "sleep", SleepMode)
        _number(self, "cost_per_event", at_least=0, unit="seconds")
        _number(self, "cost_per_batch", at_least=0, unit="seconds")
        _enum(self, "policy", FailurePolicy)
        _integer(self, "max_attempts", at_least=1)
        _number(self, "backoff", at_least=0, unit="seconds")
        _integer(self, "checkpoint_every", at_least=1, optional=True)
        _integer(self, "sla_events", at_least=0, optional=True)
        if self.sla_seconds is not None:
            _number(self, "sla_seconds", at_least=0, unit="seconds")
        idle_poll = self.cost_per_batch + self.poll_interval
        if self.sleep is not SleepMode.NOTIFY and idle_poll == 0:
            raise _fail(
                self,
                "poll_interval",
                "> 0 when cost_per_batch is 0 (an idle poll would take no time and never end)",
                self.poll_interval,
            )

    @property
    def capacity(self) -> float:
        """Events per second this projector can apply at most, with a full batch each time."""
        busy = self.cost_per_batch + self.batch_size * self.cost_per_event
        if self.sleep is SleepMode.ALWAYS:
            busy += self.poll_interval
        return math.inf if busy == 0 else self.batch_size / busy

    @property
    def sla(self) -> ConsistencySLA | None:
        """The projection's consistency SLA, if it has one."""
        if self.sla_events is None and self.sla_seconds is None:
            return None
        return ConsistencySLA(max_events=self.sla_events, max_seconds=self.sla_seconds)


# -- disturbances ---------------------------------------------------------------------------------


class OutageKind(StrEnum):
    """What happens to a projector during an :class:`Outage`."""

    PAUSE = "pause"
    """It freezes and then goes on where it was (a long GC pause, a stopped container)."""
    CRASH = "crash"
    """It dies, losing what it had not checkpointed, and restarts at the end of the window."""


@dataclass(frozen=True, kw_only=True)
class Outage:
    """A projector paused or crashed from ``start`` until ``end`` (virtual seconds).

    ``projection`` None means every projector.
    """

    start: float
    end: float
    kind: OutageKind = OutageKind.PAUSE
    projection: str | None = None

    def __post_init__(self) -> None:
        _window(self)
        _enum(self, "kind", OutageKind)


@dataclass(frozen=True, kw_only=True)
class Poison:
    """The ``at_event``-th command records a poison event that every projection fails on.

    ``failures`` None: it fails until the fix is deployed at ``fixed_at`` (never, if None); a
    number: it fails that many times, then succeeds (a transient fault). At ``fixed_at`` a
    stopped projector resumes and dead letters are replayed.
    """

    at_event: int = 1000
    failures: int | None = None
    fixed_at: float | None = None

    def __post_init__(self) -> None:
        _integer(self, "at_event", at_least=1)
        _integer(self, "failures", at_least=0, optional=True)
        if self.fixed_at is not None:
            _number(self, "fixed_at", at_least=0, unit="seconds")


@dataclass(frozen=True, kw_only=True)
class RebuildPlan:
    """Rebuild a projection at time ``at`` while commands keep arriving.

    In place, the live projector stops, its view is cleared and replayed; blue/green, a new view
    is built beside the live one and swapped in when it has caught up. The rebuild reads
    ``batch_size`` events per step at the projector's costs, without sleeping.
    """

    at: float = 50.0
    mode: RebuildMode = RebuildMode.BLUE_GREEN
    batch_size: int = 1000
    projection: str | None = None

    def __post_init__(self) -> None:
        _number(self, "at", at_least=0, unit="seconds")
        _enum(self, "mode", RebuildMode)
        _integer(self, "batch_size", at_least=1)


@dataclass(frozen=True, kw_only=True)
class Readers:
    """Every ``every``-th command's sender queries its own key ``think_time`` seconds later.

    ``timeout`` None: they read at once, without the waiter; a number: they first wait up to
    that long for the read model to reach their write (0 is the same as not waiting).
    ``projection`` None means the first projector's.
    """

    every: int = 10
    timeout: float | None = None
    think_time: float = 0.0
    projection: str | None = None

    def __post_init__(self) -> None:
        _integer(self, "every", at_least=1)
        if self.timeout is not None:
            _number(self, "timeout", at_least=0, unit="seconds")
        _number(self, "think_time", at_least=0, unit="seconds")


# -- the scenario --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Scenario:
    """Everything a simulation needs but the seed.

    ``duration`` is how long to simulate (virtual seconds) and ``step`` how often the timeline is
    sampled; ``keys`` is how many distinct keys (streams) commands spread over.
    """

    arrivals: Arrivals = field(default_factory=ConstantArrivals)
    projectors: tuple[ProjectorConfig, ...] = (ProjectorConfig(),)
    outages: tuple[Outage, ...] = ()
    poison: Poison | None = None
    rebuild: RebuildPlan | None = None
    readers: Readers | None = field(default_factory=Readers)
    duration: float = 120.0
    step: float = 0.1
    keys: int = 100

    def __post_init__(self) -> None:
        if not isinstance(self.arrivals, _ARRIVAL_TYPES):
            expected = "one of " + ", ".join(t.__name__ for t in _ARRIVAL_TYPES)
            raise _fail(self, "arrivals", expected, self.arrivals)
        object.__setattr__(self, "projectors", tuple(self.projectors))
        object.__setattr__(self, "outages", tuple(self.outages))
        _typed_items(self, "projectors", ProjectorConfig, allow_empty=False)
        _typed_items(self, "outages", Outage)
        _optional_type(self, "poison", Poison)
        _optional_type(self, "rebuild", RebuildPlan)
        _optional_type(self, "readers", Readers)
        _number(self, "duration", above=0, unit="seconds")
        _number(self, "step", above=0, unit="seconds")
        if self.step > self.duration:
            raise _fail(self, "step", f"<= duration ({self.duration:g} s)", self.step)
        if self.duration / self.step > 10_000_000:
            raise _fail(self, "step", "at most 10,000,000 samples over the duration", self.step)
        _integer(self, "keys", at_least=1)
        names = [p.name for p in self.projectors]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise _fail(self, "projectors", "projectors with distinct names", duplicates)
        for owner, label in [
            *((outage, "outages") for outage in self.outages),
            (self.rebuild, "rebuild"),
            (self.readers, "readers"),
        ]:
            projection = getattr(owner, "projection", None)
            if projection is not None and projection not in names:
                raise _fail(self, f"{label}.projection", f"one of {names}", projection)
        self._check_outages_apart()

    def _check_outages_apart(self) -> None:
        for name in self.projector_names:
            windows = sorted((o.start, o.end) for o in self.outages if o.projection in (None, name))
            for (_, end), (start, _) in itertools.pairwise(windows):
                if start < end:
                    raise _fail(
                        self,
                        "outages",
                        f"windows that do not overlap (projector {name!r})",
                        f"one ending at {end:g} s and one starting at {start:g} s",
                    )

    @property
    def projector_names(self) -> list[str]:
        """The projectors' names, in order."""
        return [p.name for p in self.projectors]

    def projector(self, name: str | None = None) -> ProjectorConfig:
        """The projector called ``name`` (default: the first)."""
        if name is None:
            return self.projectors[0]
        for config in self.projectors:
            if config.name == name:
                return config
        raise InvalidArgumentError(f"no projector named {name!r}; found {self.projector_names}")

    def replace(self, **changes: Any) -> Scenario:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def with_projectors(self, **changes: Any) -> Scenario:
        """A copy in which every projector has ``changes`` applied."""
        return self.replace(
            projectors=tuple(dataclasses.replace(p, **changes) for p in self.projectors)
        )


def _typed_items(owner: object, name: str, kind: type, *, allow_empty: bool = True) -> None:
    items: Sequence[object] = getattr(owner, name)
    if not allow_empty and not items:
        raise _fail(owner, name, f"at least one {kind.__name__}", items)
    for item in items:
        if not isinstance(item, kind):
            raise _fail(owner, name, f"a tuple of {kind.__name__}", item)


def _optional_type(owner: object, name: str, kind: type) -> None:
    value = getattr(owner, name)
    if value is not None and not isinstance(value, kind):
        raise _fail(owner, name, f"a {kind.__name__} or None", value)
