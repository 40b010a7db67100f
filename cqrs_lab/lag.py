"""How far a projection trails the log, in events and in seconds, and whether that breaks its SLA.

Everything here is derived from the log and the checkpoint, so the figures cannot drift from
what the projector really did: the age of the oldest unapplied event is ``now`` minus its
``recorded_at``, and a breach began when the first event past the allowed lag was recorded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from cqrs_lab.event_store import EventStore
from cqrs_lab.projection import ConsistencySLA

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["LagReport", "lag_frame", "measure_lag"]


@dataclass(frozen=True, slots=True)
class LagReport:
    """One projection's lag at one moment."""

    projection: str
    measured_at: datetime
    head: int
    checkpoint: int
    events_behind: int
    seconds_behind: float
    sla: ConsistencySLA | None = None
    breach_since: datetime | None = None

    @property
    def in_breach(self) -> bool:
        """Whether the projection is beyond its SLA now."""
        return self.breach_since is not None

    @property
    def caught_up(self) -> bool:
        """Whether every event in the log has been applied."""
        return self.events_behind == 0

    def as_row(self) -> dict[str, object]:
        """The report as a flat dict, one DataFrame row."""
        return {
            "projection": self.projection,
            "measured_at": self.measured_at,
            "head": self.head,
            "checkpoint": self.checkpoint,
            "events_behind": self.events_behind,
            "seconds_behind": self.seconds_behind,
            "sla_events": None if self.sla is None else self.sla.max_events,
            "sla_seconds": None if self.sla is None else self.sla.max_seconds,
            "in_breach": self.in_breach,
            "breach_since": self.breach_since,
        }


def measure_lag(
    store: EventStore,
    projection: str,
    checkpoint: int,
    now: datetime,
    sla: ConsistencySLA | None = None,
) -> LagReport:
    """The lag of a projection at ``checkpoint``, measured at ``now`` (two O(1) log reads)."""
    head = store.head
    behind = max(head - checkpoint, 0)
    seconds = 0.0
    breach_since: datetime | None = None
    if behind:
        oldest = store.read_all(checkpoint, 1)[0].recorded_at
        seconds = max((now - oldest).total_seconds(), 0.0)
        if sla is not None:
            starts: list[datetime] = []
            if sla.max_seconds is not None and seconds > sla.max_seconds:
                starts.append(oldest + timedelta(seconds=sla.max_seconds))
            if sla.max_events is not None and behind > sla.max_events:
                # the breach began when the first event beyond the allowed lag was recorded
                starts.append(store.read_all(checkpoint + sla.max_events, 1)[0].recorded_at)
            breach_since = min(starts) if starts else None
    return LagReport(projection, now, head, checkpoint, behind, seconds, sla, breach_since)


def lag_frame(reports: Iterable[LagReport]) -> pd.DataFrame:
    """Lag reports as a DataFrame, one row per report, indexed by projection name."""
    import pandas as pd

    rows = [report.as_row() for report in reports]
    columns = [
        "projection",
        "measured_at",
        "head",
        "checkpoint",
        "events_behind",
        "seconds_behind",
        "sla_events",
        "sla_seconds",
        "in_breach",
        "breach_since",
    ]
    return pd.DataFrame(rows, columns=columns).set_index("projection")
