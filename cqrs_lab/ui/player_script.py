"""What a step-through player plays and drives: its script items, its parts, and its state.

A script is a sequence of commands, queries and :data:`PROJECT` markers; :class:`PlayerParts`
are the buses, store and projectors it drives; :class:`PlayerState` is what it shows, as plain
data. :class:`~cqrs_lab.ui.player.StepPlayer` plays them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from cqrs_lab.event_store import EventStore
from cqrs_lab.messages import Command, Query
from cqrs_lab.ui.trace import Component, TraceStep

if TYPE_CHECKING:
    from cqrs_lab.projector import Projector

__all__ = [
    "PROJECT",
    "Dispatcher",
    "PlayerParts",
    "PlayerState",
    "ProjectStep",
    "ScriptItem",
    "order_parts",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class ProjectStep:
    """A script item: each projector behind the log (or only ``projection``) applies one event."""

    projection: str | None = None


PROJECT = ProjectStep()
"""The script item that steps every projector behind the log by one event."""

ScriptItem = Command | Query | ProjectStep
"""What a script holds."""


class Dispatcher(Protocol):
    """A command or query bus, as far as the player uses it."""

    def dispatch(self, message: Any, /) -> Any: ...


@dataclass(frozen=True, slots=True)
class PlayerParts:
    """What the player drives: the buses, the store and the projectors (stepped by hand)."""

    store: EventStore
    commands: Any
    queries: Any
    projectors: tuple[Projector[Any], ...]


@dataclass(frozen=True, slots=True)
class PlayerState:
    """What the player shows after a step, as plain data.

    ``log`` holds ``(position, stream_id, version, event_type)`` for the events written so far;
    ``rows`` maps each projection to its rows (key -> summary); ``checkpoints`` each projection
    to its checkpoint.
    """

    index: int
    total: int
    finished: bool
    step: TraceStep | None
    active: Component | None
    caption: str
    log: tuple[tuple[int, str, int, str], ...]
    checkpoints: dict[str, int]
    rows: dict[str, dict[str, str]]


def order_parts() -> PlayerParts:
    """A fresh Order system (manual clock, sequential ids) and its OrderView projector."""
    from cqrs_lab.examples.orders import build_order_system

    system = build_order_system()
    return PlayerParts(system.store, system.commands, system.queries, (system.projector,))
