"""One simulated projector's knobs: its batches, its sleep, its costs, its policy and its SLA.

The defaults are the playbook's Template 4 (batches of 100, a 0.1 s sleep after each):

>>> round(ProjectorConfig().capacity, 1)  # events/s it can project at most
892.9
>>> ProjectorConfig(cost_per_event=0, cost_per_batch=0).capacity  # the cap of Template 4
1000.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from cqrs_lab.failures import FailurePolicy
from cqrs_lab.projection import ConsistencySLA
from cqrs_lab.sim.validation import check_enum, check_integer, check_number, invalid

__all__ = ["ProjectorConfig", "SleepMode"]


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
    number saves the checkpoint separately every that many events (the pitfall a crash exposes:
    :class:`~cqrs_lab.pitfalls.CheckpointSavedEvery`). ``silent_skip_pitfall`` wraps the
    projection in :class:`~cqrs_lab.pitfalls.SilentSkip`: a failing event is logged and lost,
    whatever the policy.
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
    silent_skip_pitfall: bool = False
    sla_events: int | None = None
    sla_seconds: float | None = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise invalid(self, "name", "a non-blank string", self.name)
        check_integer(self, "batch_size", at_least=1)
        check_number(self, "poll_interval", at_least=0, unit="seconds")
        check_enum(self, "sleep", SleepMode)
        check_number(self, "cost_per_event", at_least=0, unit="seconds")
        check_number(self, "cost_per_batch", at_least=0, unit="seconds")
        check_enum(self, "policy", FailurePolicy)
        check_integer(self, "max_attempts", at_least=1)
        check_number(self, "backoff", at_least=0, unit="seconds")
        check_integer(self, "checkpoint_every", at_least=1, optional=True)
        if not isinstance(self.silent_skip_pitfall, bool):
            raise invalid(self, "silent_skip_pitfall", "True or False", self.silent_skip_pitfall)
        check_integer(self, "sla_events", at_least=0, optional=True)
        if self.sla_seconds is not None:
            check_number(self, "sla_seconds", at_least=0, unit="seconds")
        idle_poll = self.cost_per_batch + self.poll_interval
        if self.sleep is not SleepMode.NOTIFY and idle_poll == 0:
            raise invalid(
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
