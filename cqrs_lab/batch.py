"""One batch of projection: the heart of the read side.

Read the events after the read model's checkpoint; let the projection decide each one's row
changes, later events seeing earlier ones through an overlay; commit the rows with the checkpoint
of the last event, in one step. When the projection fails on an event (raises, or returns
something other than row changes), what came before it is committed and the
:class:`~cqrs_lab.failures.Recovery` decides.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from cqrs_lab.event_store import EventStore
from cqrs_lab.failures import DeadLetter, Recovery, wrong_result
from cqrs_lab.projection import Changes, Projection, ReadModel

__all__ = ["Commit", "Overlay", "apply_batch"]

Row = TypeVar("Row")

Commit = Callable[[ReadModel[Any], int, Changes], None]
"""Commits (model, position, changes): rows and checkpoint together."""


class Overlay:
    """Read access to a view plus the changes not committed yet (later events see earlier ones)."""

    __slots__ = ("_model", "staged")

    def __init__(self, model: ReadModel[Any]) -> None:
        self._model = model
        self.staged: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        """The staged row under ``key`` if there is one, else the view's."""
        if key in self.staged:
            return self.staged[key]
        return self._model.get(key)


def apply_batch(
    store: EventStore,
    model: ReadModel[Row],
    projection: Projection[Row],
    limit: int,
    *,
    commit: Commit,
    recovery: Recovery,
    dead_letters: list[DeadLetter],
) -> int:
    """Project up to ``limit`` events after ``model``'s checkpoint; returns how many it covered.

    A batch that meets a failure ends at the failed event (committed, if ``recovery`` retried
    or parked it in ``dead_letters``) or just before it (if ``recovery`` raised to stop).
    """
    start = model.checkpoint
    records = store.read_all(start, limit)
    if not records:
        return 0
    overlay = Overlay(model)
    handles = projection.handles
    project = projection.project
    committed_to = start
    for record in records:
        if record.event_type in handles:
            try:
                changes = project(record, overlay)
                if not isinstance(changes, (dict, Mapping)):  # dict first: the usual case
                    raise wrong_result(projection.name, record, changes)
            except Exception as error:
                commit(model, record.position - 1, overlay.staged)
                changes = recovery.recover(projection, record, model, error, dead_letters)
                commit(model, record.position, changes)
                return model.checkpoint - start
            overlay.staged.update(changes)
        committed_to = record.position
    commit(model, committed_to, overlay.staged)
    return committed_to - start
