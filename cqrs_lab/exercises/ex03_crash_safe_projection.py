"""Exercise 3 (medium): a projection that double-counts after a crash, and the fix.

:func:`legacy_sync` is the playbook's Template 4 loop in the kit's terms: it writes a projection's
rows, then saves the checkpoint in a separate step. A process that dies between the two applies
the same event again when it restarts. The student writes ``sync``, which must survive a crash at
any write.

>>> report = crash_and_restart(legacy_sync, crash_at=2)
>>> report.crashed_during
'save_checkpoint(1)'
>>> report.view, report.expected
({'cust-ada': 3, 'cust-bob': 2, 'cust-cyd': 1}, {'cust-ada': 2, 'cust-bob': 2, 'cust-cyd': 1})
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cqrs_lab.event_store import EventStore
from cqrs_lab.examples.orders import ShipOrder
from cqrs_lab.exercises._orders import SHOP, replay
from cqrs_lab.exercises.ex02_new_projection import OrdersPerCustomer
from cqrs_lab.exercises.framework import Exercise, Mistake, expect
from cqrs_lab.messages import Event, Receipt, RecordedEvent
from cqrs_lab.pitfalls import RowsThenCheckpoint
from cqrs_lab.projection import Changes, InMemoryReadModel, Projection, RowReader

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CrashReport",
    "CrashingReadModel",
    "OrdersPerCustomer",
    "SimulatedCrash",
    "Sync",
    "check",
    "crash_and_restart",
    "exercise",
    "hint",
    "legacy_sync",
    "shop",
    "solution",
]

Sync = Callable[[EventStore, RowsThenCheckpoint[int], Projection[int], int], int]
"""What the student writes: ``sync(store, model, projection, limit) -> events read``.

The model also offers the pitfall's two-step writes (:class:`~cqrs_lab.pitfalls.RowsThenCheckpoint`)
that :func:`legacy_sync` uses; a crash-safe sync needs only ``commit``.
"""


class SimulatedCrash(BaseException):
    """Raised inside a read model to simulate the process dying at that write.

    Not an :class:`Exception`, so an ``except Exception`` in the code under test cannot swallow
    it -- a real crash cannot be caught either.
    """


class CrashingReadModel(RowsThenCheckpoint[Any]):
    """A read model whose process "dies" at its ``crash_at``-th write (once).

    Writes are :meth:`commit`, :meth:`write_without_checkpoint`, :meth:`save_checkpoint` and
    :meth:`apply_out_of_order`. What was written before the crash stays, as in a database.
    """

    def __init__(self, name: str, crash_at: int | None = None) -> None:
        super().__init__(name)
        self.crash_at = crash_at
        self.writes = 0
        self.crashed_during = ""

    def _write_attempt(self, what: str) -> None:
        self.writes += 1
        if self.writes == self.crash_at:
            self.crash_at = None
            self.crashed_during = what
            raise SimulatedCrash(f"the process died during write {self.writes}: {what}")

    def commit(self, position: int, changes: Changes) -> bool:
        """Commit rows and checkpoint together -- unless the process dies first."""
        self._write_attempt(f"commit({position})")
        return super().commit(position, changes)

    def write_without_checkpoint(self, changes: Changes) -> None:
        """Write rows only -- unless the process dies first."""
        self._write_attempt(f"write_without_checkpoint({sorted(changes)})")
        super().write_without_checkpoint(changes)

    def save_checkpoint(self, position: int) -> None:
        """Save the checkpoint only -- unless the process dies first."""
        self._write_attempt(f"save_checkpoint({position})")
        super().save_checkpoint(position)

    def apply_out_of_order(self, changes: Changes) -> None:
        """Write rows without the checkpoint -- unless the process dies first."""
        self._write_attempt(f"apply_out_of_order({sorted(changes)})")
        super().apply_out_of_order(changes)


def legacy_sync(
    store: EventStore, model: RowsThenCheckpoint[int], projection: Projection[int], limit: int = 100
) -> int:
    """Template 4's loop: rows first, checkpoint after, in two steps. A crash between them
    makes the restart apply the event again."""
    records = store.read_all(model.checkpoint, limit)
    for record in records:
        if record.event_type in projection.handles:
            model.write_without_checkpoint(projection.project(record, model))
        model.save_checkpoint(record.position)
    return len(records)


_SCRIPT = (*SHOP, ShipOrder(order_id="order-0004"), ShipOrder(order_id="order-0005"))


def shop() -> EventStore:
    """The shop's day (12 events, the last two OrderShipped) in a fresh store."""
    return replay(_SCRIPT).store


@dataclass(frozen=True, slots=True)
class CrashReport:
    """What a sync left behind after one crash and a restart, beside the right answer."""

    crashed_during: str
    view: dict[str, Any]
    expected: dict[str, Any]
    checkpoint: int
    head: int

    def to_frame(self) -> pd.DataFrame:
        """Rows after the restart beside the expected ones, one customer per row."""
        import pandas as pd

        keys = sorted(set(self.view) | set(self.expected))
        return pd.DataFrame(
            {
                "after crash and restart": [self.view.get(k) for k in keys],
                "expected": [self.expected.get(k) for k in keys],
            },
            index=pd.Index(keys, name="customer"),
        )


class _CountedReads:
    """The store as a sync sees it, counting the events its reads return."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.count = 0

    @property
    def head(self) -> int:
        """The store's head position."""
        return self.store.head

    def read_all(self, after_position: int = 0, limit: int | None = None) -> list[RecordedEvent]:
        """The store's ``read_all``, counted."""
        records = self.store.read_all(after_position, limit)
        self.count += len(records)
        return records

    def read_stream(self, stream_id: str, from_version: int = 1) -> list[RecordedEvent]:
        """The store's ``read_stream``, counted."""
        records = self.store.read_stream(stream_id, from_version)
        self.count += len(records)
        return records

    def stream_version(self, stream_id: str) -> int:
        """The store's ``stream_version``."""
        return self.store.stream_version(stream_id)

    def append(self, stream_id: str, events: Sequence[Event], *args: Any, **kwargs: Any) -> Receipt:
        """Refused: a sync only reads the log."""
        raise Mistake(f"sync appended to {stream_id!r}: a projection reads the log, never writes")

    def subscribe(self, subscriber: Callable[[int], None]) -> Callable[[], None]:
        """The store's ``subscribe``."""
        return self.store.subscribe(subscriber)


def _reference_view(store: EventStore, until: int) -> dict[str, Any]:
    model: InMemoryReadModel[int] = InMemoryReadModel("reference")
    projection = OrdersPerCustomer()
    for record in store.read_all(0, until) if until else []:
        handled = record.event_type in projection.handles
        model.commit(record.position, projection.project(record, model) if handled else {})
    return dict(model.items())


def crash_and_restart(sync: Sync, *, crash_at: int, limit: int = 4) -> CrashReport:
    """Run ``sync`` over the shop's day; the process dies at write ``crash_at``, then restarts."""
    store = shop()
    model = CrashingReadModel("orders_per_customer", crash_at)
    projection = OrdersPerCustomer()
    for _ in range(2 * store.head + 2):
        if model.checkpoint >= store.head:
            break
        try:
            sync(store, model, projection, limit)
        except SimulatedCrash:
            continue  # the restart: what was written stays
    return CrashReport(
        model.crashed_during,
        dict(model.items()),
        _reference_view(store, store.head),
        model.checkpoint,
        store.head,
    )


# -- the check ---------------------------------------------------------------------------------


class _Watched(Projection[Any]):
    """The projection under test, noting every event it is asked about that it does not handle."""

    def __init__(self, inner: Projection[Any]) -> None:
        self.inner = inner
        self.name = inner.name
        self.handles = inner.handles
        self.unhandled: list[RecordedEvent] = []

    def project(self, record: RecordedEvent, view: RowReader[Any]) -> Changes:
        if record.event_type not in self.handles:
            self.unhandled.append(record)
        return self.inner.project(record, view)


class CrashSafeSyncExercise(Exercise):
    """Exercise 3: a sync loop whose rows and checkpoint survive a crash at any write."""

    number = 3
    title = "A projection that double-counts after a crash, to fix"
    difficulty = "medium"
    minutes = 25
    notebook = "ex03_crash_safe_projection"
    answer_names = ("sync",)
    solution_module = "ex03_crash_safe_projection"
    hints = (
        "Run crash_and_restart(legacy_sync, crash_at=2) and read crashed_during: the rows were "
        "written, the checkpoint was not. What if both were written in one step?",
        "InMemoryReadModel.commit(position, changes) writes the rows and moves the checkpoint "
        "together, atomically: either both happen or neither does.",
        "For each record read after model.checkpoint: changes = projection.project(record, "
        "model) if record.event_type in projection.handles else {}; then "
        "model.commit(record.position, changes) -- every event moves the checkpoint.",
    )

    def grade(self, *answers: Any) -> str:
        """Run the sync crash-free, then crash it at every write it makes, and restart it."""
        (sync,) = answers
        expect(
            callable(sync),
            f"sync must be a function (store, model, projection, limit) -> int, "
            f"found {type(sync).__name__}",
        )
        store = shop()
        expected = _reference_view(store, store.head)
        batched, writes = self._run(sync, store, None, limit=4)
        again, _ = self._run(sync, store, None, limit=4)
        expect(
            again == batched,
            f"the same log gave {batched} on a first run and {again} on a second, each into "
            "a new read model: sync keeps state of its own outside the read model (a global or "
            "a default argument), which a restarted process would not have. Keep everything "
            "that must survive in the model: its rows and its checkpoint",
        )
        if batched != expected:
            one_by_one, _ = self._run(sync, store, None, limit=1)
            expect(
                one_by_one != expected,
                f"with limit=4 the view is {batched}, expected {expected} (with limit=1 it is "
                "right): an event did not see the change of an earlier event in the same "
                "batch. Commit each event before projecting the next, or let project() read "
                "the changes staged so far",
            )
            raise Mistake(f"without any crash the view is {batched}, expected {expected}")
        for crash_at in range(1, writes + 1):
            self._run(sync, store, crash_at, limit=4)
        return (
            f"sync reaches the head ({store.head} events) with the right view, and survives a "
            f"crash at each of its {writes} writes without counting an event twice or losing one."
        )

    def _run(
        self, sync: Sync, store: EventStore, crash_at: int | None, *, limit: int
    ) -> tuple[dict[str, Any], int]:
        model = CrashingReadModel("orders_per_customer", crash_at)
        projection = _Watched(OrdersPerCustomer())
        where = f"limit={limit}" + ("" if crash_at is None else f", crash at write {crash_at}")
        for _ in range(2 * store.head + 2):
            if model.checkpoint >= store.head:
                break
            before = model.checkpoint
            reads = _CountedReads(store)
            try:
                with self.case(f"syncing the shop's day ({where})"):
                    returned = sync(reads, model, projection, limit)
            except SimulatedCrash:
                self._after_crash(store, model)
                continue
            except Mistake:
                self._unhandled(projection)
                raise
            self._unhandled(projection)
            if model.checkpoint <= before:
                nxt = store.read_all(model.checkpoint, 1)[0]
                raise Mistake(
                    f"sync made no progress: the checkpoint stays at {model.checkpoint} (head "
                    f"{store.head}); the next event, at {nxt.position}, is {nxt.event_type}, "
                    "which the projection does not handle. Move the checkpoint past every event "
                    "you read, handled or not (commit it with no changes)"
                )
            self._counted(returned, reads.count, limit, where)
        else:
            raise Mistake(f"sync did not reach the head ({store.head}) in {2 * store.head} calls")
        view = dict(model.items())
        expected = _reference_view(store, store.head)
        expect(
            model.checkpoint == store.head,
            f"sync left the checkpoint at {model.checkpoint}, past the head {store.head}",
        )
        if crash_at is not None and model.crashed_during:
            expect(
                view == expected,
                f"after a crash during {model.crashed_during} and a restart the view is {view}, "
                f"expected {expected}",
            )
        return view, model.writes

    @staticmethod
    def _counted(returned: object, read: int, limit: int, where: str) -> None:
        """One call reads at most ``limit`` events and says how many it read."""
        expect(
            read <= limit,
            f"one call of sync ({where}) read {read} events from the store: read at "
            f"most limit events per call (store.read_all(model.checkpoint, limit)), so a "
            "caller can bound the work of each call",
        )
        expect(
            returned == read,
            f"one call of sync ({where}) read {read} events but returned {returned!r}: "
            "return how many events it read, handled or not. A driver loop "
            "`while sync(...): ...` stops when sync returns 0, so a count of only the handled "
            "events stops it early, at the first batch the projection does not care about",
        )

    @staticmethod
    def _after_crash(store: EventStore, model: CrashingReadModel) -> None:
        """When the process dies, the rows must reflect exactly the events up to the checkpoint."""
        view = dict(model.items())
        matches = _reference_view(store, model.checkpoint)
        if view == matches:
            return
        ahead = _reference_view(store, model.checkpoint + 1)
        if view == ahead or sum(view.values()) > sum(matches.values()):
            raise Mistake(
                f"the process died during {model.crashed_during}: the rows already counted the "
                f"event at position {model.checkpoint + 1} ({view}), but the checkpoint still "
                f"said {model.checkpoint}, so a restart counts it again -- double counting. "
                "Write rows and checkpoint in one step: model.commit(record.position, changes)"
            )
        raise Mistake(
            f"the process died during {model.crashed_during}: the checkpoint says "
            f"{model.checkpoint}, but the rows ({view}) miss an event before it ({matches} "
            "expected), so a restart never applies it -- a lost event. Never save the checkpoint "
            "before the rows: model.commit(record.position, changes) writes both together"
        )

    @staticmethod
    def _unhandled(projection: _Watched) -> None:
        if projection.unhandled:
            first = projection.unhandled[0]
            raise Mistake(
                f"sync called project() for {first.event_type} (position {first.position}), an "
                f"event type the projection does not handle ({sorted(projection.handles)}): "
                "check record.event_type in projection.handles, and commit the other events with "
                "no changes"
            )


exercise = CrashSafeSyncExercise()
check = exercise.check
hint = exercise.hint
solution = exercise.solution
