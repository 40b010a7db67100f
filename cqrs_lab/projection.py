"""Projections and the read models they fill.

A projection is pure: given a recorded event and read access to its view, it *returns* the row
changes (key -> new row, or ``None`` to delete) and changes nothing itself. A read model then
commits a batch of changes together with the checkpoint -- the position of the last event they
reflect -- in one step, so an event delivered twice is applied once and a crash loses nothing
it claimed to have done.

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True, kw_only=True)
... class Tagged(Event):
...     tag: str
>>> class TagCounts(Projection[int]):
...     name = "tag_counts"
...     handles = frozenset({"Tagged"})
...     def project(self, record, view):
...         tag = record.event.tag
...         return {tag: (view.get(tag) or 0) + 1}
>>> model = InMemoryReadModel("tag_counts")
>>> record = RecordedEvent(1, "s", 1, DEFAULT_START, "Tagged", 1, Tagged(tag="cqrs"))
>>> model.commit(1, TagCounts().project(record, model))
True
>>> model.commit(1, TagCounts().project(record, model))  # delivered twice, applied once
False
>>> model.get("cqrs"), model.checkpoint
(1, 1)
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

from cqrs_lab.clock import DEFAULT_START
from cqrs_lab.errors import InvalidArgumentError
from cqrs_lab.messages import Event, RecordedEvent

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Changes",
    "ConsistencySLA",
    "InMemoryReadModel",
    "Projection",
    "ReadModel",
    "RowReader",
]

Row = TypeVar("Row")
Row_co = TypeVar("Row_co", covariant=True)

Changes = Mapping[str, Any]
"""Row changes a projection returns: key -> the new row, or ``None`` to delete the row."""

_ = (Event, DEFAULT_START)  # used by the doctest above


class RowReader(Protocol[Row_co]):
    """Read access to a view, as a projection sees it while deciding its changes."""

    def get(self, key: str) -> Row_co | None:
        """The row stored under ``key``, or ``None``."""
        ...


@dataclass(frozen=True, slots=True)
class ConsistencySLA:
    """How far a projection may trail the log: the playbook's "define acceptable lag".

    Either bound may be ``None`` (unbounded); a projection breaches the SLA when it is more than
    ``max_events`` behind, or its oldest unapplied event is older than ``max_seconds``.
    """

    max_events: int | None = None
    max_seconds: float | None = None

    def __post_init__(self) -> None:
        if self.max_events is None and self.max_seconds is None:
            raise InvalidArgumentError("a ConsistencySLA needs max_events, max_seconds or both")
        if self.max_events is not None and self.max_events < 0:
            raise InvalidArgumentError(f"max_events must be >= 0, found {self.max_events}")
        if self.max_seconds is not None and self.max_seconds < 0:
            raise InvalidArgumentError(f"max_seconds must be >= 0, found {self.max_seconds}")


class Projection(ABC, Generic[Row]):
    """Turns events into row changes of one view.

    Subclasses set ``name`` and ``handles`` (event type names; events of other types only move
    the checkpoint) and implement :meth:`project`. ``sla`` is optional.
    """

    name: ClassVar[str] = "projection"
    handles: ClassVar[frozenset[str]] = frozenset()
    sla: ConsistencySLA | None = None

    @abstractmethod
    def project(self, record: RecordedEvent, view: RowReader[Row]) -> Changes:
        """The row changes ``record`` causes; must not change anything itself."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class ReadModel(Protocol[Row_co]):
    """Where a projection's rows and its checkpoint live, committed together."""

    name: str

    @property
    def checkpoint(self) -> int:
        """The position of the last event the rows reflect (0: none)."""
        ...

    def get(self, key: str) -> Row_co | None:
        """The row stored under ``key``, or ``None``."""
        ...

    def commit(self, position: int, changes: Changes) -> bool:
        """Apply ``changes`` and move the checkpoint to ``position``, atomically.

        Returns False, changing nothing, when ``position`` is not past the checkpoint (the
        events were already applied).
        """
        ...

    def apply_out_of_order(self, changes: Changes) -> None:
        """Apply ``changes`` without moving the checkpoint (replaying a dead letter)."""
        ...

    def clear(self) -> None:
        """Remove every row and reset the checkpoint to 0."""
        ...

    def keys(self) -> list[str]:
        """Every key, sorted."""
        ...


class InMemoryReadModel(Generic[Row]):
    """A thread-safe dict of rows plus a checkpoint, changed only by :meth:`commit`.

    Subclasses keep secondary indexes by overriding :meth:`_on_change`, which runs inside the
    commit for every changed key.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._rows: dict[str, Row] = {}
        self._checkpoint = 0
        self._lock = threading.RLock()

    @property
    def checkpoint(self) -> int:
        """The position of the last event the rows reflect (0: none)."""
        return self._checkpoint

    def get(self, key: str) -> Row | None:
        """The row stored under ``key``, or ``None``."""
        return self._rows.get(key)

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def keys(self) -> list[str]:
        """Every key, sorted."""
        with self._lock:
            return sorted(self._rows)

    def rows(self) -> list[Row]:
        """Every row, in key order."""
        with self._lock:
            return [self._rows[k] for k in sorted(self._rows)]

    def items(self) -> Iterator[tuple[str, Row]]:
        """(key, row) pairs in key order, from a snapshot."""
        with self._lock:
            snapshot = sorted(self._rows.items())
        return iter(snapshot)

    def commit(self, position: int, changes: Changes) -> bool:
        """Apply ``changes`` and move the checkpoint to ``position``, atomically."""
        with self._lock:
            if position <= self._checkpoint:
                return False
            self._write(changes)
            self._checkpoint = position
            return True

    def apply_out_of_order(self, changes: Changes) -> None:
        """Apply ``changes`` without moving the checkpoint (replaying a dead letter)."""
        with self._lock:
            self._write(changes)

    def write_without_checkpoint(self, changes: Changes) -> None:
        """The pitfall: change rows and leave the checkpoint to be saved later, separately.

        A crash between this and :meth:`save_checkpoint` makes a restart apply the same events
        again. Only the simulation of a non-atomic projector uses it.
        """
        with self._lock:
            self._write(changes)

    def save_checkpoint(self, position: int) -> None:
        """The other half of the pitfall: save the checkpoint on its own."""
        with self._lock:
            self._checkpoint = position

    def _write(self, changes: Changes) -> None:
        rows = self._rows
        for key, row in changes.items():
            before = rows.get(key)
            if row is None:
                rows.pop(key, None)
            else:
                rows[key] = row
            self._on_change(key, before, row)

    def _on_change(self, key: str, before: Row | None, after: Row | None) -> None:
        """Hook for subclasses keeping indexes; called inside the commit for each change."""

    def clear(self) -> None:
        """Remove every row and reset the checkpoint to 0."""
        with self._lock:
            self._rows.clear()
            self._checkpoint = 0
            self._on_clear()

    def _on_clear(self) -> None:
        """Hook for subclasses keeping indexes; called inside :meth:`clear`."""

    def to_dataframe(
        self, row_to_dict: Callable[[Row], Mapping[str, Any]] | None = None
    ) -> pd.DataFrame:
        """The rows as a table indexed by key (dataclass rows become columns)."""
        import dataclasses

        import pandas as pd

        def as_dict(row: Any) -> Mapping[str, Any]:
            if row_to_dict is not None:
                return row_to_dict(row)
            if dataclasses.is_dataclass(row) and not isinstance(row, type):
                return dataclasses.asdict(row)
            return {"value": row}

        snapshot = list(self.items())  # a live projector may commit meanwhile
        return pd.DataFrame(
            [as_dict(row) for _, row in snapshot],
            index=pd.Index([key for key, _ in snapshot], name="key"),
        )

    def __repr__(self) -> str:
        name, rows, checkpoint = type(self).__name__, len(self._rows), self._checkpoint
        return f"{name}({self.name!r}, rows={rows}, checkpoint={checkpoint})"
