"""What disturbs a simulated projector: outages, a poison event, a rebuild mid-run.

>>> Outage(start=10, end=5)
Traceback (most recent call last):
...
cqrs_lab.errors.InvalidArgumentError: Outage.end must be a number > start (10), found 5
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cqrs_lab.rebuild import RebuildMode
from cqrs_lab.sim.validation import check_enum, check_integer, check_number, check_window

__all__ = ["Outage", "OutageKind", "Poison", "RebuildPlan"]


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
        check_window(self)
        check_enum(self, "kind", OutageKind)


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
        check_integer(self, "at_event", at_least=1)
        check_integer(self, "failures", at_least=0, optional=True)
        if self.fixed_at is not None:
            check_number(self, "fixed_at", at_least=0, unit="seconds")


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
        check_number(self, "at", at_least=0, unit="seconds")
        check_enum(self, "mode", RebuildMode)
        check_integer(self, "batch_size", at_least=1)
