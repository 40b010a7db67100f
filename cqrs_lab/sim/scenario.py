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

import dataclasses
import itertools
from dataclasses import dataclass, field
from typing import Any

from cqrs_lab.errors import InvalidArgumentError
from cqrs_lab.sim.arrivals import (
    ARRIVAL_TYPES,
    Arrivals,
    Burst,
    BurstArrivals,
    ConstantArrivals,
    PoissonArrivals,
    TraceArrivals,
)
from cqrs_lab.sim.disturbances import Outage, OutageKind, Poison, RebuildPlan
from cqrs_lab.sim.projector_config import ProjectorConfig, SleepMode
from cqrs_lab.sim.validation import (
    check_integer,
    check_items,
    check_number,
    check_optional,
    invalid,
)

# Every knob is named here too, so that one import gives a notebook all it needs.
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
        check_integer(self, "every", at_least=1)
        if self.timeout is not None:
            check_number(self, "timeout", at_least=0, unit="seconds")
        check_number(self, "think_time", at_least=0, unit="seconds")


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
        if not isinstance(self.arrivals, ARRIVAL_TYPES):
            expected = "one of " + ", ".join(t.__name__ for t in ARRIVAL_TYPES)
            raise invalid(self, "arrivals", expected, self.arrivals)
        object.__setattr__(self, "projectors", tuple(self.projectors))
        object.__setattr__(self, "outages", tuple(self.outages))
        check_items(self, "projectors", ProjectorConfig, allow_empty=False)
        check_items(self, "outages", Outage)
        check_optional(self, "poison", Poison)
        check_optional(self, "rebuild", RebuildPlan)
        check_optional(self, "readers", Readers)
        check_number(self, "duration", above=0, unit="seconds")
        check_number(self, "step", above=0, unit="seconds")
        if self.step > self.duration:
            raise invalid(self, "step", f"<= duration ({self.duration:g} s)", self.step)
        if self.duration / self.step > 10_000_000:
            raise invalid(self, "step", "at most 10,000,000 samples over the duration", self.step)
        check_integer(self, "keys", at_least=1)
        names = [p.name for p in self.projectors]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise invalid(self, "projectors", "projectors with distinct names", duplicates)
        for owner, label in [
            *((outage, "outages") for outage in self.outages),
            (self.rebuild, "rebuild"),
            (self.readers, "readers"),
        ]:
            projection = getattr(owner, "projection", None)
            if projection is not None and projection not in names:
                raise invalid(self, f"{label}.projection", f"one of {names}", projection)
        self._check_outages_apart()

    def _check_outages_apart(self) -> None:
        for name in self.projector_names:
            windows = sorted((o.start, o.end) for o in self.outages if o.projection in (None, name))
            for (_, end), (start, _) in itertools.pairwise(windows):
                if start < end:
                    raise invalid(
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
