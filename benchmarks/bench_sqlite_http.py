"""SQLite and HTTP figures: appends per second, projector catch-up, and a strong HTTP round trip.

Run: ``python benchmarks/bench_sqlite_http.py [--appends N] [--batch B] [--requests R]``

1. Appends to a SQLite file, one event per append (each its own transaction) and ``B`` events per
   append, with ``synchronous=FULL`` (waits for the disk at every commit, the default) and
   ``NORMAL`` (WAL: safe when the process dies, may lose the last commits on power loss).
2. Projector catch-up from a SQLite store into the SQLite ``order_views`` table (rows and
   checkpoint in one transaction per batch), and into the in-memory read model for comparison.
3. The HTTP round trip against a real uvicorn process on 127.0.0.1: ``POST /orders`` with
   ``consistency=strong`` (the answer waits until the read model has the order), then
   ``GET /orders/{id}``; p50 and p99 over ``R`` round trips after a warm-up.

Figures depend on the disk: a tmpfs makes FULL as fast as NORMAL.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import cast

from cqrs_lab.adapters.sqlite_database import SqliteDatabase, Synchronous
from cqrs_lab.adapters.sqlite_store import SqliteEventStore
from cqrs_lab.clock import SystemClock
from cqrs_lab.event_store import NO_STREAM
from cqrs_lab.examples.orders.commands import OrderLine
from cqrs_lab.examples.orders.events import OrderCreated, OrderItemAdded, order_event_registry
from cqrs_lab.examples.orders.sqlite_views import SqliteOrderViews
from cqrs_lab.examples.orders.views import OrderReadModel, OrderViewProjection
from cqrs_lab.projector import Projector

HOST = "127.0.0.1"
STARTUP_DEADLINE = 30.0
WARM_UP = 20
LINE = (OrderLine(product_id="tea", quantity=1, price=3.5),)


def open_store(path: Path, synchronous: Synchronous) -> SqliteEventStore:
    return SqliteEventStore(
        SqliteDatabase(path, synchronous=synchronous), order_event_registry(), SystemClock()
    )


def created(i: int) -> OrderCreated:
    return OrderCreated(order_id=f"order-{i}", customer_id=f"cust-{i % 100}", items=LINE)


def bench_single_appends(path: Path, appends: int, synchronous: Synchronous) -> float:
    """Appends per second, one event (one transaction) each."""
    store = open_store(path, synchronous)
    start = time.perf_counter()
    for i in range(appends):
        store.append(f"order-{i}", [created(i)], NO_STREAM)
    seconds = time.perf_counter() - start
    check(store.head == appends, f"expected {appends} events, found {store.head}")
    store.db.close()
    return appends / seconds


def bench_batched_appends(path: Path, events: int, batch: int, synchronous: Synchronous) -> float:
    """Events per second, appended ``batch`` at a time (an order created with its items)."""
    store = open_store(path, synchronous)
    batches = events // batch
    start = time.perf_counter()
    for b in range(batches):
        order_id = f"order-{b}"
        items = [
            OrderItemAdded(order_id=order_id, product_id=f"p{n}", quantity=1, price=1.0)
            for n in range(batch - 1)
        ]
        store.append(order_id, [created(b), *items], NO_STREAM)
    seconds = time.perf_counter() - start
    check(store.head == batches * batch, f"expected {batches * batch} events, found {store.head}")
    store.db.close()
    return batches * batch / seconds


def bench_catch_up(path: Path, orders: int) -> tuple[int, float, float]:
    """Events, then events per second into SQLite views and into the in-memory read model."""
    store = open_store(path, "NORMAL")
    for i in range(orders):  # an order and one more item: two appends, two events
        order_id = f"order-{i}"
        store.append(order_id, [created(i)], NO_STREAM)
        store.append(
            order_id,
            [OrderItemAdded(order_id=order_id, product_id="cake", quantity=2, price=4.25)],
            1,
        )
    events = store.head
    views = SqliteOrderViews(SqliteDatabase(path, synchronous="NORMAL"))
    start = time.perf_counter()
    done = Projector(store, OrderViewProjection(), views, batch_size=500).catch_up()
    sqlite_seconds = time.perf_counter() - start
    check(done == events and len(views) == orders, f"projected {done} of {events} events")
    in_memory = OrderReadModel()
    start = time.perf_counter()
    Projector(store, OrderViewProjection(), in_memory, batch_size=500).catch_up()
    memory_seconds = time.perf_counter() - start
    check(in_memory.rows() == views.rows(), "the SQLite and in-memory views differ")
    views.db.close()
    store.db.close()
    return events, events / sqlite_seconds, events / memory_seconds


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return cast(int, probe.getsockname()[1])


@contextmanager
def uvicorn_server(database: Path) -> Iterator[str]:
    """A uvicorn process serving the Order API on ``database``; yields its base URL."""
    port = free_port()
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "CQRS_LAB_API_DB": str(database), "PYTHONPATH": str(root)}
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "cqrs_lab.examples.orders.http:create_default_app",
        "--factory",
        "--host",
        HOST,
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + STARTUP_DEADLINE
        while True:
            try:
                with socket.create_connection((HOST, port), timeout=1.0):
                    break
            except OSError:
                pass
            check(time.monotonic() < deadline, f"uvicorn did not listen on port {port} in time")
            try:  # the pause between attempts also notices a server that died
                process.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                continue
            raise SystemExit(f"uvicorn exited with {process.returncode} before listening")
        yield f"http://{HOST}:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def bench_http(database: Path, requests: int) -> tuple[list[float], int]:
    """Seconds per create-then-read round trip with strong consistency, and how many were stale."""
    import httpx

    body = {"customer_id": "ada", "items": [{"product_id": "tea", "quantity": 1, "price": 3.5}]}
    strong: dict[str, str | float] = {"consistency": "strong", "timeout": 5.0}
    timings: list[float] = []
    stale = 0
    with (
        uvicorn_server(database) as base_url,
        httpx.Client(base_url=base_url, timeout=10) as client,
    ):
        for n in range(WARM_UP + requests):
            start = time.perf_counter()
            response = client.post("/orders", json=body, params=strong)
            check(response.status_code == 201, f"POST /orders: {response.status_code}")
            receipt = response.json()
            order = client.get(f"/orders/{receipt['order_id']}")
            elapsed = time.perf_counter() - start
            check(order.status_code == 200, f"GET after a strong write: {order.status_code}")
            if n >= WARM_UP:
                timings.append(elapsed)
                stale += receipt["consistent"] is not True
    return timings, stale


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def check(condition: bool, message: str) -> None:
    if not condition:
        raise SystemExit(f"benchmark check failed: {message}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--appends", type=int, default=2_000, help="single appends to time")
    parser.add_argument("--batch", type=int, default=10, help="events per batched append")
    parser.add_argument("--orders", type=int, default=10_000, help="orders for the catch-up")
    parser.add_argument("--requests", type=int, default=500, help="HTTP round trips to time")
    args = parser.parse_args()

    print(f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {sys.platform}")
    with tempfile.TemporaryDirectory(prefix="cqrs-lab-bench-") as folder:
        work = Path(folder)
        print(f"files in {work}")
        print("\nSQLite appends (WAL)")
        modes: tuple[Synchronous, ...] = ("FULL", "NORMAL")
        for mode in modes:
            single = bench_single_appends(work / f"single-{mode}.db", args.appends, mode)
            batched = bench_batched_appends(
                work / f"batched-{mode}.db", args.appends * args.batch, args.batch, mode
            )
            print(
                f"  synchronous={mode:<6}  1 event/append: {single:>9,.0f} appends/s   "
                f"{args.batch} events/append: {batched:>9,.0f} events/s"
            )

        events, sqlite_rate, memory_rate = bench_catch_up(work / "catch-up.db", args.orders)
        print(f"\nProjector catch-up of {events:,} events from a SQLite store (batches of 500)")
        print(f"  into SQLite order_views:      {sqlite_rate:>9,.0f} events/s")
        print(f"  into the in-memory read model: {memory_rate:>9,.0f} events/s")

        timings, stale = bench_http(work / "http.db", args.requests)
        millis = [t * 1000 for t in timings]
        print(
            f"\nHTTP round trip, uvicorn on {HOST}, SQLite (synchronous=FULL): "
            "POST /orders?consistency=strong, then GET /orders/{id}"
        )
        print(
            f"  {len(millis)} round trips: p50 {percentile(millis, 0.50):.2f} ms   "
            f"p99 {percentile(millis, 0.99):.2f} ms   mean {statistics.fmean(millis):.2f} ms   "
            f"not caught up in time: {stale}"
        )


if __name__ == "__main__":
    main()
