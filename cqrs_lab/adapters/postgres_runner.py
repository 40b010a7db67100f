"""Projectors running live in a process of their own, woken by PostgreSQL rather than polling.

:class:`ProjectorRunner` drives ordinary :class:`~cqrs_lab.projector.Projector` objects: it
sleeps on a condition until a :class:`~cqrs_lab.adapters.postgres_listener.PostgresListener`
hears an append (from any process), then runs each projector batch by batch up to the head.

- :meth:`ProjectorRunner.stop` (what SIGTERM does in ``python -m cqrs_lab project``) lets the
  batch in progress commit and then returns: nothing is cut short.
- A SIGKILL cuts a batch short, but a batch is one transaction with its checkpoint (see
  :class:`~cqrs_lab.adapters.postgres_read_model.PostgresReadModel`): the next run resumes
  from the checkpoint, and nothing is lost or applied twice.
- A projection that fails on an event stops its projector there; the runner records the
  failure in the ``projector_failures`` table (:mod:`~cqrs_lab.adapters.postgres_failures`), so
  that waiters in other processes stop waiting at once, and clears it when it starts again.
- A lost connection is not fatal: the batch in flight is rolled back by the server, the
  runner waits a growing delay, and tries again from the checkpoint; the listener reconnects
  on its own and wakes the runner, since appends made meanwhile were not announced.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from cqrs_lab.adapters.postgres_failures import (
    clear_failure,
    create_failures_table,
    record_failure,
)
from cqrs_lab.adapters.postgres_listener import PostgresListener
from cqrs_lab.errors import InvalidArgumentError, ProjectionFailedError, StoreUnavailableError
from cqrs_lab.projector import Projector

__all__ = ["ProjectorRunner"]


class ProjectorRunner:
    """Runs ``projectors`` until stopped, woken by ``listener``'s append notifications.

    Args:
        projectors: the projectors to keep up to date (their stores are read, their read
            models committed, batch by batch).
        listener: hears appends from every process; the runner starts and stops it.
        retry_delay: seconds to wait after a lost connection before trying again, doubled up
            to ``max_delay`` while the database stays away.
        on_failure: called with the error when a projection fails on an event and its policy
            stops the projector there (it then waits for a fix; the others go on), after the
            failure is recorded for other processes to see.
    """

    def __init__(
        self,
        projectors: Sequence[Projector[Any]],
        listener: PostgresListener,
        *,
        retry_delay: float = 0.2,
        max_delay: float = 5.0,
        on_failure: Callable[[BaseException], None] | None = None,
    ) -> None:
        if not projectors:
            raise InvalidArgumentError("a ProjectorRunner needs at least one projector, found none")
        if retry_delay <= 0 or max_delay < retry_delay:
            raise InvalidArgumentError(
                f"expected 0 < retry_delay <= max_delay, found {retry_delay} and {max_delay}"
            )
        self.projectors = list(projectors)
        self.listener = listener
        self.retry_delay = retry_delay
        self.max_delay = max_delay
        self.on_failure = on_failure
        self.batches = 0
        """Batches committed since the runner was built."""
        self.failures: list[BaseException] = []
        """Errors that stopped a projector (its projection failed) or interrupted a batch."""
        self._wake = threading.Condition()
        self._pending = True  # catch up once at start, whatever was announced before
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        create_failures_table(listener.db)
        listener.on_append(self._on_append)
        listener.on_connect(self._on_connect)

    def _on_append(self, position: int) -> None:
        self.wake()

    def _on_connect(self) -> None:
        self.wake()

    def wake(self) -> None:
        """Make the runner look for work (the listener calls this on every notification)."""
        with self._wake:
            self._pending = True
            self._wake.notify_all()

    @property
    def running(self) -> bool:
        """Whether the background thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start listening, then run in a background thread until :meth:`stop`.

        A failure an earlier run recorded is cleared first, for each projector not stopped now
        (a new process, or one that was resumed): it tries that event again.
        """
        if self.running:
            return
        for projector in self.projectors:
            if projector.failure is None:
                clear_failure(self.listener.db, projector.name)
        self._stopping.clear()
        self._pending = True
        self.listener.start()
        self._thread = threading.Thread(target=self.run, name="projector-runner", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop after the batch in progress has committed; waits up to ``timeout`` seconds."""
        self._stopping.set()
        with self._wake:
            self._wake.notify_all()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
        self.listener.stop()

    def run(self) -> None:
        """Wait for work and do it, until :meth:`stop` (runs in the caller's thread)."""
        delay = self.retry_delay
        while not self._stopping.is_set():
            with self._wake:
                self._wake.wait_for(lambda: self._pending or self._stopping.is_set())
                self._pending = False
            try:
                for projector in self.projectors:
                    self._catch_up(projector)
                delay = self.retry_delay
            except StoreUnavailableError as error:
                # the server rolled back the batch in flight; resume from the checkpoint later
                self.failures.append(error)
                with self._wake:
                    self._pending = True
                self._stopping.wait(delay)
                delay = min(delay * 2, self.max_delay)

    def _catch_up(self, projector: Projector[Any]) -> None:
        if projector.failure is not None:
            return  # stopped on a failing event: it waits for a fix and resume()
        while not self._stopping.is_set():
            try:
                moved = projector.run_batch()
            except ProjectionFailedError as error:
                self.failures.append(error)
                self._record(projector, error)
                if self.on_failure is not None:
                    self.on_failure(error)
                return
            if moved == 0:
                return
            self.batches += 1

    def _record(self, projector: Projector[Any], error: ProjectionFailedError) -> None:
        try:
            record_failure(self.listener.db, projector.name, projector.checkpoint, error)
        except StoreUnavailableError as lost:
            # the stop stands; other processes' waiters are not told and will time out
            self.failures.append(lost)

    def __enter__(self) -> ProjectorRunner:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        names = [projector.name for projector in self.projectors]
        return f"ProjectorRunner({names}, running={self.running}, batches={self.batches})"
