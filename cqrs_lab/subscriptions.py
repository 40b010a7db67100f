"""Who hears of appends: the subscribers of one event store, told the new head after a commit.

Every store keeps its subscribers in a :class:`Subscribers` and calls
:func:`notify_subscribers` once an append has committed, outside its lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from cqrs_lab.errors import SubscriberError

__all__ = ["Subscriber", "Subscribers", "notify_subscribers"]

Subscriber = Callable[[int], None]
"""Called with the new head position after each append, outside the store's lock."""


class Subscribers:
    """The subscribers of one store, copy-on-write: an append in flight keeps notifying the
    snapshot it started with (shared by every store)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.current: tuple[Subscriber, ...] = ()

    def add(self, subscriber: Subscriber) -> Callable[[], None]:
        """Add ``subscriber``; returns a function that removes it again."""
        with self._lock:
            self.current = (*self.current, subscriber)

        def unsubscribe() -> None:
            with self._lock:
                self.current = tuple(s for s in self.current if s is not subscriber)

        return unsubscribe


def notify_subscribers(subscribers: Iterable[Subscriber], head: int) -> None:
    """Tell every subscriber the new head after a commit (shared by every store).

    One failing subscriber does not stop the others; afterwards :class:`SubscriberError` reports
    the failures -- the append itself is committed.
    """
    failures: list[BaseException] = []
    for subscriber in subscribers:
        try:
            subscriber(head)
        except Exception as error:  # the append is committed: tell the others, then report
            failures.append(error)
    if failures:
        raise SubscriberError(
            f"{len(failures)} subscriber(s) failed after the append up to position {head} was "
            f"committed; first error: {failures[0]!r}"
        ) from failures[0]
