"""Rebuilding a read model from the whole log: in place, or blue/green beside the live one.

A :class:`Rebuild` drives a projector through three public methods only -- the seam
:class:`Rebuildable` names: project a batch into a given read model, start over in place, and
switch to a model built beside the live one. ``Projector.rebuild()`` runs one to the end;
``Projector.start_rebuild()`` hands you one to :meth:`~Rebuild.step` (a simulation does).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Generic, Protocol, TypeVar

from cqrs_lab.errors import InvalidArgumentError
from cqrs_lab.event_store import EventStore
from cqrs_lab.failures import DeadLetter
from cqrs_lab.projection import InMemoryReadModel, Projection, ReadModel

__all__ = ["Progress", "Rebuild", "RebuildMode", "Rebuildable", "empty_like"]

Row = TypeVar("Row")

Progress = Callable[[int, int], None]
"""Called with (events done, events in all) as a rebuild goes."""


class RebuildMode(StrEnum):
    """How a read model is rebuilt."""

    IN_PLACE = "in_place"
    """Clear the live view and replay into it: queries see it empty, then partial."""
    BLUE_GREEN = "blue_green"
    """Build a new view beside the live one and switch when it has caught up."""


class Rebuildable(Protocol[Row]):
    """What a rebuild needs of a projector (a :class:`~cqrs_lab.projector.Projector` is one)."""

    store: EventStore
    read_model: ReadModel[Row]
    dead_letters: list[DeadLetter]

    def project_batch(
        self,
        read_model: ReadModel[Row],
        projection: Projection[Row],
        limit: int | None = None,
        *,
        dead_letters: list[DeadLetter] | None = None,
    ) -> int:
        """Project the next batch into ``read_model``, committing rows with the checkpoint."""
        ...

    def start_over(self, projection: Projection[Row]) -> None:
        """Clear the live read model and continue with ``projection`` from position 0."""
        ...

    def switch_to(
        self,
        read_model: ReadModel[Row],
        projection: Projection[Row],
        dead_letters: list[DeadLetter],
    ) -> None:
        """Catch ``read_model`` up with the log and make it, and ``projection``, the live ones."""
        ...


class Rebuild(Generic[Row]):
    """A rebuild in progress, advanced one batch per :meth:`step`.

    In place, the live read model is cleared at once and refilled; blue/green, ``target`` fills
    beside it (parking its own dead letters) and replaces it once it has reached the head the
    rebuild began at. Either way it ends: it never chases a head that keeps moving.
    """

    def __init__(
        self,
        projector: Rebuildable[Row],
        mode: RebuildMode,
        projection: Projection[Row],
        read_model: ReadModel[Row] | None = None,
    ) -> None:
        self.projector = projector
        self.mode = mode
        self.projection = projection
        self.total = projector.store.head  # the head when the rebuild began
        self.finished = False
        self.dead_letters: list[DeadLetter] = []  # a blue/green build's own, until the switch
        if mode is RebuildMode.IN_PLACE:
            projector.start_over(projection)
            self.target: ReadModel[Row] = projector.read_model
            return
        self.target = (
            read_model
            if read_model is not None
            else empty_like(projector.read_model, projection.name)
        )
        if self.target.checkpoint != 0:
            raise InvalidArgumentError(
                f"a blue/green rebuild needs an empty read model, found checkpoint "
                f"{self.target.checkpoint}; pass a new one"
            )

    @property
    def done(self) -> int:
        """Events replayed so far (capped at ``total``)."""
        return min(self.target.checkpoint, self.total)

    def step(self, limit: int | None = None) -> int:
        """Replay one batch; returns how many events it covered."""
        if self.finished:
            return 0
        projector = self.projector
        if self.mode is RebuildMode.IN_PLACE:
            processed = projector.project_batch(self.target, self.projection, limit)
            self.finished = self.target.checkpoint >= self.total
            return processed
        processed = projector.project_batch(
            self.target, self.projection, limit, dead_letters=self.dead_letters
        )
        if self.target.checkpoint >= self.total or processed == 0:
            # past the head it began at: the projector finishes what arrived meanwhile under
            # its lock, where nothing else processes, and switches
            projector.switch_to(self.target, self.projection, self.dead_letters)
            self.finished = True
        return processed

    def run(self, progress: Progress | None = None) -> int:
        """Step to the end, calling ``progress(done, total)`` after each step; returns ``done``."""
        while not self.finished:
            self.step()
            if progress is not None:
                progress(self.done, self.total)
        return self.done


def empty_like(live: ReadModel[Row], name: str) -> ReadModel[Row]:
    """A new, empty model to build beside ``live``: of its class if it is in memory.

    Built as ``cls(name)``, so a subclass of :class:`InMemoryReadModel` keeps its indexes;
    any other model gives a plain :class:`InMemoryReadModel`.
    """
    if isinstance(live, InMemoryReadModel):
        return type(live)(name)
    return InMemoryReadModel(name)
