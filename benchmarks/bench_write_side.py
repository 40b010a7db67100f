"""Write-side throughput: commands through the bus into the in-memory store, then the log read back.

Run: ``python benchmarks/bench_write_side.py [--orders N] [--repeat R] [--no-baseline]``

Workload (the same for both implementations): create N orders with one line each, then add one
item to each order -- 2 N commands, each appending one event, all through the command bus.
Building each command is timed with its dispatch, as a client does it: the playbook stamps a
command (uuid4 and the time) when it is built, cqrs_lab when it is dispatched. Then cqrs_lab's whole
log is read back with ``read_all`` in pages of 1,000, as a projection catching up would.

For comparison the script also runs a "playbook-style" baseline: the playbook's Template 1 made
synchronous and patched only so that it runs (keyword-only base fields, so subclasses may add
required ones), with an Order aggregate and a dict-of-lists event store as small as Template 1
implies: no version checks, no global log, no metadata. Targets for cqrs_lab: >= 100,000
commands/s and >= 1,000,000 events/s read.
"""

from __future__ import annotations

import argparse
import gc
import platform
import statistics
import sys
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from cqrs_lab.event_store import InMemoryEventStore
from cqrs_lab.examples.orders import AddOrderItem, CreateOrder, OrderLine, build_order_system

READ_PAGE = 1_000
COMMAND_TARGET = 100_000
EVENT_TARGET = 1_000_000


def timed(work: Callable[[], object]) -> float:
    """Seconds ``work()`` takes on the performance counter."""
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def bench_cqrs_lab(orders: int) -> tuple[float, InMemoryEventStore]:
    """Seconds for the workload through cqrs_lab's command bus, and the store it filled."""
    system = build_order_system()
    dispatch = system.commands.dispatch
    line = (OrderLine(product_id="tea", quantity=1, price=3.5),)
    order_ids: list[str] = []

    def create() -> None:
        order_ids.extend(
            dispatch(CreateOrder(customer_id=f"cust-{i % 1000}", items=line)).stream_id
            for i in range(orders)
        )

    def add() -> None:
        for order_id in order_ids:
            dispatch(AddOrderItem(order_id=order_id, product_id="cake", quantity=2, price=4.25))

    seconds = timed(create) + timed(add)
    if system.store.head != 2 * orders:
        raise AssertionError(f"expected {2 * orders} events, found {system.store.head}")
    return seconds, system.store


def read_log(store: InMemoryEventStore) -> tuple[int, float]:
    """Read the whole log in pages as a projection would: events read, and seconds taken."""
    events_read = 0

    def read() -> None:
        nonlocal events_read
        position = 0
        while page := store.read_all(after_position=position, limit=READ_PAGE):
            events_read += len(page)
            position = page[-1].position

    seconds = timed(read)
    if events_read != store.head:
        raise AssertionError(f"read {events_read} events, the store holds {store.head}")
    return events_read, seconds


# --- the playbook-style baseline -------------------------------------------------------------
# Template 1, synchronous. Patches, each only so that it runs: kw_only=True on every dataclass
# (the base's defaulted fields before the subclasses' required ones raise TypeError otherwise);
# `str | None` annotations; datetime.now(UTC) for the deprecated datetime.utcnow(). Template 1
# names but does not show Order, its events, the repository or the event store: they are the
# smallest versions that fit its calls (Order.create, uncommitted_events, append_events).


@dataclass(kw_only=True)
class PlaybookCommand:
    command_id: str | None = None
    timestamp: datetime | None = None

    def __post_init__(self) -> None:
        self.command_id = self.command_id or str(uuid.uuid4())
        self.timestamp = self.timestamp or datetime.now(UTC)


@dataclass(kw_only=True)
class PlaybookCreateOrder(PlaybookCommand):
    customer_id: str
    items: list[dict[str, Any]]
    shipping_address: dict[str, Any]


@dataclass(kw_only=True)
class PlaybookAddOrderItem(PlaybookCommand):
    order_id: str
    product_id: str
    quantity: int
    price: float


@dataclass
class PlaybookOrderCreated:
    order_id: str
    customer_id: str
    items: list[dict[str, Any]]
    shipping_address: dict[str, Any]


@dataclass
class PlaybookOrderItemAdded:
    order_id: str
    product_id: str
    quantity: int
    price: float


@dataclass
class PlaybookOrder:
    id: str
    customer_id: str = ""
    items: list[dict[str, Any]] = field(default_factory=list)
    uncommitted_events: list[object] = field(default_factory=list)

    @classmethod
    def create(
        cls, customer_id: str, items: list[dict[str, Any]], shipping_address: dict[str, Any]
    ) -> PlaybookOrder:
        order = cls(str(uuid.uuid4()))
        order._raise(PlaybookOrderCreated(order.id, customer_id, items, shipping_address))
        return order

    def add_item(self, product_id: str, quantity: int, price: float) -> None:
        self._raise(PlaybookOrderItemAdded(self.id, product_id, quantity, price))

    def _raise(self, event: object) -> None:
        self.apply(event)
        self.uncommitted_events.append(event)

    def apply(self, event: object) -> None:
        if isinstance(event, PlaybookOrderCreated):
            self.customer_id = event.customer_id
            self.items = list(event.items)
        elif isinstance(event, PlaybookOrderItemAdded):
            self.items.append(
                {"product_id": event.product_id, "quantity": event.quantity, "price": event.price}
            )


class PlaybookEventStore:
    """A dict of lists: no version check, no global position, no metadata."""

    def __init__(self) -> None:
        self.streams: dict[str, list[object]] = {}

    def append_events(self, stream_id: str, stream_type: str, events: list[object]) -> None:
        self.streams.setdefault(stream_id, []).extend(events)

    def read_stream(self, stream_id: str) -> list[object]:
        return self.streams.get(stream_id, [])


class PlaybookOrderRepository:
    def __init__(self, event_store: PlaybookEventStore) -> None:
        self.event_store = event_store

    def get(self, order_id: str) -> PlaybookOrder:
        order = PlaybookOrder(order_id)
        for event in self.event_store.read_stream(f"Order-{order_id}"):
            order.apply(event)
        return order


C = TypeVar("C", bound=PlaybookCommand)


class PlaybookCommandHandler(ABC, Generic[C]):
    @abstractmethod
    def handle(self, command: C) -> Any:
        pass


class PlaybookCommandBus:
    def __init__(self) -> None:
        self._handlers: dict[type[PlaybookCommand], PlaybookCommandHandler[Any]] = {}

    def register(
        self, command_type: type[PlaybookCommand], handler: PlaybookCommandHandler[Any]
    ) -> None:
        self._handlers[command_type] = handler

    def dispatch(self, command: PlaybookCommand) -> Any:
        handler = self._handlers.get(type(command))
        if not handler:
            raise ValueError(f"No handler for {type(command).__name__}")
        return handler.handle(command)


class PlaybookCreateOrderHandler(PlaybookCommandHandler[PlaybookCreateOrder]):
    def __init__(
        self, order_repository: PlaybookOrderRepository, event_store: PlaybookEventStore
    ) -> None:
        self.order_repository = order_repository
        self.event_store = event_store

    def handle(self, command: PlaybookCreateOrder) -> str:
        if not command.items:
            raise ValueError("Order must have at least one item")
        order = PlaybookOrder.create(
            customer_id=command.customer_id,
            items=command.items,
            shipping_address=command.shipping_address,
        )
        self.event_store.append_events(
            stream_id=f"Order-{order.id}", stream_type="Order", events=order.uncommitted_events
        )
        return order.id


class PlaybookAddOrderItemHandler(PlaybookCommandHandler[PlaybookAddOrderItem]):
    def __init__(
        self, order_repository: PlaybookOrderRepository, event_store: PlaybookEventStore
    ) -> None:
        self.order_repository = order_repository
        self.event_store = event_store

    def handle(self, command: PlaybookAddOrderItem) -> str:
        order = self.order_repository.get(command.order_id)
        order.add_item(command.product_id, command.quantity, command.price)
        self.event_store.append_events(
            stream_id=f"Order-{order.id}", stream_type="Order", events=order.uncommitted_events
        )
        return order.id


def bench_playbook(orders: int) -> float:
    """Seconds for the same workload through the playbook-style baseline."""
    store = PlaybookEventStore()
    repository = PlaybookOrderRepository(store)
    bus = PlaybookCommandBus()
    bus.register(PlaybookCreateOrder, PlaybookCreateOrderHandler(repository, store))
    bus.register(PlaybookAddOrderItem, PlaybookAddOrderItemHandler(repository, store))
    dispatch = bus.dispatch
    line = [{"product_id": "tea", "quantity": 1, "price": 3.5}]
    order_ids: list[str] = []

    def create() -> None:
        order_ids.extend(
            dispatch(
                PlaybookCreateOrder(customer_id=f"cust-{i % 1000}", items=line, shipping_address={})
            )
            for i in range(orders)
        )

    def add() -> None:
        for order_id in order_ids:
            dispatch(
                PlaybookAddOrderItem(order_id=order_id, product_id="cake", quantity=2, price=4.25)
            )

    seconds = timed(create) + timed(add)
    stored = sum(len(events) for events in store.streams.values())
    if stored != 2 * orders:
        raise AssertionError(f"expected {2 * orders} events, found {stored}")
    return seconds


def summary(values: list[float]) -> str:
    """Best and median of per-run rates."""
    return f"best {max(values):>11,.0f}  median {statistics.median(values):>11,.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write-side throughput of cqrs_lab.")
    parser.add_argument("--orders", type=int, default=100_000, help="orders to create (N)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each workload (R)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the playbook baseline")
    args = parser.parse_args(argv)
    if args.orders < 1 or args.repeat < 1:
        parser.error("--orders and --repeat must be >= 1")

    commands = 2 * args.orders
    print(
        f"Python {platform.python_version()} ({platform.python_implementation()}), {sys.platform}"
    )
    print(f"N = {args.orders:,} orders: {commands:,} commands, one event each; R = {args.repeat}")

    ours: list[float] = []
    reads: list[float] = []
    playbook: list[float] = []
    for _ in range(args.repeat):
        gc.collect()  # each run starts without the last one's garbage
        seconds, store = bench_cqrs_lab(args.orders)
        events_read, read_seconds = read_log(store)
        ours.append(commands / seconds)
        reads.append(events_read / read_seconds)
        del store
        if not args.no_baseline:
            gc.collect()
            playbook.append(commands / bench_playbook(args.orders))

    print()
    verdict = "meets" if max(ours) >= COMMAND_TARGET else "BELOW"
    print(f"cqrs_lab write:     {summary(ours)} commands/s  ({verdict} {COMMAND_TARGET:,})")
    verdict = "meets" if max(reads) >= EVENT_TARGET else "BELOW"
    print(f"cqrs_lab read_all:  {summary(reads)} events/s    ({verdict} {EVENT_TARGET:,})")
    if playbook:
        print(f"playbook write:     {summary(playbook)} commands/s  (sync Template 1, no checks)")
        ratio = statistics.median(ours) / statistics.median(playbook)
        print(f"cqrs_lab / playbook write, medians: {ratio:.2f}x")
        # each run of cqrs_lab is followed by one of the playbook: a pair shares the machine's
        # mood of the moment, so the ratio within pairs drifts less than either figure alone
        pairs = sorted(o / p for o, p in zip(ours, playbook, strict=True))
        print(
            f"cqrs_lab / playbook write, run by run: median {statistics.median(pairs):.2f}x "
            f"(from {pairs[0]:.2f}x to {pairs[-1]:.2f}x over {len(pairs)} pairs)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
