"""A real uvicorn process on 127.0.0.1 and a real HTTP client: the app as ``make api`` serves it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("uvicorn", reason="the HTTP app needs the optional 'api' extra")
pytest.importorskip("httpx", reason="the HTTP app needs the optional 'api' extra")

import httpx

from cqrs_lab.adapters.sqlite_store import SqliteEventStore
from cqrs_lab.examples.orders.events import order_event_registry
from cqrs_lab.examples.orders.http import DATABASE_ENV

HOST = "127.0.0.1"
STARTUP_DEADLINE = 20.0  # seconds for uvicorn to accept connections
REQUEST_TIMEOUT = 10.0


def free_port() -> int:
    """A port nothing listens on now (the kernel picks it when binding port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def start_uvicorn(database: Path, port: int) -> subprocess.Popen[bytes]:
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, DATABASE_ENV: str(database), "PYTHONPATH": str(root)}
    return subprocess.Popen(
        [
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
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_until_listening(process: subprocess.Popen[bytes], port: int) -> None:
    """Retry a TCP connect until it succeeds, the process dies, or the deadline passes."""
    deadline = time.monotonic() + STARTUP_DEADLINE
    while True:
        try:
            with socket.create_connection((HOST, port), timeout=1.0):
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"uvicorn did not listen on {HOST}:{port} within {STARTUP_DEADLINE} s")
        try:  # the pause between attempts doubles as a check that uvicorn is still alive
            process.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            continue
        errors = process.stderr.read().decode() if process.stderr else ""
        pytest.fail(f"uvicorn exited with {process.returncode} before listening:\n{errors}")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A running server's base URL and its SQLite file; stopped (SIGTERM) afterwards."""
    database = tmp_path / "api.sqlite3"
    for _attempt in range(3):  # another process may take the port between probe and bind
        port = free_port()
        process = start_uvicorn(database, port)
        try:
            wait_until_listening(process, port)
            break
        except pytest.fail.Exception:
            if process.poll() is None:
                raise
    else:
        pytest.fail("uvicorn could not bind a free port in 3 attempts")
    try:
        yield f"http://{HOST}:{port}", database
    finally:
        process.terminate()
        try:
            process.wait(timeout=REQUEST_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=REQUEST_TIMEOUT)
        if process.stderr is not None:
            process.stderr.close()
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it (newer versions) or exits 0
    assert process.returncode in (0, -signal.SIGTERM), process.returncode
    # the lifespan closed both connections: the last close checkpoints and removes the WAL
    assert not database.with_name(database.name + "-wal").exists()


def test_a_client_reads_its_own_write_over_real_http(server: tuple[str, Path]) -> None:
    base_url, database = server
    with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT) as client:
        created = client.post(
            "/orders",
            json={
                "customer_id": "ada",
                "items": [{"product_id": "tea", "quantity": 2, "price": 3.5}],
            },
            params={"consistency": "strong", "timeout": 5},
        )
        assert created.status_code == 201, created.text
        receipt = created.json()
        assert receipt["consistent"] is True
        assert receipt["position"] == 1

        order = client.get(f"/orders/{receipt['order_id']}")
        search = client.get("/orders/search", params={"q": "ada"})
        missing = client.get("/orders/nope")
        invalid = client.post("/orders", json={"customer_id": "ada", "items": []})
        docs = client.get("/openapi.json")

    assert order.status_code == 200
    assert (order.json()["total_amount"], order.json()["status"]) == (7.0, "open")
    assert search.status_code == 200
    assert [o["order_id"] for o in search.json()["items"]] == [receipt["order_id"]]
    assert missing.status_code == 404
    assert invalid.status_code == 422
    assert invalid.json()["detail"][0]["loc"] == ["body", "items"]
    assert "/orders/search" in docs.json()["paths"]
    # the write is in the server's SQLite file, not just in its memory
    with SqliteEventStore(database, order_event_registry()) as store:
        assert [r.stream_id for r in store.read_all()] == [receipt["order_id"]]
