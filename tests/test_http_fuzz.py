"""A fuzzer, not hand-picked cases: schemathesis drives the app from its own OpenAPI schema.

Every operation gets valid and invalid requests (positive and negative generation), in
process, a bounded number of examples each, derandomized so a run repeats. Two checks hold for
every response: it is not a server error, and it matches the schema the app publishes (status
code documented, body of the documented shape). ``test_http.py`` keeps the cases the fuzzer
found once, and the ones it cannot send (NaN, lone surrogates).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the HTTP app needs the optional 'api' extra")
pytest.importorskip("schemathesis", reason="the fuzzer is in the 'test' extra")

import schemathesis
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from cqrs_lab.examples.orders import build_order_system
from cqrs_lab.examples.orders.commands import CreateOrder, OrderLine
from cqrs_lab.examples.orders.http import create_app
from cqrs_lab.examples.orders.sqlite_app import build_sqlite_order_system
from cqrs_lab.ids import SequentialIds

MAX_EXAMPLES = 20  # per operation and run: the whole file stays well under a minute on 2 cores
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


def serve(system: Any) -> Any:
    """The schema ``system``'s app serves, bound to the app for in-process calls.

    ``system`` gets one order, ``order-0001`` of customer ``ada``, to find. schemathesis calls
    the app without running its lifespan, so the projector is started here: a strong write
    waits for it rather than for its timeout.
    """
    tea = (OrderLine(product_id="tea", quantity=1, price=2.0),)
    system.commands.dispatch(CreateOrder(customer_id="ada", items=tea))
    system.projector.start()
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(system))


@pytest.fixture(scope="module")
def memory_api() -> Iterator[Any]:
    """The app over the in-memory Order system."""
    system = build_order_system()
    yield serve(system)
    system.projector.stop()


@pytest.fixture(scope="module")
def sqlite_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The app over the SQLite Order system."""
    database = tmp_path_factory.mktemp("fuzz") / "orders.sqlite3"
    system = build_sqlite_order_system(
        database, order_ids=SequentialIds("order"), synchronous="OFF"
    )
    yield serve(system)
    system.close()


OPERATIONS = [
    ("POST", "/orders"),
    ("POST", "/orders/{order_id}/items"),
    ("POST", "/orders/{order_id}/ship"),
    ("DELETE", "/orders/{order_id}"),
    ("GET", "/orders/search"),
    ("GET", "/orders/{order_id}"),
    ("GET", "/customers/{customer_id}/orders"),
]


# Invalid requests are refused before any backend is reached, so one backend is enough for
# them; valid ones reach both, the in-memory and the SQL query handlers.
RUNS = [("memory", "positive"), ("memory", "negative"), ("sqlite", "positive")]


def test_the_fuzzer_covers_every_operation_the_schema_lists(memory_api: Any) -> None:
    listed = [
        (operation.method.upper(), operation.path)
        for operation in (result.ok() for result in memory_api.get_all_operations())
    ]
    assert sorted(listed) == sorted(OPERATIONS)


# schemathesis's own pytest integration (schema.parametrize) does not run on pytest 9 yet:
# each operation's strategy is drawn from by a plain Hypothesis test instead.
@pytest.mark.parametrize(("backend", "mode"), RUNS)
@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_no_request_gets_a_500_and_every_response_matches_the_schema(
    request: pytest.FixtureRequest, method: str, path: str, backend: str, mode: str
) -> None:
    operation = request.getfixturevalue(f"{backend}_api")[path][method]

    @given(case=operation.as_strategy(generation_mode=schemathesis.GenerationMode(mode)))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def every_case(case: Any) -> None:
        case.call_and_validate(checks=CHECKS)

    every_case()


def test_the_checks_catch_a_500_and_a_body_off_the_schema() -> None:
    """The checks are live: a 500, and a body the schema does not describe, are reported."""
    broken = FastAPI()

    @broken.get("/boom")
    def boom() -> JSONResponse:
        return JSONResponse({"detail": "boom"}, status_code=500)

    @broken.get("/liar")
    def liar() -> int:
        return JSONResponse({"detail": "not a number"})  # type: ignore[return-value]

    loaded = schemathesis.openapi.from_asgi("/openapi.json", broken)
    failures = {}
    for path in ("/boom", "/liar"):
        with pytest.raises(BaseExceptionGroup) as found:
            loaded[path]["GET"].Case().call_and_validate(checks=CHECKS)
        failures[path] = str(found.value)
    assert "Server error" in failures["/boom"]
    assert "Response violates schema" in failures["/liar"]
