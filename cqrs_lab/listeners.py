"""Who listens to a projector, and how they are told: never while the projector holds its lock.

The projector notes each commit (and a new failure) in an :class:`Announcer` while it holds its
lock, and has it :meth:`~Announcer.deliver` them once the lock is released: a slow listener
cannot stall the projector, and one that calls back into it (a waiter's callback running the
next query) cannot deadlock it.

>>> heard = []
>>> announcer = Announcer()
>>> unsubscribe = announcer.checkpoints.add(lambda name, position: heard.append(position))
>>> announcer.committed(3)
>>> announcer.deliver("counts", announcer.take(), None)
>>> unsubscribe()
>>> announcer.committed(4)
>>> announcer.deliver("counts", announcer.take(), None)
>>> heard
[3]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

__all__ = [
    "Announcement",
    "Announcer",
    "ChangeListener",
    "CheckpointListener",
    "FailureListener",
    "Listeners",
]

F = TypeVar("F", bound=Callable[..., object])

CheckpointListener = Callable[[str, int], None]
"""Called with (projection name, new checkpoint) after every commit."""

ChangeListener = Callable[[str, int, dict[str, tuple[Any, Any]]], None]
"""Called with (projection name, new checkpoint, {key: (row before, row after)}) after a commit."""

FailureListener = Callable[[str, BaseException], None]
"""Called with (projection name, the failure) when the projector stops on a failure."""

Announcement = tuple[int, dict[str, tuple[Any, Any]]]
"""A commit to announce: (new checkpoint, {key: (row before, row after)}, empty if unknown)."""


class Listeners(Generic[F]):
    """Callbacks in the order added. Adding or removing one builds a new tuple, so a loop over
    them (perhaps in another thread) goes on over the ones it started with."""

    def __init__(self) -> None:
        self._items: tuple[F, ...] = ()

    def add(self, listener: F) -> Callable[[], None]:
        """Add ``listener``; returns a function that removes it."""
        self._items = (*self._items, listener)

        def remove() -> None:
            self._items = tuple(item for item in self._items if item is not listener)

        return remove

    def __iter__(self) -> Iterator[F]:
        return iter(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)


class Announcer:
    """A projector's listeners, and the commits made under its lock that they have yet to hear of.

    :meth:`committed` and :meth:`take` are called with the lock held; :meth:`deliver` after.
    """

    def __init__(self) -> None:
        self.checkpoints = Listeners[CheckpointListener]()
        self.changes = Listeners[ChangeListener]()
        self.failures = Listeners[FailureListener]()
        self._pending: list[Announcement] = []

    def committed(self, position: int, rows: dict[str, tuple[Any, Any]] | None = None) -> None:
        """Note a commit up to ``position`` (and the rows it changed, if anyone listens)."""
        self._pending.append((position, rows or {}))

    def take(self) -> list[Announcement]:
        """The commits noted so far, forgotten here."""
        pending, self._pending = self._pending, []
        return pending

    def deliver(
        self, name: str, commits: list[Announcement], failure: BaseException | None
    ) -> None:
        """Tell the listeners of ``commits``, then of ``failure`` if there is one."""
        for position, rows in commits:
            for listener in self.checkpoints:
                listener(name, position)
            if rows:
                for change_listener in self.changes:
                    change_listener(name, position, rows)
        if failure is not None:
            for failure_listener in self.failures:
                failure_listener(name, failure)
