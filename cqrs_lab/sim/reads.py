"""The simulated readers: every ``every``-th command's sender reads its own key back.

A reader reads at once (``timeout`` None), or first waits on the real
:class:`~cqrs_lab.consistency.ConsistencyWaiter` for its write, with a timer beside it: whichever
comes first answers (:class:`PendingRead`). Each read becomes one row of the simulation's
``reads`` DataFrame: when it was asked and answered, whether it waited or timed out, and whether
the value it saw had its own write.
"""

from __future__ import annotations

import functools

from cqrs_lab.consistency import ConsistencyWaiter
from cqrs_lab.event_store import InMemoryEventStore, Receipt
from cqrs_lab.projector import Projector
from cqrs_lab.query_bus import QueryBus
from cqrs_lab.sim.items import CountItems
from cqrs_lab.sim.priorities import Priority
from cqrs_lab.sim.scenario import Readers
from cqrs_lab.sim.scheduler import Scheduler

__all__ = ["PendingRead", "SimulatedReaders"]


class SimulatedReaders:
    """The senders who read their own write back, and the rows of what each read saw.

    Args:
        config: how often they read, after how long, and how long they wait.
        projector: the projector whose read model they ask.
    """

    def __init__(
        self,
        config: Readers,
        *,
        projector: Projector[int],
        scheduler: Scheduler,
        queries: QueryBus,
        waiter: ConsistencyWaiter,
        store: InMemoryEventStore,
    ) -> None:
        self.config = config
        self.projector = projector
        self.scheduler = scheduler
        self.queries = queries
        self.waiter = waiter
        self.store = store
        self.rows: list[tuple[object, ...]] = []
        self._countdown = config.every

    def after_command(self, receipt: Receipt) -> None:
        """Count one command sent; the sender of every ``every``-th one starts a read."""
        self._countdown -= 1
        if self._countdown == 0:
            self._countdown = self.config.every
            self.start(receipt)

    def start(self, receipt: Receipt) -> None:
        """Read ``think_time`` seconds from now (at once if it is 0)."""
        if self.config.think_time:
            read = functools.partial(self.read, receipt)
            self.scheduler.after(self.config.think_time, read, priority=Priority.READ)
        else:
            self.read(receipt)

    def read(self, receipt: Receipt) -> None:
        """Ask now, or wait for the write first when the readers have a timeout."""
        issued_at = self.scheduler.now
        if self.config.timeout is None:
            self.answer(receipt, issued_at, False, False)
            return
        PendingRead(self, receipt, issued_at, self.config.timeout)

    def answer(self, receipt: Receipt, issued_at: float, waited: bool, timed_out: bool) -> None:
        """Query the read model and record what the reader saw."""
        now = self.scheduler.now
        name = self.projector.name
        key = receipt.stream_id
        value = self.queries.dispatch(CountItems(projection=name, key=key))
        checkpoint = self.projector.checkpoint
        expected = self.store.stream_version(key)
        self.rows.append(
            (
                issued_at,
                now,
                name,
                key,
                receipt.position,
                waited,
                now - issued_at,
                timed_out,
                checkpoint >= receipt.position,
                value >= receipt.stream_version,
                value == expected,
                max(receipt.position - checkpoint, 0),
                value,
                expected,
            )
        )


class PendingRead:
    """A reader waiting on the waiter, with a timer: whichever comes first answers."""

    def __init__(
        self, readers: SimulatedReaders, receipt: Receipt, issued_at: float, timeout: float
    ) -> None:
        self.readers = readers
        self.receipt = receipt
        self.issued_at = issued_at
        self.done = False
        self.timer = readers.scheduler.after(timeout, self.expire, priority=Priority.READ)
        self.cancel_wait = readers.waiter.on_reached(
            receipt.position, self.reached, [readers.projector.name]
        )

    def reached(self) -> None:
        """The read model has the write: cancel the timer and read."""
        if self.done:
            return
        self.done = True
        self.readers.scheduler.cancel(self.timer)
        self.readers.answer(self.receipt, self.issued_at, True, False)

    def expire(self) -> None:
        """Waited long enough: stop waiting and read what is there."""
        if self.done:
            return
        self.done = True
        self.cancel_wait()
        self.readers.answer(self.receipt, self.issued_at, True, True)
