"""The playbook's read-side mistakes, runnable, so that notebooks and the simulator can show them.

Nothing in the core offers these: each is a thin layer over the core's public API, named for what
goes wrong. Use them to watch the damage, never to build on.

- :class:`SilentSkip` -- Template 4's ``except Exception: log; continue``: a failing event is
  logged and the checkpoint moves past it, with no record. The event is lost.
- :class:`RowsThenCheckpoint` -- Template 4's checkpoint saved in its own step after the rows: a
  crash in between applies the same event twice on restart.
- :class:`CheckpointSavedEvery` -- the same mistake as a read model a projector can drive: rows
  written at once, the checkpoint saved only every few events; :meth:`~CheckpointSavedEvery.crash`
  forgets what was not saved.

>>> from cqrs_lab.event_store import InMemoryEventStore
>>> from cqrs_lab.projector import Projector
>>> class Broken(Projection[int]):
...     name = "broken"
...     handles = frozenset({"Noted"})
...     def project(self, record, view):
...         raise KeyError("oops")
>>> @dataclass(frozen=True, kw_only=True)
... class Noted(Event):
...     text: str
>>> store = InMemoryEventStore()
>>> _ = store.append("notes", [Noted(text="hi")])
>>> projector = Projector(store, SilentSkip(Broken()))
>>> projector.catch_up(), projector.checkpoint, projector.failure, projector.dead_letters
(1, 1, None, [])
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Generic, TypeVar

from cqrs_lab.errors import InvalidArgumentError
from cqrs_lab.messages import Event, RecordedEvent
from cqrs_lab.projection import Changes, InMemoryReadModel, Projection, ReadModel, RowReader

__all__ = ["CheckpointSavedEvery", "RowsThenCheckpoint", "SilentSkip"]

logger = logging.getLogger(__name__)

Row = TypeVar("Row")

_ = (dataclass, Event)  # used by the doctest above


class SilentSkip(Projection[Row]):
    """PITFALL (Template 4): log a projection's error and return no changes.

    The projector sees an event that changed nothing, so its checkpoint moves past it: no
    failure, no dead letter, only a log line on the ``cqrs_lab.pitfalls`` logger. The read model
    looks healthy and has lost the event; only a rebuild shows it. The core's failure policies
    (stop, retry, dead letter) are what to use instead.
    """

    def __init__(self, projection: Projection[Row]) -> None:
        self.projection = projection
        self.name = projection.name
        self.handles = projection.handles
        self.sla = projection.sla

    def project(self, record: RecordedEvent, view: RowReader[Row]) -> Changes:
        """The wrapped projection's changes, or none at all if it raises (the pitfall)."""
        try:
            return self.projection.project(record, view)
        except Exception as error:
            logger.error("Projection error: %s", error)  # and nothing else: the pitfall
            return {}

    def __repr__(self) -> str:
        return f"SilentSkip({self.projection!r})"


class RowsThenCheckpoint(InMemoryReadModel[Row]):
    """PITFALL (Template 4): an in-memory read model that can also write rows and checkpoint
    in two separate steps.

    :meth:`write_without_checkpoint` then :meth:`save_checkpoint` is the playbook's loop; a crash
    between the two makes a restart apply the same events again. The core's
    :meth:`~cqrs_lab.projection.InMemoryReadModel.commit` does both in one step.
    """

    def write_without_checkpoint(self, changes: Changes) -> None:
        """The first half: change rows and leave the checkpoint where it was."""
        super().apply_out_of_order(changes)

    def save_checkpoint(self, position: int) -> None:
        """The second half: move the checkpoint on its own (forward only)."""
        super().commit(position, {})


class CheckpointSavedEvery(Generic[Row]):
    """PITFALL: a read model that writes rows at once and saves the checkpoint every ``every``.

    ``checkpoint`` is where the running process *thinks* it is (kept in its memory);
    ``saved_checkpoint`` is what ``durable`` holds. :meth:`crash` forgets the memory, so a
    restarted projector replays from the saved checkpoint and applies those events again.
    """

    def __init__(self, durable: ReadModel[Row], every: int) -> None:
        if every < 1:
            raise InvalidArgumentError(f"every must be >= 1 event, found {every}")
        self.durable = durable
        self.name = durable.name
        self.every = every
        self._cursor = durable.checkpoint

    @property
    def checkpoint(self) -> int:
        """The position the running process has reached (not necessarily saved)."""
        return self._cursor

    @property
    def saved_checkpoint(self) -> int:
        """The position last saved: where a restart begins."""
        return self.durable.checkpoint

    def get(self, key: str) -> Row | None:
        """The row under ``key``, or None."""
        return self.durable.get(key)

    def commit(self, position: int, changes: Changes) -> bool:
        """Write rows now; save the checkpoint only once ``every`` events have gone by."""
        if position <= self._cursor:
            return False
        self.durable.apply_out_of_order(changes)  # rows without the checkpoint: the pitfall
        self._cursor = position
        if position - self.durable.checkpoint >= self.every:
            self.durable.commit(position, {})  # the checkpoint on its own
        return True

    def apply_out_of_order(self, changes: Changes) -> None:
        """Apply ``changes`` without moving the checkpoint (replaying a dead letter)."""
        self.durable.apply_out_of_order(changes)

    def clear(self) -> None:
        """Remove every row and reset both checkpoints to 0."""
        self.durable.clear()
        self._cursor = 0

    def keys(self) -> list[str]:
        """Every key, sorted."""
        return self.durable.keys()

    def crash(self) -> None:
        """The process dies: what it had not saved is forgotten, the rows it wrote stay."""
        self._cursor = self.durable.checkpoint

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.name!r}, checkpoint={self._cursor}, "
            f"saved={self.durable.checkpoint}, every={self.every})"
        )
