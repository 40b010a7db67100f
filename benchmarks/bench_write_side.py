"""Write-side speed: the kit's command bus against the eventsourcing library and the playbook.

Run: ``python benchmarks/bench_write_side.py [--orders N] [--rounds R]``
(needs the eventsourcing library: the bench extra, which ``make bench`` installs)

Workload, the same for all three contenders: for each of N orders, create it with one line,
then add a line to it -- 2 N commands, each appending one event. Each contender pays what a
real service pays: UUID ids, the real clock, and a fresh line in every command, built as a
client builds it (building the command is timed with its handling).

- cqrs_lab: the Order example (``build_order_system`` given ``SystemClock`` and ``UuidIds``),
  every command dispatched through the command bus, checked and appended with its metadata.
- eventsourcing: the same Order, rules and lines written with the library, its application in
  memory (``eventsourcing_orders.py``); its application methods are its commands.
- playbook: the playbook's Template 1, made synchronous and patched only so that it runs, with
  an Order and an event store as small as Template 1 implies (no version checks, no global log,
  no metadata).

The contenders take turns round by round (who goes first rotates), so the ratios of a round
compare runs made within seconds of each other on this shared machine; the script prints each
round's ratios and their median. Wall and CPU time are both measured: CPU time is steadier when
other processes compete for the machine. Target: cqrs_lab >= 5x eventsourcing. The kit's log is
then read back with ``read_all`` in pages of 1,000, as a projection catching up reads it.
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

from eventsourcing_orders import EsOrders, place_orders

from cqrs_lab.clock import SystemClock
from cqrs_lab.event_store import InMemoryEventStore
from cqrs_lab.examples.orders import (
    AddOrderItem,
    CreateOrder,
    OrderLine,
    OrderSystem,
    build_order_system,
)
from cqrs_lab.ids import UuidIds

RATIO_TARGET = 5.0  # cqrs_lab / eventsourcing, commands per second
READ_PAGE = 1_000


@dataclass(frozen=True)
class Timing:
    """Wall-clock and CPU seconds of one run."""

    wall: float
    cpu: float


def timed(work: Callable[[], object]) -> Timing:
    """Run ``work()`` once, after collecting the garbage the last run left."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return Timing(time.perf_counter() - wall, time.process_time() - cpu)


def customer(n: int) -> str:
    """The customer of the ``n``-th order: a thousand customers, in turn."""
    return f"cust-{n % 1000:04d}"


# --- cqrs_lab ---------------------------------------------------------------------------------


def kit_system() -> OrderSystem:
    """The Order example as a service runs it: the real clock, UUID command and order ids."""
    return build_order_system(
        clock=SystemClock(), command_ids=UuidIds("cmd"), order_ids=UuidIds("order")
    )


def place_kit_orders(system: OrderSystem, orders: int) -> None:
    """The workload through the kit's command bus."""
    dispatch = system.commands.dispatch
    for n in range(orders):
        line = OrderLine(product_id="tea", quantity=1, price=3.5)
        receipt = dispatch(CreateOrder(customer_id=customer(n), items=(line,)))
        dispatch(
            AddOrderItem(order_id=receipt.stream_id, product_id="cake", quantity=2, price=4.25)
        )


def read_log(store: InMemoryEventStore) -> int:
    """Read the whole log in pages, as a projection catching up would; returns events read."""
    events_read = 0
    position = 0
    while page := store.read_all(after_position=position, limit=READ_PAGE):
        events_read += len(page)
        position = page[-1].position
    return events_read


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


def place_playbook_orders(bus: PlaybookCommandBus, orders: int) -> None:
    """The workload through Template 1's command bus."""
    for n in range(orders):
        line = {"product_id": "tea", "quantity": 1, "price": 3.5}
        order_id = bus.dispatch(
            PlaybookCreateOrder(customer_id=customer(n), items=[line], shipping_address={})
        )
        bus.dispatch(
            PlaybookAddOrderItem(order_id=order_id, product_id="cake", quantity=2, price=4.25)
        )


def playbook_bus() -> tuple[PlaybookCommandBus, PlaybookEventStore]:
    """Template 1's bus with its two handlers, and the store they append to."""
    store = PlaybookEventStore()
    repository = PlaybookOrderRepository(store)
    bus = PlaybookCommandBus()
    bus.register(PlaybookCreateOrder, PlaybookCreateOrderHandler(repository, store))
    bus.register(PlaybookAddOrderItem, PlaybookAddOrderItemHandler(repository, store))
    return bus, store


# --- the rounds -------------------------------------------------------------------------------


def check_events(name: str, stored: int, orders: int) -> None:
    if stored != 2 * orders:
        raise AssertionError(f"{name}: expected {2 * orders} events, found {stored}")


def run_kit(orders: int, reads: list[float]) -> Timing:
    system = kit_system()
    timing = timed(lambda: place_kit_orders(system, orders))
    check_events("cqrs_lab", system.store.head, orders)
    read = timed(lambda: read_log(system.store))
    reads.append(system.store.head / read.wall)
    return timing


def run_eventsourcing(orders: int) -> Timing:
    app = EsOrders()
    timing = timed(lambda: place_orders(app, orders))
    check_events("eventsourcing", app.recorder.max_notification_id() or 0, orders)
    return timing


def run_playbook(orders: int) -> Timing:
    bus, store = playbook_bus()
    timing = timed(lambda: place_playbook_orders(bus, orders))
    check_events("playbook", sum(len(events) for events in store.streams.values()), orders)
    return timing


def median_ratio(name: str, ratios: list[float], target: float | None = None) -> None:
    ordered = sorted(ratios)
    line = (
        f"cqrs_lab / {name}: median {statistics.median(ordered):.2f}x over {len(ordered)} rounds "
        f"(from {ordered[0]:.2f}x to {ordered[-1]:.2f}x)"
    )
    if target is not None:
        verdict = "met" if statistics.median(ordered) >= target else "MISSED"
        line += f"; target >= {target:g}x: {verdict}"
    print(line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=10_000, help="orders per run (N)")
    parser.add_argument("--rounds", type=int, default=7, help="rounds of the three runs (>= 5)")
    args = parser.parse_args(argv)
    if args.orders < 1 or args.rounds < 1:
        parser.error("--orders and --rounds must be >= 1")

    commands = 2 * args.orders
    print(
        f"Python {platform.python_version()} ({platform.python_implementation()}), {sys.platform}"
    )
    print(
        f"N = {args.orders:,} orders: {commands:,} commands, one event each; {args.rounds} rounds"
    )
    reads: list[float] = []
    contenders: list[tuple[str, Callable[[], Timing]]] = [
        ("cqrs_lab", lambda: run_kit(args.orders, reads)),
        ("eventsourcing", lambda: run_eventsourcing(args.orders)),
        ("playbook", lambda: run_playbook(args.orders)),
    ]
    by_eventsourcing: list[tuple[float, float]] = []  # (wall, CPU) ratio of each round
    by_playbook: list[tuple[float, float]] = []
    for number in range(args.rounds):
        turn = number % len(contenders)  # who goes first rotates
        timings = {name: run() for name, run in contenders[turn:] + contenders[:turn]}
        kit, es, playbook = timings["cqrs_lab"], timings["eventsourcing"], timings["playbook"]
        # the same number of commands each: the ratio of rates is the inverse ratio of times
        by_eventsourcing.append((es.wall / kit.wall, es.cpu / kit.cpu))
        by_playbook.append((playbook.wall / kit.wall, playbook.cpu / kit.cpu))
        print(
            f"round {number + 1}: commands/s cqrs_lab {commands / kit.wall:,.0f}, "
            f"eventsourcing {commands / es.wall:,.0f}, playbook {commands / playbook.wall:,.0f}; "
            f"cqrs_lab / eventsourcing {es.wall / kit.wall:.2f}x (CPU {es.cpu / kit.cpu:.2f}x), "
            f"/ playbook {playbook.wall / kit.wall:.2f}x (CPU {playbook.cpu / kit.cpu:.2f}x)"
        )

    print()
    median_ratio("eventsourcing, wall", [wall for wall, _ in by_eventsourcing], RATIO_TARGET)
    median_ratio("eventsourcing, CPU ", [cpu for _, cpu in by_eventsourcing], RATIO_TARGET)
    median_ratio("playbook, wall     ", [wall for wall, _ in by_playbook])
    median_ratio("playbook, CPU      ", [cpu for _, cpu in by_playbook])
    rate = statistics.median(reads)
    print(f"cqrs_lab read_all in pages of {READ_PAGE:,}: median {rate:,.0f} events/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
