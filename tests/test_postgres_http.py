"""``make api`` on PostgreSQL: two uvicorn workers, the projector in a process of its own, and a
client that reads its own writes over real HTTP whichever worker answers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

pytest.importorskip("uvicorn", reason="the HTTP app needs the optional 'api' extra")
pytest.importorskip("psycopg", reason="the postgres extra is not installed")

import httpx
from postgres_processes import ROOT, Child
from test_http_uvicorn import HOST, REQUEST_TIMEOUT, free_port, wait_until_listening

from cqrs_lab.examples.orders.http import DATABASE_ENV, ApiSettings

WORKERS = 2
WRITES = 8


@pytest.fixture
def api(postgres_url: str) -> Iterator[str]:
    """The Order API served by uvicorn with two workers on the module's database."""
    env = {**os.environ, DATABASE_ENV: postgres_url, "PYTHONPATH": str(ROOT)}
    port = free_port()
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", "cqrs_lab.examples.orders.http:create_default_app"),
            *("--factory", "--host", HOST, "--port", str(port), "--workers", str(WORKERS)),
            *("--log-level", "warning"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until_listening(process, port)
        yield f"http://{HOST}:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=REQUEST_TIMEOUT * 2)
        finally:
            if process.stderr is not None:
                print(process.stderr.read().decode())  # shown if the test failed
                process.stderr.close()
    assert process.returncode in (0, -signal.SIGTERM), process.returncode


def test_settings_tell_a_postgres_url_from_a_sqlite_file() -> None:
    assert ApiSettings("postgresql://127.0.0.1/test").on_postgres
    assert not ApiSettings("orders.sqlite3").on_postgres


def test_strong_writes_are_read_back_through_any_worker(postgres_url: str, api: str) -> None:
    projector = Child.projector(postgres_url)
    line = {"product_id": "tea", "quantity": 2, "price": 3.5}
    with httpx.Client(base_url=api, timeout=REQUEST_TIMEOUT) as client:
        for n in range(WRITES):
            created = client.post(
                "/orders",
                json={"customer_id": f"c{n}", "items": [line]},
                params={"consistency": "strong", "timeout": REQUEST_TIMEOUT / 2},
            )
            assert created.status_code == 201, created.text
            receipt = created.json()
            assert receipt["consistent"] is True, receipt  # the projector process's NOTIFY
            order = client.get(f"/orders/{receipt['order_id']}")  # any worker: already there
            assert order.status_code == 200 and order.json()["customer_id"] == f"c{n}"
        search = client.get("/orders/search", params={"page_size": 100})
    assert search.json()["total"] == WRITES
    assert projector.terminate() == 0
    assert projector.rest()[-1].startswith("stopped order_views at checkpoint ")
