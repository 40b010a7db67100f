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
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from cqrs_lab.clock import DEFAULT_START
from cqrs_lab.errors import InvalidArgumentError, InvalidProjectionError, UnknownEventTypeError
from cqrs_lab.messages import Event, RecordedEvent
from cqrs_lab.upcasting import EventRegistry

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Changes",
    "ConsistencySLA",
    "InMemoryReadModel",
    "Projection",
    "ReadModel",
    "RowReader",
    "check_projection",
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
    """How far a projection may trail the log: the lag its readers have agreed to accept.

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

    Subclasses set ``name`` (it names the read model, its checkpoint and its lag) and
    ``handles`` (the event type *names* it handles; events of other types only move the
    checkpoint) and implement :meth:`project`. ``sla`` is optional. A name that is not a
    non-blank string, or handles that are not a set of strings, are refused when the class is
    defined; a missing one when a projector is built (see :func:`check_projection`).
    """

    name: str
    handles: frozenset[str]
    sla: ConsistencySLA | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            _check_name(cls.__name__, cls.__dict__["name"])
        if "handles" in cls.__dict__:
            _check_handles(cls.__name__, cls.__dict__["handles"])

    @abstractmethod
    def project(self, record: RecordedEvent, view: RowReader[Row]) -> Changes:
        """The row changes ``record`` causes; must not change anything itself."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={getattr(self, 'name', None)!r})"


def check_projection(projection: Projection[Any], registry: EventRegistry | None = None) -> None:
    """Raise :class:`InvalidProjectionError` unless ``projection`` can match events.

    It needs a ``name`` and ``handles`` (a non-empty set of event type names). With a
    ``registry`` that knows some of those names, every name must be known to it: one it does
    not know is misspelt, or an event never registered, and would silently match nothing.
    """
    owner = type(projection).__name__
    if not isinstance(projection, Projection):
        raise InvalidProjectionError(f"expected a Projection, found {projection!r}")
    for attribute in ("name", "handles"):
        if not hasattr(projection, attribute):
            raise InvalidProjectionError(
                f"{owner} has no {attribute}; set it on the class, e.g. "
                + ('name = "order_views"' if attribute == "name" else _HANDLES_EXAMPLE)
            )
    _check_name(owner, projection.name)
    _check_handles(owner, projection.handles)
    if not projection.handles:
        raise InvalidProjectionError(
            f"{owner}.handles is empty: it would match no event; e.g. {_HANDLES_EXAMPLE}"
        )
    if registry is not None:
        unknown = sorted(name for name in projection.handles if not _known(registry, name))
        if unknown and len(unknown) < len(projection.handles):
            raise InvalidProjectionError(
                f"{owner}.handles names event type(s) {unknown} that the store's registry does "
                f"not know; expected registered names (check the spelling, or register the event)"
            )


_HANDLES_EXAMPLE = 'handles = frozenset({"OrderCreated", "OrderShipped"})'


def _known(registry: EventRegistry, type_name: str) -> bool:
    try:
        registry.event_type(type_name)
    except UnknownEventTypeError:
        return False
    return True


def _check_name(owner: str, name: object) -> None:
    if not isinstance(name, str) or not name.strip():
        raise InvalidProjectionError(f"{owner}.name must be a non-blank string, found {name!r}")


def _check_handles(owner: str, handles: object) -> None:
    if not isinstance(handles, (set, frozenset)):
        raise InvalidProjectionError(
            f"{owner}.handles must be a set of event type names, found {handles!r}; "
            f"e.g. {_HANDLES_EXAMPLE}"
        )
    for item in handles:
        if isinstance(item, type):
            raise InvalidProjectionError(
                f"{owner}.handles contains the class {item.__name__}; expected its name: "
                f"{item.__name__}.type_name or {item.__name__!r}"
            )
        if not isinstance(item, str):
            raise InvalidProjectionError(
                f"{owner}.handles must hold event type names (str), found {item!r}"
            )


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
    commit for every changed key, and :meth:`_on_clear`. Rows and checkpoint move together or
    not at all, even when a hook raises.
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
        """Apply ``changes`` and move the checkpoint to ``position``, atomically.

        If an ``_on_change`` hook raises, nothing of the commit stays: see :meth:`_write_whole`.
        """
        with self._lock:
            if position <= self._checkpoint:
                return False
            self._write_whole(changes)
            self._checkpoint = position
            return True

    def apply_out_of_order(self, changes: Changes) -> None:
        """Apply ``changes`` without moving the checkpoint (replaying a dead letter)."""
        with self._lock:
            self._write_whole(changes)

    def _write_whole(self, changes: Changes) -> None:
        """Write every change, or -- if a hook raises -- none: rows as before, indexes rebuilt.

        A hook that fails half way may have left its own indexes half changed, so they are
        rebuilt from the restored rows (``_on_clear``, then ``_on_change`` for every row).
        """
        rows = self._rows
        before = {key: rows.get(key) for key in changes}
        try:
            self._write(changes)
        except BaseException:
            for key, row in before.items():
                if row is None:
                    rows.pop(key, None)
                else:
                    rows[key] = row
            self._on_clear()
            for key, row in rows.items():
                self._on_change(key, None, row)
            raise

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
        """The rows as a table indexed by key (dataclass and NamedTuple rows become columns)."""
        import dataclasses

        import pandas as pd

        def as_dict(row: Any) -> Mapping[str, Any]:
            if row_to_dict is not None:
                return row_to_dict(row)
            if dataclasses.is_dataclass(row) and not isinstance(row, type):
                return dataclasses.asdict(row)
            return row._asdict() if hasattr(row, "_asdict") else {"value": row}  # a NamedTuple

        snapshot = list(self.items())  # a live projector may commit meanwhile
        return pd.DataFrame(
            [as_dict(row) for _, row in snapshot],
            index=pd.Index([key for key, _ in snapshot], name="key"),
        )

    def __repr__(self) -> str:
        name, rows, checkpoint = type(self).__name__, len(self._rows), self._checkpoint
        return f"{name}({self.name!r}, rows={rows}, checkpoint={checkpoint})"
