"""SIGKILL a worker that appends and projects on SQLite, many times: nothing half-done survives.

After every kill the file must hold every append and every checkpoint the worker reported done,
show no partial append (every stream complete, versions 1..n, positions 1..head), hold a read
model exactly at its checkpoint (equal to a rebuild from scratch up to that position: nothing
lost, nothing applied twice), and let a projector resume from that checkpoint to a read model
equal to a full rebuild.
"""

from __future__ import annotations

import os
import random
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cqrs_lab.adapters.sqlite_store import SqliteEventStore
from cqrs_lab.examples.orders.events import OrderCreated, order_event_registry
from cqrs_lab.examples.orders.sqlite_views import SqliteOrderViews
from cqrs_lab.examples.orders.views import OrderReadModel, OrderView, OrderViewProjection
from cqrs_lab.projector import Projector

RANDOM_SEED = 42
KILLS = 24
WORKER = Path(__file__).with_name("crash_worker.py")
EXTRA_PREFIX = "extra="  # as in crash_worker.py
LINE_TIMEOUT = 10.0  # seconds a worker may take to print its next line before the test fails

pytestmark = pytest.mark.skipif(
    not hasattr(signal, "SIGKILL"), reason="needs POSIX signals to kill the worker"
)


class Worker:
    """The worker process, its stdout read line by line with a deadline."""

    def __init__(self, db_path: Path, seed: int) -> None:
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
        self.process = subprocess.Popen(
            [sys.executable, str(WORKER), str(db_path), str(seed)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        assert self.process.stdout is not None
        self._out = self.process.stdout
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._out, selectors.EVENT_READ)
        self._buffer = b""

    def read_line(self) -> str:
        """The next line the worker prints; fails the test on EOF or after LINE_TIMEOUT."""
        deadline = time.monotonic() + LINE_TIMEOUT
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._selector.select(remaining):
                self.kill()
                pytest.fail(f"the worker printed no line within {LINE_TIMEOUT} s")
            chunk = os.read(self._out.fileno(), 4096)
            if not chunk:
                self.process.wait(timeout=LINE_TIMEOUT)
                errors = self.process.stderr.read().decode() if self.process.stderr else ""
                pytest.fail(f"the worker exited early ({self.process.returncode}):\n{errors}")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()

    def kill(self) -> int:
        """SIGKILL the worker and reap it; returns its exit status."""
        self.process.send_signal(signal.SIGKILL)
        status = self.process.wait(timeout=LINE_TIMEOUT)
        self._selector.close()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        return status


def check_no_partial_append(store: SqliteEventStore) -> None:
    records = store.read_all()
    head = store.head
    assert [r.position for r in records] == list(range(1, head + 1)), "positions have a gap"
    (sequence,) = store.db.fetchone("SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence") or (0,)
    assert sequence == head, "a rolled-back append used up a position"
    streams: dict[str, list[int]] = {}
    announced: dict[str, int] = {}
    for record in records:
        streams.setdefault(record.stream_id, []).append(record.stream_version)
        if isinstance(record.event, OrderCreated):
            announced[record.stream_id] = int(
                record.event.shipping_address.removeprefix(EXTRA_PREFIX)
            )
    for stream_id, versions in streams.items():
        assert versions == list(range(1, len(versions) + 1)), f"{stream_id} versions {versions}"
        assert stream_id in announced, f"{stream_id} has no OrderCreated"
        assert len(versions) >= 1 + announced[stream_id], f"{stream_id}: partial append"


def rebuild(store: SqliteEventStore) -> tuple[Projector[OrderView], OrderReadModel]:
    """A projector from scratch into memory: the reference a resumed read model must equal."""
    model = OrderReadModel()
    return Projector(store, OrderViewProjection(), model, batch_size=1000), model


def check_reported_work_survived(
    store: SqliteEventStore, views: SqliteOrderViews, reported: list[str]
) -> None:
    """Every append and checkpoint the worker printed before it was killed is on disk."""
    for line in reported:
        kind, *values = line.split()
        if kind == "append":
            stream_id, version = values
            assert store.stream_version(stream_id) >= int(version), f"lost: {line}"
        else:
            assert kind == "project", line
            assert views.checkpoint >= int(values[0]), f"checkpoint went back: {line}"


def test_sigkill_mid_work_leaves_nothing_half_done(tmp_path: Path) -> None:
    rng = random.Random(RANDOM_SEED)
    db_path = tmp_path / "orders.sqlite3"
    for kill in range(KILLS):
        worker = Worker(db_path, seed=rng.randrange(1_000_000))
        assert worker.read_line() == "ready"
        # the worker goes on at once after each line: the kill lands inside its next step
        reported = [worker.read_line() for _ in range(rng.randint(1, 30))]
        assert worker.kill() == -signal.SIGKILL

        store = SqliteEventStore(db_path, order_event_registry())
        views = SqliteOrderViews(db_path)
        try:
            check_reported_work_survived(store, views, reported)
            check_no_partial_append(store)
            checkpoint, head = views.checkpoint, store.head
            assert 0 <= checkpoint <= head
            # the rows are exactly those of the events up to the checkpoint
            reference, expected = rebuild(store)
            reference.catch_up(until=checkpoint)
            assert views.rows() == expected.rows(), f"kill {kill}"

            projected = Projector(store, OrderViewProjection(), views, batch_size=50).catch_up()
            assert projected == head - checkpoint  # resumed from the checkpoint, not from 0
            reference.catch_up()
            assert views.checkpoint == reference.checkpoint == head
            assert views.rows() == expected.rows(), f"kill {kill}"
        finally:
            views.close()
            store.close()
