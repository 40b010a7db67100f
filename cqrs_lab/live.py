"""A projector's background thread: asleep until the store says something was appended.

No polling: the thread waits on a condition that the store's append notification (and
``resume()``/``stop()``) signals, and its predicate reads the store itself, so a wake-up sent
before the wait is not lost. The thread never dies without saying so: an error outside the
projection stops it like a failure policy's stop, logged and reported to the projector.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from cqrs_lab.errors import ProjectionFailedError, ProjectorCrashedError
from cqrs_lab.event_store import EventStore

__all__ = ["LiveThread", "Runnable"]

logger = logging.getLogger(__name__)


class Runnable(Protocol):
    """What the thread needs of a projector (a :class:`~cqrs_lab.projector.Projector` is one)."""

    store: EventStore

    @property
    def name(self) -> str:
        """The projection's name."""
        ...

    @property
    def checkpoint(self) -> int:
        """The position of the last event applied."""
        ...

    @property
    def failure(self) -> BaseException | None:
        """What the projector is stopped on, if anything (until ``resume()``)."""
        ...

    def run_batch(self, limit: int | None = None) -> int:
        """Process one batch."""
        ...

    def stop_on(self, failure: ProjectorCrashedError) -> None:
        """Stop on ``failure`` as on a projection's failure, and tell who listens."""
        ...


class LiveThread:
    """Runs batches of one projector in a daemon thread while there is work."""

    def __init__(self, projector: Runnable) -> None:
        self.projector = projector
        self._stopping = threading.Event()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._unsubscribe: Callable[[], None] | None = None

    @property
    def running(self) -> bool:
        """Whether the thread is running."""
        return self._thread is not None and self._thread.is_alive()

    def pause(self, seconds: float) -> None:
        """Wait ``seconds``, or less if :meth:`stop` is called meanwhile (a retry's backoff)."""
        self._stopping.wait(seconds)

    def start(self) -> None:
        """Start the thread (once), subscribed to the store's appends."""
        if self.running:
            return
        self._stopping.clear()
        self._unsubscribe = self.projector.store.subscribe(self._on_append)
        self._thread = threading.Thread(
            target=self._run, name=f"projector-{self.projector.name}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float | None = 5.0) -> None:
        """Stop after the current batch; waits up to ``timeout`` seconds for the thread."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._stopping.set()
        self.wake()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wake(self) -> None:
        """Have the thread look for work again (after an append, a resume or a stop)."""
        with self._wake:
            self._wake.notify_all()

    def _on_append(self, head: int) -> None:
        self.wake()

    def _has_work(self) -> bool:
        projector = self.projector
        return self._stopping.is_set() or (
            projector.failure is None and projector.store.head > projector.checkpoint
        )

    def _run(self) -> None:
        projector = self.projector
        while not self._stopping.is_set():
            with self._wake:
                self._wake.wait_for(self._has_work)
            if self._stopping.is_set():
                return
            try:
                projector.run_batch()
            except ProjectionFailedError:
                continue  # the projector keeps it; the thread waits for resume() or stop()
            except Exception as error:
                # not the projection's fault (a commit, a listener): stop there, and say so
                crash = ProjectorCrashedError(projector.name, projector.checkpoint, error)
                crash.__cause__ = error
                logger.error("%s", crash, exc_info=error)
                projector.stop_on(crash)
