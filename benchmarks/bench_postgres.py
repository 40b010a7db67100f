"""PostgreSQL figures beside SQLite's: appends, catch-up, and a strong HTTP round trip.

Run: ``CQRS_LAB_POSTGRES_URL=postgresql://... python benchmarks/bench_postgres.py [--appends N]
[--batch B] [--orders O] [--requests R]`` (needs the ``postgres`` and ``api`` extras; creates a
database of its own on that server and drops it afterwards).

1. Appends per second, one event per append and ``B`` events per append, on PostgreSQL (one
   transaction each, positions taken under the head counter's lock) and on a SQLite file
   (``synchronous=FULL``, WAL), the same events in the same order.
2. Projector catch-up of the same log into the PostgreSQL ``order_views`` (rows and checkpoint in
   one transaction per batch of 500) and into SQLite's.
3. If ``eventsourcing`` (with its ``postgres`` extra) is installed: its PostgreSQL recorder on the
   same server, in the same run -- ``insert_events`` of the same JSON, 1 and ``B`` per call (a
   table lock per insert, as this kit's counter lock), and reading its notification log back 500
   at a time, against this store's ``read_all`` of the same events -- as ratios.
4. ``POST /orders?consistency=strong`` then ``GET /orders/{id}`` against uvicorn on 127.0.0.1,
   with the projector in another process (``python -m cqrs_lab project``): p50 and p99.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from bench_sqlite_http import HOST, STARTUP_DEADLINE, WARM_UP, check, created, free_port, percentile

from cqrs_lab.adapters.postgres_database import PostgresDatabase
from cqrs_lab.adapters.postgres_store import PostgresEventStore
from cqrs_lab.adapters.sqlite_database import SqliteDatabase
from cqrs_lab.adapters.sqlite_store import SqliteEventStore
from cqrs_lab.clock import SystemClock
from cqrs_lab.codec import EventCodec
from cqrs_lab.event_store import NO_STREAM
from cqrs_lab.examples.orders.events import OrderItemAdded, order_event_registry
from cqrs_lab.examples.orders.postgres_views import PostgresOrderViews
from cqrs_lab.examples.orders.sqlite_views import SqliteOrderViews
from cqrs_lab.examples.orders.views import OrderViewProjection
from cqrs_lab.messages import Event
from cqrs_lab.projector import Projector

ROOT = Path(__file__).resolve().parent.parent
Store = PostgresEventStore | SqliteEventStore


def order_events(i: int, batch: int) -> list[Event]:
    """An order created with ``batch - 1`` more items: one append of ``batch`` events."""
    order_id = f"order-{i}"
    items = [
        OrderItemAdded(order_id=order_id, product_id=f"p{n}", quantity=1, price=1.0)
        for n in range(batch - 1)
    ]
    return [created(i), *items]


def appends_per_second(store: Store, appends: int, batch: int) -> float:
    """Events per second, ``batch`` per append."""
    workload = [order_events(i, batch) for i in range(appends)]
    start = time.perf_counter()
    for i, events in enumerate(workload):
        store.append(f"order-{i}", events, NO_STREAM)
    seconds = time.perf_counter() - start
    check(store.head == appends * batch, f"expected {appends * batch} events, found {store.head}")
    return appends * batch / seconds


def fill(store: Store, orders: int) -> None:
    """Two appends per order: created, then one more item."""
    for i in range(orders):
        order_id = f"order-{i}"
        store.append(order_id, [created(i)], NO_STREAM)
        item = OrderItemAdded(order_id=order_id, product_id="cake", quantity=2, price=4.25)
        store.append(order_id, [item], 1)


def catch_up_per_second(store: Store, views: PostgresOrderViews | SqliteOrderViews) -> float:
    projector = Projector(store, OrderViewProjection(), views, batch_size=500)
    start = time.perf_counter()
    done = projector.catch_up()
    seconds = time.perf_counter() - start
    check(done == store.head and views.checkpoint == store.head, "the catch-up fell short")
    return done / seconds


def read_per_second(read_page: Callable[[int], int], events: int) -> float:
    """Events per second read back (and decoded) 500 at a time; ``read_page(after)`` returns
    the last position of the page it read, or ``after`` at the end."""
    start = time.perf_counter()
    after = 0
    while (last := read_page(after)) != after:
        after = last
    seconds = time.perf_counter() - start
    check(after == events, f"read {after} of {events} events")
    return events / seconds


@contextmanager
def fresh_database(url: str) -> Iterator[str]:
    """A database of its own on the server at ``url``, dropped afterwards."""
    name = f"cqrs_lab_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
    try:
        yield urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(
                psycopg.sql.SQL("DROP DATABASE {} WITH (FORCE)").format(
                    psycopg.sql.Identifier(name)
                )
            )


def bench_eventsourcing(
    url: str, appends: int, batch: int, orders: int
) -> tuple[float, float, float] | None:
    """eventsourcing's PostgreSQL recorder on the same workloads, or None if not installed."""
    try:
        from eventsourcing.persistence import StoredEvent
        from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
    except ImportError:
        return None
    parts = urlsplit(url)
    datastore = PostgresDatastore(
        dbname=parts.path.lstrip("/"),
        host=parts.hostname or HOST,
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or "",
        originator_id_type="text",
    )
    codec = EventCodec(order_event_registry())

    def stored(stream: str, events: list[Event], version: int = 0) -> list[StoredEvent]:
        return [
            StoredEvent(
                stream, version + n, type(e).type_name, codec.dumps(codec.encode(e)).encode()
            )
            for n, e in enumerate(events, start=1)
        ]

    rates = []
    for name, size in (("single", 1), ("batched", batch)):
        recorder = PostgresApplicationRecorder(datastore, events_table_name=f"es_{name}")
        recorder.create_table()
        workload = [stored(f"order-{i}", order_events(i, size)) for i in range(appends)]
        start = time.perf_counter()
        for events in workload:
            recorder.insert_events(events)
        rates.append(appends * size / (time.perf_counter() - start))
    reader = PostgresApplicationRecorder(datastore, events_table_name="es_log")
    reader.create_table()
    for i in range(orders):
        reader.insert_events(stored(f"order-{i}", [created(i)]))
        item = OrderItemAdded(order_id=f"order-{i}", product_id="cake", quantity=2, price=4.25)
        reader.insert_events(stored(f"order-{i}", [item], 1))

    def page(after: int) -> int:
        notes = reader.select_notifications(after, 500, inclusive_of_start=False)
        for note in notes:
            codec.loads(note.topic, 1, note.state)
        return notes[-1].id if notes else after

    rates.append(read_per_second(page, 2 * orders))
    datastore.close()
    return rates[0], rates[1], rates[2]


@contextmanager
def projector_process(url: str) -> Iterator[None]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "cqrs_lab", "project", "--database", url]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    check(process.stdout.readline().startswith("projecting"), "the projector did not start")
    try:
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stdout.close()


@contextmanager
def api_server(url: str) -> Iterator[str]:
    """uvicorn serving the Order API on ``url`` (it does not project); yields its base URL."""
    import socket

    port = free_port()
    env = {**os.environ, "CQRS_LAB_API_DB": url, "PYTHONPATH": str(ROOT)}
    app = "cqrs_lab.examples.orders.http:create_default_app"
    command = [sys.executable, "-m", "uvicorn", app, "--factory", "--host", HOST]
    command += ["--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + STARTUP_DEADLINE
        while True:
            try:
                with socket.create_connection((HOST, port), timeout=1.0):
                    break
            except OSError:
                check(time.monotonic() < deadline, f"uvicorn did not listen on port {port}")
                check(process.poll() is None, f"uvicorn exited with {process.returncode}")
                time.sleep(0.05)
        yield f"http://{HOST}:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def strong_round_trips(base_url: str, requests: int) -> tuple[list[float], int]:
    """Seconds per strong create-then-read round trip, and how many were not caught up."""
    import httpx

    body = {"customer_id": "ada", "items": [{"product_id": "tea", "quantity": 1, "price": 3.5}]}
    strong: dict[str, str | float] = {"consistency": "strong", "timeout": 5.0}
    timings: list[float] = []
    stale = 0
    with httpx.Client(base_url=base_url, timeout=10) as client:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--appends", type=int, default=1_000, help="appends to time")
    parser.add_argument("--batch", type=int, default=10, help="events per batched append")
    parser.add_argument("--orders", type=int, default=10_000, help="orders for the catch-up")
    parser.add_argument("--requests", type=int, default=300, help="HTTP round trips to time")
    args = parser.parse_args()
    server = os.environ.get("CQRS_LAB_POSTGRES_URL")
    if not server:  # make bench goes on to the other scripts
        print("skipped: no PostgreSQL server named; set CQRS_LAB_POSTGRES_URL=postgresql://...")
        return
    with psycopg.connect(server) as probe:
        version = probe.execute("SHOW server_version").fetchone()
    print(f"PostgreSQL {version[0] if version else '?'} at {HOST}; psycopg {psycopg.__version__}")

    with fresh_database(server) as url, tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        print(f"\nAppends, events/s ({args.appends:,} appends each; SQLite synchronous=FULL, WAL)")
        for size in (1, args.batch):
            pg = PostgresEventStore(
                PostgresDatabase(url, schema=f"a{size}"), order_event_registry()
            )
            lite = SqliteEventStore(
                SqliteDatabase(work / f"a{size}.db"), order_event_registry(), SystemClock()
            )
            pg_rate = appends_per_second(pg, args.appends, size)
            lite_rate = appends_per_second(lite, args.appends, size)
            print(
                f"  {size:>2} event(s)/append   PostgreSQL {pg_rate:>9,.0f}   SQLite "
                f"{lite_rate:>9,.0f}   PostgreSQL/SQLite {pg_rate / lite_rate:.2f}"
            )
            pg.db.close()
            lite.db.close()

        pg = PostgresEventStore(PostgresDatabase(url, schema="log"), order_event_registry())
        lite = SqliteEventStore(SqliteDatabase(work / "log.db"), order_event_registry())
        fill(pg, args.orders)
        fill(lite, args.orders)
        events = pg.head
        pg_rate = catch_up_per_second(pg, PostgresOrderViews(pg.db))
        lite_rate = catch_up_per_second(lite, SqliteOrderViews(lite.db))
        print(f"\nCatch-up of {events:,} events into order_views, events/s (batches of 500)")
        print(f"  PostgreSQL {pg_rate:>9,.0f}   SQLite {lite_rate:>9,.0f}")

        def kit_page(after: int) -> int:
            records = pg.read_all(after, 500)
            return records[-1].position if records else after

        kit_read = read_per_second(kit_page, events)
        es = bench_eventsourcing(url, args.appends, args.batch, args.orders)
        if es is None:
            print("\neventsourcing is not installed: pip install 'eventsourcing[postgres]'")
        else:
            single = appends_per_second(
                PostgresEventStore(PostgresDatabase(url, schema="k1"), order_event_registry()),
                args.appends,
                1,
            )
            batched = appends_per_second(
                PostgresEventStore(PostgresDatabase(url, schema="kb"), order_event_registry()),
                args.appends,
                args.batch,
            )
            print("\neventsourcing 9 on the same server, same run (kit/eventsourcing ratio)")
            for label, kit, theirs in (
                ("appends, 1 event/append", single, es[0]),
                (f"appends, {args.batch} events/append", batched, es[1]),
                ("read back + decode", kit_read, es[2]),
            ):
                print(f"  {label:<26} kit {kit:>9,.0f}  es {theirs:>9,.0f}  {kit / theirs:.2f}")
        pg.db.close()
        lite.db.close()

        with projector_process(url), api_server(url) as base_url:
            timings, stale = strong_round_trips(base_url, args.requests)
        millis = [t * 1000 for t in timings]
        print(
            "\nHTTP round trip, uvicorn on PostgreSQL, projector in another process: "
            "POST /orders?consistency=strong, then GET /orders/{id}"
        )
        print(
            f"  {len(millis)} round trips after {WARM_UP} to warm up: p50 "
            f"{percentile(millis, 0.50):.2f} ms   p99 {percentile(millis, 0.99):.2f} ms   mean "
            f"{statistics.fmean(millis):.2f} ms   not caught up in time: {stale}"
        )


if __name__ == "__main__":
    main()
