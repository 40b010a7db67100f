"""Read-side speed: projector catch-up, an in-place rebuild, and the waiter's wake-up latency.

Run: ``python benchmarks/bench_read_side.py [--orders N] [--rounds R] [--rebuild-orders M]
[--writes W]`` (needs the eventsourcing library: the bench extra, which ``make bench`` installs)

(a) Catch-up: the write benchmark's workload (N orders, each created with one line and then
    given another: 2 N events, UUID ids, the real clock) through each contender's own commands
    (setup, not timed). Then, round by round, in turns: the Order system's own projector
    (OrderViewProjection into an OrderReadModel, batch 100) catches up from 0 after its read
    model is cleared, and the eventsourcing application's notification log is read, a page of
    100 at a time, into a dict of the same OrderView rows (``eventsourcing_orders.py``).
    Targets: cqrs_lab >= 3x eventsourcing (median of the rounds' ratios), >= 500,000 events/s.
(b) An in-place rebuild of 2 M events (1,000,000 by default): ``projector.rebuild("in_place")``.
(c) Read-your-writes latency: with the projector running live in its thread, another thread
    appends one event; the time from just before that append to ``wait`` returning in the main
    thread. Our ConsistencyWaiter (woken by the projector's commit) and a playbook-Template-5-style
    waiter (checks ``checkpoint >= position``, else sleeps 100 ms) take turns write by write. The
    writer appends after a random pause of up to 100 ms, so the poller's phase is random as in
    real use. Target: our median at least 50x lower.

Both wall-clock and CPU time are printed: on a shared machine the CPU figure is steadier.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import queue
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from bench_write_side import kit_system, place_kit_orders
from eventsourcing_orders import EsOrders, place_orders, project_notifications

from cqrs_lab.clock import SystemClock
from cqrs_lab.consistency import ConsistencyWaiter
from cqrs_lab.event_store import NO_STREAM, InMemoryEventStore
from cqrs_lab.examples.orders import (
    OrderCreated,
    OrderItemAdded,
    OrderLine,
    OrderReadModel,
    OrderSystem,
    OrderView,
    OrderViewProjection,
    build_order_system,
)
from cqrs_lab.projector import Projector
from cqrs_lab.rebuild import RebuildMode

CATCH_UP_TARGET = 500_000
CATCH_UP_RATIO_TARGET = 3.0  # cqrs_lab / eventsourcing, events per second
LATENCY_RATIO_TARGET = 50
POLL_INTERVAL = 0.1  # seconds: the playbook's Template 5 sleeps 0.1 s between checks
RANDOM_SEED = 42


@dataclass(frozen=True)
class Timing:
    """How long some events took, in wall-clock and CPU seconds."""

    events: int
    wall: float
    cpu: float

    @property
    def per_second(self) -> float:
        return self.events / self.wall

    @property
    def cpu_per_second(self) -> float:
        return self.events / self.cpu if self.cpu else float("inf")

    def line(self) -> str:
        return (
            f"{self.wall:6.3f} s wall -> {self.per_second:>9,.0f} events/s "
            f"({self.cpu:.3f} s CPU -> {self.cpu_per_second:,.0f} events/s)"
        )


def timed(events: int, run: Callable[[], object]) -> Timing:
    gc.collect()  # each run starts without the last one's garbage
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return Timing(events, time.perf_counter() - wall, time.process_time() - cpu)


def fill(system: OrderSystem, orders: int) -> None:
    """Append ``orders`` OrderCreated, then one OrderItemAdded each, straight to the store."""
    append = system.store.append
    tea = (OrderLine(product_id="tea", quantity=1, price=3.5),)
    order_ids = [f"order-{n:07d}" for n in range(1, orders + 1)]
    for n, order_id in enumerate(order_ids):
        customer = f"cust-{n % 1000:04d}"
        append(
            order_id, [OrderCreated(order_id=order_id, customer_id=customer, items=tea)], NO_STREAM
        )
    for order_id in order_ids:
        item = OrderItemAdded(order_id=order_id, product_id="cake", quantity=2, price=1.25)
        append(order_id, [item], 1)


def check_views(model: OrderReadModel, orders: int, checkpoint: int) -> None:
    if len(model) != orders or model.checkpoint != checkpoint:
        raise AssertionError(
            f"expected {orders} views at {checkpoint}, found {len(model)} at {model.checkpoint}"
        )
    row = model.rows()[0]
    if row.item_count != 2:
        raise AssertionError(f"expected 2 items in each view, found {row!r}")


def bench_catch_up(orders: int, rounds: int) -> list[tuple[Timing, Timing]]:
    """(a): (cqrs_lab, eventsourcing) catching up from 0 over 2 x ``orders`` events, by round."""
    system = kit_system()
    place_kit_orders(system, orders)
    app = EsOrders()
    place_orders(app, orders)
    events = system.store.head
    views: dict[UUID, OrderView] = {}

    def kit() -> Timing:
        system.read_model.clear()
        timing = timed(events, system.catch_up)
        check_views(system.read_model, orders, events)
        return timing

    def eventsourcing() -> Timing:
        views.clear()
        timing = timed(events, lambda: project_notifications(app, views))
        if len(views) != orders:
            raise AssertionError(f"expected {orders} eventsourcing views, found {len(views)}")
        return timing

    pairs = []
    for number in range(rounds):
        if number % 2:  # who goes first alternates
            theirs = eventsourcing()
            pairs.append((kit(), theirs))
        else:
            ours = kit()
            pairs.append((ours, eventsourcing()))
    return pairs


def bench_rebuild(orders: int) -> Timing:
    """(b): an in-place rebuild of 2 x ``orders`` events, after a first catch-up."""
    system = build_order_system()
    fill(system, orders)
    system.catch_up()
    timing = timed(system.store.head, lambda: system.projector.rebuild(RebuildMode.IN_PLACE))
    check_views(system.read_model, orders, system.store.head)
    return timing


def poll_like_template_5(projector: Projector[OrderView], position: int, timeout: float) -> bool:
    """The playbook's Template 5 loop: check the checkpoint, else sleep 100 ms and check again."""
    start = time.time()
    while time.time() - start < timeout:
        if projector.checkpoint >= position:
            return True
        time.sleep(POLL_INTERVAL)
    return False


def bench_latency(writes: int) -> tuple[list[float], list[float]]:
    """(c): seconds from an append in another thread to each waiter returning, write by write."""
    clock = SystemClock()
    store = InMemoryEventStore(clock=clock)
    projector: Projector[OrderView] = Projector(
        store, OrderViewProjection(), OrderReadModel(), clock=clock
    )
    waiter = ConsistencyWaiter(store, [projector], clock=clock)
    jobs: queue.Queue[int | None] = queue.Queue()
    appended: queue.Queue[float] = queue.Queue()
    rng = random.Random(RANDOM_SEED)
    tea = (OrderLine(product_id="tea", quantity=1, price=3.5),)

    def writer() -> None:
        while (number := jobs.get()) is not None:
            time.sleep(rng.uniform(0, POLL_INTERVAL))  # the write comes at a random moment
            order_id = f"order-{number:07d}"
            event = OrderCreated(order_id=order_id, customer_id="cust", items=tea)
            started = time.perf_counter()
            store.append(order_id, [event], NO_STREAM)
            appended.put(started)

    ours: list[float] = []
    polled: list[float] = []
    thread = threading.Thread(target=writer, name="bench-writer", daemon=True)
    projector.start()
    thread.start()
    try:
        for number in range(1, 2 * writes + 1):
            jobs.put(number)
            if number % 2:
                waiter.wait(number, timeout=5.0)
                returned = time.perf_counter()
                ours.append(returned - appended.get())
            else:
                if not poll_like_template_5(projector, number, timeout=5.0):
                    raise AssertionError(f"the poller never saw position {number}")
                returned = time.perf_counter()
                polled.append(returned - appended.get())
    finally:
        jobs.put(None)
        thread.join()
        projector.stop()
    return ours, polled


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[18]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=50_000, help="(a): 2 events per order")
    parser.add_argument("--rounds", type=int, default=7, help="(a): pairs of catch-ups (>= 5)")
    parser.add_argument("--rebuild-orders", type=int, default=500_000, help="(b): 2 per order")
    parser.add_argument("--writes", type=int, default=200, help="(c): writes per waiter")
    args = parser.parse_args(argv)

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"cqrs_lab read side -- Python {platform.python_version()} on {platform.system()} "
        f"{platform.machine()}, {os.cpu_count()} CPUs, load average {load}"
    )

    print(
        f"\n(a) catch-up, {2 * args.orders:,} events ({args.orders:,} orders created, then 1 item "
        f"each): cqrs_lab's OrderViewProjection, batch 100, and eventsourcing's notification log "
        f"into a dict, pages of 100"
    )
    walls: list[float] = []  # cqrs_lab / eventsourcing, round by round
    cpus: list[float] = []
    best = 0.0
    for number, (kit, es) in enumerate(bench_catch_up(args.orders, args.rounds), start=1):
        walls.append(es.wall / kit.wall)
        cpus.append(es.cpu / kit.cpu)
        print(
            f"    round {number}: cqrs_lab {kit.per_second:>9,.0f} events/s, eventsourcing "
            f"{es.per_second:>9,.0f} events/s: {walls[-1]:.2f}x (CPU {cpus[-1]:.2f}x)"
        )
        best = max(best, kit.per_second)
    for name, ratios in (("wall", walls), ("CPU ", cpus)):
        ratio = statistics.median(ratios)
        verdict = "met" if ratio >= CATCH_UP_RATIO_TARGET else "MISSED"
        print(
            f"    cqrs_lab / eventsourcing, {name}: median {ratio:.2f}x over {len(ratios)} rounds "
            f"(from {min(ratios):.2f}x to {max(ratios):.2f}x); "
            f"target >= {CATCH_UP_RATIO_TARGET:g}x: {verdict}"
        )
    verdict = "met" if best >= CATCH_UP_TARGET else "MISSED"
    print(f"    cqrs_lab best: {best:,.0f} events/s; target >= {CATCH_UP_TARGET:,}: {verdict}")

    print(f"\n(b) in-place rebuild of {2 * args.rebuild_orders:,} events")
    print(f"    {bench_rebuild(args.rebuild_orders).line()}")

    print(f"\n(c) read-your-writes latency over {args.writes} writes each, projector live")
    ours, polled = bench_latency(args.writes)
    for name, samples in (
        ("ConsistencyWaiter (event-driven)", ours),
        ("poll every 100 ms", polled),
    ):
        print(
            f"    {name:<34} median {statistics.median(samples) * 1e3:8.3f} ms, "
            f"p95 {p95(samples) * 1e3:8.3f} ms"
        )
    ratio = statistics.median(polled) / statistics.median(ours)
    verdict = "met" if ratio >= LATENCY_RATIO_TARGET else "MISSED"
    print(f"    median ratio: {ratio:,.0f}x; target >= {LATENCY_RATIO_TARGET}x: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
