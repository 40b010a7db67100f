"""LISTEN/NOTIFY across processes: appends wake projectors, checkpoints wake waiters.

An append notifies the events channel with its last position, a read model's commit notifies
the checkpoints channel with ``name:position``; PostgreSQL delivers both at COMMIT to every
connection that listens. :class:`PostgresListener` holds one such connection in a background
thread and calls back. If the connection drops, it reconnects with a growing delay and calls the
``on_connect`` callbacks, as it did when it first connected: notifications sent while nobody
listened are lost, so whoever relies on them re-reads the state then (a projector catches up
from its checkpoint, a waiter re-reads checkpoints).

:class:`RemoteCheckpoint` is a projection seen from another process: its name, its checkpoint,
checkpoint notifications, and the failure its projector recorded if it stopped -- what a
:class:`~cqrs_lab.consistency.ConsistencyWaiter` needs to wait for a receipt's position in an
API process while the projector runs elsewhere, and to stop waiting at once when it cannot come.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Final

import psycopg
from psycopg import sql

from cqrs_lab.adapters.postgres_database import (
    CHECKPOINTS_CHANNEL,
    EVENTS_CHANNEL,
    FAILURES_CHANNEL,
    PostgresDatabase,
)
from cqrs_lab.adapters.postgres_failures import (
    RemoteProjectorError,
    create_failures_table,
    read_failure,
)
from cqrs_lab.adapters.postgres_read_model import read_checkpoint
from cqrs_lab.errors import InvalidArgumentError, StoreUnavailableError

__all__ = ["PostgresListener", "RemoteCheckpoint"]

_HEARTBEAT: Final = 30.0
"""Seconds without a notification after which the connection is checked (a dead peer)."""


class PostgresListener:
    """One LISTEN connection in a background thread, reconnecting when it drops.

    Args:
        database: the database (and schema) whose channels to listen to.
        retry_delay: seconds before the first reconnection attempt, doubled up to ``max_delay``.
    """

    def __init__(
        self, database: PostgresDatabase, *, retry_delay: float = 0.2, max_delay: float = 5.0
    ) -> None:
        if retry_delay <= 0 or max_delay < retry_delay:
            raise InvalidArgumentError(
                f"expected 0 < retry_delay <= max_delay, found {retry_delay} and {max_delay}"
            )
        self.db = database
        self.retry_delay = retry_delay
        self.max_delay = max_delay
        self.events_channel = database.channel(EVENTS_CHANNEL)
        self.checkpoints_channel = database.channel(CHECKPOINTS_CHANNEL)
        self.failures_channel = database.channel(FAILURES_CHANNEL)
        # a channel of this listener's own, which stop() notifies to end the wait at once
        self._control_channel = f"cqrs_lab_listener_{uuid.uuid4().hex}"
        self._on_append: list[Callable[[int], None]] = []
        self._on_checkpoint: list[Callable[[str, int], None]] = []
        self._on_failure_change: list[Callable[[str], None]] = []
        self._on_connect: list[Callable[[], None]] = []
        self._stopping = threading.Event()
        self._listening = threading.Event()
        self._thread: threading.Thread | None = None
        self.reconnections = 0
        """How many times the connection was opened again after a loss."""

    def on_append(self, callback: Callable[[int], None]) -> None:
        """Call ``callback(position)`` when any process commits an append."""
        self._on_append = [*self._on_append, callback]

    def on_checkpoint(self, callback: Callable[[str, int], None]) -> None:
        """Call ``callback(name, position)`` when any process commits a read model's batch."""
        self._on_checkpoint = [*self._on_checkpoint, callback]

    def on_failure_change(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(name)`` when any process records or clears projector ``name``'s
        failure (see :mod:`~cqrs_lab.adapters.postgres_failures`)."""
        self._on_failure_change = [*self._on_failure_change, callback]

    def on_connect(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` each time LISTEN is in place: at start, and after a lost
        connection is opened again (what was committed meanwhile went unannounced)."""
        self._on_connect = [*self._on_connect, callback]

    @property
    def running(self) -> bool:
        """Whether the background thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 10.0) -> None:
        """Start listening; returns once LISTEN is in place (so no later commit is missed).

        Raises :class:`~cqrs_lab.errors.StoreUnavailableError` if that takes over ``timeout``.
        """
        if self.running:
            return
        self._stopping.clear()
        self._listening.clear()
        self._thread = threading.Thread(target=self._run, name="postgres-listener", daemon=True)
        self._thread.start()
        if not self._listening.wait(timeout):
            self.stop()
            raise StoreUnavailableError(
                f"could not LISTEN on {self.db.safe_url} within {timeout:g} s"
            )

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the background thread (waits up to ``timeout`` seconds)."""
        self._stopping.set()
        thread, self._thread = self._thread, None
        if thread is None:
            return
        try:  # wake the thread out of its wait, at once
            with self.db.transaction("waking the listener") as connection:
                connection.execute("SELECT pg_notify(%s, '')", (self._control_channel,))
        except StoreUnavailableError:
            pass  # the server is gone: the thread is between attempts, and sees _stopping
        thread.join(timeout)

    def _run(self) -> None:
        delay = self.retry_delay
        first = True
        while not self._stopping.is_set():
            try:
                with self.db.connect() as connection:
                    for channel in (
                        self.events_channel,
                        self.checkpoints_channel,
                        self.failures_channel,
                        self._control_channel,
                    ):
                        connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                    if not first:
                        self.reconnections += 1
                    for callback in self._on_connect:
                        callback()
                    self._listening.set()
                    first, delay = False, self.retry_delay
                    self._listen(connection)
            except (psycopg.OperationalError, StoreUnavailableError):
                # lost or refused: try again after a while, unless told to stop meanwhile
                self._stopping.wait(delay)
                delay = min(delay * 2, self.max_delay)

    def _listen(self, connection: psycopg.Connection) -> None:
        while not self._stopping.is_set():
            heard = False
            for note in connection.notifies(timeout=_HEARTBEAT):
                heard = True
                if self._stopping.is_set():
                    return
                self._dispatch(note.channel, note.payload)
            if not heard:
                connection.execute("SELECT 1")  # quiet for long: is the server still there?

    def _dispatch(self, channel: str, payload: str) -> None:
        if channel == self.events_channel and payload.isdigit():
            position = int(payload)
            for on_append in self._on_append:
                on_append(position)
        elif channel == self.checkpoints_channel:
            name, _, position_text = payload.rpartition(":")
            if name and position_text.isdigit():
                for on_checkpoint in self._on_checkpoint:
                    on_checkpoint(name, int(position_text))
        elif channel == self.failures_channel and payload:
            for on_failure_change in self._on_failure_change:
                on_failure_change(payload)

    def __repr__(self) -> str:
        return f"PostgresListener({self.db.safe_url!r}, running={self.running})"


class RemoteCheckpoint:
    """A projection whose projector runs in another process, as a waiter sees it.

    Its :attr:`checkpoint` follows the checkpoint notifications (never moving back, except
    when a ``clear()`` resets it to 0), and is read from the table each time the listener
    connects. Its :attr:`failure` is what the projector recorded when it stopped (see
    :mod:`~cqrs_lab.adapters.postgres_failures`), read on each failures notification. It is a
    :class:`~cqrs_lab.consistency.Waitable`; build it before starting the listener.
    """

    def __init__(self, database: PostgresDatabase, name: str, listener: PostgresListener) -> None:
        self.db = database
        self.name = name
        self._lock = threading.Lock()
        self._listeners: list[Callable[[str, int], None]] = []
        self._failure_listeners: list[Callable[[str, BaseException], None]] = []
        self._checkpoint = 0
        self._failure: RemoteProjectorError | None = None
        create_failures_table(database)
        listener.on_checkpoint(self._heard)
        listener.on_failure_change(self._failure_changed)
        listener.on_connect(self.refresh)
        if listener.running:
            self.refresh()

    @property
    def checkpoint(self) -> int:
        """The position of the last event the read model has applied, as last heard."""
        return self._checkpoint

    def refresh(self) -> None:
        """Read the checkpoint and the failure (each time the listener connects)."""
        self._heard(self.name, read_checkpoint(self.db, self.name))
        self._failure_changed(self.name)

    def _heard(self, name: str, position: int) -> None:
        if name != self.name:
            return
        with self._lock:
            # notifications of one read model arrive in commit order; 0 is a clear()
            self._checkpoint = position if position == 0 else max(self._checkpoint, position)
            current = self._checkpoint
        for listener in self._listeners:
            listener(self.name, current)

    def on_checkpoint(self, listener: Callable[[str, int], None]) -> Callable[[], None]:
        """Call ``listener(name, checkpoint)`` after each commit heard; returns an unsubscriber."""
        self._listeners = [*self._listeners, listener]

        def unsubscribe() -> None:
            self._listeners = [item for item in self._listeners if item is not listener]

        return unsubscribe

    def _failure_changed(self, name: str) -> None:
        if name != self.name:
            return
        failure = read_failure(self.db, self.name)  # recorded, or cleared by a restart
        with self._lock:
            self._failure = failure
        if failure is not None:
            for listener in self._failure_listeners:
                listener(self.name, failure)

    @property
    def failure(self) -> RemoteProjectorError | None:
        """What the projector recorded when it stopped on a failure; None while it runs."""
        return self._failure

    def on_failure(self, listener: Callable[[str, BaseException], None]) -> Callable[[], None]:
        """Call ``listener(name, failure)`` when the projector records a failure; returns an
        unsubscriber."""
        self._failure_listeners = [*self._failure_listeners, listener]

        def unsubscribe() -> None:
            self._failure_listeners = [
                item for item in self._failure_listeners if item is not listener
            ]

        return unsubscribe

    def __repr__(self) -> str:
        return f"RemoteCheckpoint({self.name!r}, checkpoint={self.checkpoint})"
