"""The Order API through FastAPI's TestClient: every endpoint, status codes, read-your-writes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the HTTP app needs the optional 'api' extra")

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from cqrs_lab.examples.orders import build_order_system
from cqrs_lab.examples.orders.events import OrderCreated, OrderItemAdded
from cqrs_lab.examples.orders.http import ApiSettings, OrderBackend, create_app
from cqrs_lab.examples.orders.http_routes import router
from cqrs_lab.examples.orders.queries import MAX_PAGE
from cqrs_lab.examples.orders.sqlite_app import build_sqlite_order_system
from cqrs_lab.ids import SequentialIds

STRONG = {"consistency": "strong", "timeout": 5}


@pytest.fixture(params=["memory", "sqlite"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OrderBackend]:
    if request.param == "memory":
        yield build_order_system()
        return
    system = build_sqlite_order_system(
        tmp_path / "orders.sqlite3", order_ids=SequentialIds("order"), synchronous="NORMAL"
    )
    yield system
    system.close()


@pytest.fixture
def client(backend: OrderBackend) -> Iterator[TestClient]:
    with TestClient(create_app(backend)) as test_client:  # `with` runs the lifespan
        yield test_client


def order_body(customer: str = "ada", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer_id": customer,
        "items": [{"product_id": "tea", "quantity": 2, "price": 3.5}],
        "shipping_address": "1 Lane",
    }
    return body | changes


def create(client: TestClient, customer: str = "ada", **changes: Any) -> dict[str, Any]:
    response = client.post("/orders", json=order_body(customer, **changes), params=STRONG)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    assert result["consistent"] is True
    return result


def field_errors(response: Any) -> list[tuple[Any, ...]]:
    assert response.status_code == 422, response.text
    return [tuple(error["loc"]) for error in response.json()["detail"]]


def test_create_answers_201_with_the_order_id_and_the_receipt_position(
    client: TestClient,
) -> None:
    first = client.post("/orders", json=order_body())
    second = client.post("/orders", json=order_body("bob"))

    assert first.status_code == second.status_code == 201
    assert first.json() == {
        "order_id": "order-0001",
        "stream_version": 1,
        "position": 1,
        "command_id": first.json()["command_id"],
        "consistency": "eventual",
        "consistent": None,
        "projector_stopped": None,
    }
    assert first.json()["command_id"]
    assert (second.json()["order_id"], second.json()["position"]) == ("order-0002", 2)


def test_a_strong_write_is_readable_at_once(client: TestClient) -> None:
    created = create(client)

    response = client.get(f"/orders/{created['order_id']}")

    assert response.status_code == 200
    order = response.json()
    assert order["order_id"] == created["order_id"]
    assert (order["customer_id"], order["status"]) == ("ada", "open")
    assert (order["total_amount"], order["item_count"]) == (7.0, 1)
    assert order["product_ids"] == ["tea"]
    assert order["shipped_at"] is None


def test_a_strong_write_that_times_out_says_so_and_still_succeeds(
    backend: OrderBackend, client: TestClient
) -> None:
    backend.projector.stop()  # nothing projects now: the read model cannot catch up

    response = client.post(
        "/orders", json=order_body(), params={"consistency": "strong", "timeout": 0.05}
    )

    assert response.status_code == 201
    assert response.json()["consistent"] is False
    order_id = response.json()["order_id"]
    assert client.get(f"/orders/{order_id}").status_code == 404  # stale: not projected yet
    backend.projector.catch_up()
    assert client.get(f"/orders/{order_id}").status_code == 200


def test_a_strong_write_behind_a_stopped_projector_says_why_at_once_and_still_succeeds(
    backend: OrderBackend, client: TestClient
) -> None:
    ghost = OrderItemAdded(order_id="order-ghost", product_id="tea", quantity=1, price=1.0)
    backend.projector.store.append("order-ghost", [ghost])  # an item for an order never created

    response = client.post("/orders", json=order_body(), params=STRONG)

    assert response.status_code == 201, "the order is stored: the client must not send it again"
    body = response.json()
    assert body["consistent"] is False
    assert "projector 'order_views' has stopped" in body["projector_stopped"]
    assert "failed on event 1 (OrderItemAdded)" in body["projector_stopped"]
    assert backend.projector.store.head == 2


def test_add_item_changes_the_order(client: TestClient) -> None:
    order_id = create(client)["order_id"]

    response = client.post(
        f"/orders/{order_id}/items",
        json={"product_id": "cup", "quantity": 1, "price": 4.0},
        params=STRONG,
    )

    assert response.status_code == 200
    assert (response.json()["stream_version"], response.json()["consistent"]) == (2, True)
    order = client.get(f"/orders/{order_id}").json()
    assert (order["total_amount"], order["item_count"], order["product_ids"]) == (
        11.0,
        2,
        ["tea", "cup"],
    )


def test_cancel_takes_a_reason_and_a_second_cancel_conflicts(client: TestClient) -> None:
    order_id = create(client)["order_id"]

    cancelled = client.delete(f"/orders/{order_id}", params={"reason": "too slow"} | STRONG)
    again = client.delete(f"/orders/{order_id}", params={"reason": "again"})
    add_after = client.post(
        f"/orders/{order_id}/items", json={"product_id": "cup", "quantity": 1, "price": 4.0}
    )

    assert cancelled.status_code == 200
    assert client.get(f"/orders/{order_id}").json()["status"] == "cancelled"
    assert again.status_code == 409
    assert again.json()["detail"] == (
        f"cannot cancel order {order_id!r}: it is cancelled, only an open order can change"
    )
    assert add_after.status_code == 409
    assert "cannot add an item to order" in add_after.json()["detail"]


def test_cancel_without_a_reason_is_a_422_naming_reason(client: TestClient) -> None:
    order_id = create(client)["order_id"]
    assert field_errors(client.delete(f"/orders/{order_id}")) == [("query", "reason")]


def test_unknown_orders_are_404_with_the_domain_message(client: TestClient) -> None:
    missing_add = client.post(
        "/orders/nope/items", json={"product_id": "cup", "quantity": 1, "price": 4.0}
    )
    missing_cancel = client.delete("/orders/nope", params={"reason": "x"})
    missing_get = client.get("/orders/nope")

    assert missing_add.status_code == missing_cancel.status_code == missing_get.status_code == 404
    assert missing_add.json() == {"detail": "order 'nope' not found"}
    assert missing_get.json() == {"detail": "order 'nope' not found"}


@pytest.mark.parametrize(
    ("change", "location"),
    [
        ({"items": [{"product_id": "tea", "quantity": 0, "price": 1.0}]}, ("items", 0, "quantity")),
        (
            {"items": [{"product_id": "tea", "quantity": "2", "price": 1.0}]},
            ("items", 0, "quantity"),
        ),
        (
            {"items": [{"product_id": "   ", "quantity": 1, "price": 1.0}]},
            ("items", 0, "product_id"),
        ),
        ({"items": [{"product_id": "tea", "quantity": 1, "price": -1}]}, ("items", 0, "price")),
        ({"items": []}, ("items",)),
        ({"customer_id": ""}, ("customer_id",)),
        ({"coupon": "FREE"}, ("coupon",)),
    ],
)
def test_invalid_orders_are_422_naming_the_field(
    client: TestClient, change: dict[str, Any], location: tuple[Any, ...]
) -> None:
    response = client.post("/orders", json=order_body(**change))
    assert field_errors(response) == [("body", *location)]


def test_bad_consistency_options_are_422(client: TestClient) -> None:
    weird = client.post("/orders", json=order_body(), params={"consistency": "psychic"})
    too_long = client.post("/orders", json=order_body(), params={"timeout": 3600})
    not_a_number = client.post("/orders", json=order_body(), params={"timeout": "nan"})
    assert field_errors(weird) == [("query", "consistency")]
    assert field_errors(too_long) == [("query", "timeout")]
    assert field_errors(not_a_number) == [("query", "timeout")]
    assert not_a_number.json()["detail"][0]["msg"] == "Input should be a finite number"


def test_customer_orders_are_paged_newest_first_and_filtered(client: TestClient) -> None:
    ids = [create(client, "ada")["order_id"] for _ in range(3)]
    create(client, "bob")
    client.delete(f"/orders/{ids[0]}", params={"reason": "no"} | STRONG)

    first = client.get("/customers/ada/orders", params={"page_size": 2}).json()
    second = client.get("/customers/ada/orders", params={"page_size": 2, "page": 2}).json()
    open_only = client.get("/customers/ada/orders", params={"status": "open"}).json()

    assert [o["order_id"] for o in first["items"]] == [ids[2], ids[1]]
    assert (first["total"], first["page"], first["total_pages"]) == (3, 1, 2)
    assert [o["order_id"] for o in second["items"]] == [ids[0]]
    assert [o["order_id"] for o in open_only["items"]] == [ids[2], ids[1]]
    assert client.get("/customers/nobody/orders").json()["total"] == 0


def test_customer_orders_reject_bad_paging_and_statuses(client: TestClient) -> None:
    assert field_errors(client.get("/customers/ada/orders", params={"page_size": 0})) == [
        ("query", "page_size")
    ]
    assert field_errors(client.get("/customers/ada/orders", params={"page": 0})) == [
        ("query", "page")
    ]
    assert field_errors(client.get("/customers/ada/orders", params={"status": "lost"})) == [
        ("query", "status")
    ]


def test_search_is_reachable_and_not_taken_for_an_order_id(client: TestClient) -> None:
    cheap = create(client, "ada")["order_id"]
    dear = create(client, "bob", items=[{"product_id": "teapot", "quantity": 1, "price": 30.0}])[
        "order_id"
    ]
    create(client, "cy", items=[{"product_id": "cup", "quantity": 1, "price": 1.0}])

    response = client.get(
        "/orders/search", params={"q": "TEA", "sort_by": "total_amount", "sort_order": "asc"}
    )

    assert response.status_code == 200, response.text  # not 404 "order 'search' not found"
    page = response.json()
    assert [o["order_id"] for o in page["items"]] == [cheap, dear]
    assert page["total"] == 2
    filtered = client.get("/orders/search", params={"min_total": 10}).json()
    assert [o["order_id"] for o in filtered["items"]] == [dear]


def test_search_rejects_a_sort_field_off_the_whitelist_without_echoing_it(
    client: TestClient,
) -> None:
    create(client)
    hostile = "created_at; DROP TABLE order_views; --"

    response = client.get("/orders/search", params={"sort_by": hostile})

    assert field_errors(response) == [("query", "sort_by")]
    message = response.json()["detail"][0]["msg"]
    assert message.startswith("sort_by must be one of")
    assert "DROP" not in message
    assert client.get("/orders/search").json()["total"] == 1  # the table is still there


def test_search_text_with_sql_and_wildcards_is_harmless(client: TestClient) -> None:
    create(client, "ada")
    for text in ["'; DROP TABLE order_views; --", "%", "_"]:
        response = client.get("/orders/search", params={"q": text})
        assert response.status_code == 200
        assert response.json()["total"] == 0
    assert client.get("/orders/search").json()["total"] == 1


def test_search_checks_its_bounds(client: TestClient) -> None:
    response = client.get("/orders/search", params={"min_total": 5, "max_total": 1})
    assert field_errors(response) == [("query", "min_total")]
    assert field_errors(client.get("/orders/search", params={"sort_order": "up"})) == [
        ("query", "sort_order")
    ]


def test_search_is_declared_before_the_order_id_route() -> None:
    gets = [
        route.path
        for route in router.routes  # the app includes this router: its routes match in order
        if isinstance(route, APIRoute) and "GET" in (route.methods or ())
    ]
    assert gets.index("/orders/search") < gets.index("/orders/{order_id}")


def test_declared_after_the_order_id_route_search_would_be_shadowed() -> None:
    """The playbook's order, reproduced: the path parameter swallows "search"."""
    playbook = FastAPI()

    @playbook.get("/orders/{order_id}")
    def get_order(order_id: str) -> dict[str, str]:
        return {"handler": "get_order", "order_id": order_id}

    @playbook.get("/orders/search")
    def search() -> dict[str, str]:
        return {"handler": "search"}

    with TestClient(playbook) as shadowed:
        assert shadowed.get("/orders/search").json() == {
            "handler": "get_order",
            "order_id": "search",
        }


def test_openapi_docs_list_every_endpoint(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()

    assert set(schema["paths"]) == {
        "/orders",
        "/orders/{order_id}/items",
        "/orders/{order_id}/ship",
        "/orders/{order_id}",
        "/orders/search",
        "/customers/{customer_id}/orders",
    }
    assert set(schema["paths"]["/orders/{order_id}"]) == {"get", "delete"}
    assert "201" in schema["paths"]["/orders"]["post"]["responses"]
    assert client.get("/docs").status_code == 200


def test_the_lifespan_runs_the_projector_and_stops_it(backend: OrderBackend) -> None:
    app = create_app(backend)
    assert not backend.projector.running
    with TestClient(app):
        assert backend.projector.running
    assert not backend.projector.running


def test_settings_build_a_sqlite_app_that_keeps_its_orders(tmp_path: Path) -> None:
    settings = ApiSettings(database=str(tmp_path / "api.sqlite3"), synchronous="NORMAL")
    with TestClient(create_app(settings)) as first:
        order_id = create(first)["order_id"]
    with TestClient(create_app(settings)) as second:
        order = second.get(f"/orders/{order_id}")
    assert order.status_code == 200
    assert order.json()["total_amount"] == 7.0


# -- issue 12: no bad input reaches a 500 ---------------------------------------------------------

LINE = '{"product_id": "tea", "quantity": QUANTITY, "price": PRICE}'
UNREPRESENTABLE = ["NaN", "Infinity", "-Infinity", "1e400"]


def raw_post(client: TestClient, url: str, text: str) -> Any:
    """POST ``text`` as it is: json= cannot send NaN or a lone surrogate on purpose."""
    return client.post(url, content=text.encode(), headers={"content-type": "application/json"})


def raw_line(quantity: str = "1", price: str = "2.5") -> str:
    return LINE.replace("QUANTITY", quantity).replace("PRICE", price)


def assert_refused(response: Any, location: tuple[Any, ...], expected: str) -> None:
    """422 naming the field and saying what it expected; the body is valid strict JSON."""
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert tuple(error["loc"]) == location
    assert expected in error["msg"]
    json.loads(response.text, parse_constant=lambda name: pytest.fail(f"{name} in the body"))


@pytest.mark.parametrize("number", UNREPRESENTABLE)
@pytest.mark.parametrize(
    ("field", "quantity", "expected"),
    [("price", "1", "finite number"), ("quantity", None, "valid integer")],
)
def test_a_number_json_cannot_carry_is_a_422_not_a_500(
    backend: OrderBackend,
    client: TestClient,
    number: str,
    field: str,
    quantity: str | None,
    expected: str,
) -> None:
    order_id = create(client)["order_id"]
    head = backend.projector.store.head
    line = raw_line(quantity or number, number if field == "price" else "2.5")

    created = raw_post(client, "/orders", f'{{"customer_id": "ada", "items": [{line}]}}')
    added = raw_post(client, f"/orders/{order_id}/items", line)

    assert_refused(created, ("body", "items", 0, field), expected)
    assert_refused(added, ("body", field), expected)
    assert created.json()["detail"][0]["input"] in {"nan", "inf", "-inf"}
    assert backend.projector.store.head == head


@pytest.mark.parametrize(
    ("body", "location"),
    [
        (f'{{"customer_id": "\\ud800", "items": [{raw_line()}]}}', ("body", "customer_id")),
        (
            f'{{"customer_id": "a", "items": [{raw_line()}], "shipping_address": "x\\udfff"}}',
            ("body", "shipping_address", "text"),
        ),
        (
            '{"customer_id": "a", "items": [{"product_id": "\\ud800", "quantity": 1, "price": 1}]}',
            ("body", "items", 0, "product_id"),
        ),
    ],
)
def test_a_lone_surrogate_is_a_422_that_shows_it_escaped(
    backend: OrderBackend, client: TestClient, body: str, location: tuple[Any, ...]
) -> None:
    head = backend.projector.store.head

    response = raw_post(client, "/orders", body)

    assert_refused(response, location, "valid string")
    assert response.json()["detail"][0]["input"].startswith(("\\ud800", "x\\udfff"))
    assert backend.projector.store.head == head


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"customer_id": "\xff"}', "expected UTF-8 text, found byte 0xff"),
        (b'{"customer_id": ' + b"1" * 5000 + b"}", "Exceeds the limit (4300 digits)"),
        (b"[" * 100_000, "maximum recursion depth exceeded"),
    ],
)
def test_a_body_python_cannot_read_as_json_is_a_422_not_a_400(
    backend: OrderBackend, client: TestClient, body: bytes, expected: str
) -> None:
    """The fuzzer found these: FastAPI answers them with a bare 400 naming no field."""
    response = client.post("/orders", content=body, headers={"content-type": "application/json"})

    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert (error["loc"][0], error["type"]) == ("body", "json_invalid")
    assert expected in error["ctx"]["error"]
    assert backend.projector.store.head == 0


@pytest.mark.parametrize("url", ["/orders/search", "/customers/ann/orders"])
@pytest.mark.parametrize("page", [10**20, 4611686018427387904, MAX_PAGE + 1])
def test_a_page_past_the_bound_is_a_422_on_both_backends(
    client: TestClient, url: str, page: int
) -> None:
    create(client, "ann")

    response = client.get(url, params={"page": page})

    assert_refused(response, ("query", "page"), f"less than or equal to {MAX_PAGE}")
    assert client.get(url, params={"page": MAX_PAGE}).json()["items"] == []


# -- issue 12: the playbook's clients work unchanged ----------------------------------------------


def test_a_playbook_client_may_send_the_shipping_address_as_an_object(
    backend: OrderBackend, client: TestClient
) -> None:
    address = {"street": "1 Lane", "city": "X", "zip": "90210"}

    response = client.post("/orders", json=order_body(shipping_address=address), params=STRONG)

    assert response.status_code == 201, response.text
    (recorded,) = backend.projector.store.read_stream(response.json()["order_id"])
    assert isinstance(recorded.event, OrderCreated)
    assert json.loads(recorded.event.shipping_address) == address


@pytest.mark.parametrize(
    ("address", "location"),
    [
        ({"city": ["X"]}, ("body", "shipping_address", "object", "city")),
        ({"": "X"}, ("body", "shipping_address", "object", "", "[key]")),
        (7, ("body", "shipping_address", "text")),
        ("x" * 501, ("body", "shipping_address", "text")),
    ],
)
def test_a_shipping_address_of_another_shape_is_a_422_naming_the_shape(
    backend: OrderBackend, client: TestClient, address: Any, location: tuple[Any, ...]
) -> None:
    response = client.post("/orders", json=order_body(shipping_address=address))

    assert field_errors(response) == [location]
    assert backend.projector.store.head == 0


def test_a_playbook_client_may_add_an_item_with_query_parameters(client: TestClient) -> None:
    order_id = create(client)["order_id"]

    response = client.post(
        f"/orders/{order_id}/items",
        params={"product_id": "cup", "quantity": 2, "price": 4.0} | STRONG,
    )

    assert response.status_code == 200, response.text
    order = client.get(f"/orders/{order_id}").json()
    assert (order["total_amount"], order["product_ids"]) == (15.0, ["tea", "cup"])


def test_an_item_given_neither_way_names_every_missing_field(
    backend: OrderBackend, client: TestClient
) -> None:
    order_id = create(client)["order_id"]
    head = backend.projector.store.head

    partial = client.post(f"/orders/{order_id}/items", params={"product_id": "cup"})

    assert field_errors(partial) == [("query", "quantity"), ("query", "price")]
    assert "or as a JSON body" in partial.json()["detail"][0]["msg"]
    assert backend.projector.store.head == head


def test_an_item_given_both_ways_is_a_422(backend: OrderBackend, client: TestClient) -> None:
    order_id = create(client)["order_id"]
    head = backend.projector.store.head

    both = client.post(
        f"/orders/{order_id}/items",
        json={"product_id": "cup", "quantity": 1, "price": 4.0},
        params={"product_id": "pot", "quantity": 1, "price": 9.0},
    )

    assert field_errors(both) == [("query", "product_id")]
    assert "not both" in both.json()["detail"][0]["msg"]
    assert backend.projector.store.head == head


@pytest.mark.parametrize(
    ("params", "location"),
    [
        ({"quantity": 0, "price": 1.0}, ("query", "quantity")),
        ({"quantity": 1, "price": "nan"}, ("query", "price")),
        ({"quantity": 1, "price": "1e400"}, ("query", "price")),
    ],
)
def test_query_parameter_items_are_checked_like_body_items(
    backend: OrderBackend, client: TestClient, params: dict[str, Any], location: tuple[str, str]
) -> None:
    order_id = create(client)["order_id"]
    head = backend.projector.store.head

    response = client.post(f"/orders/{order_id}/items", params={"product_id": "cup"} | params)

    assert field_errors(response) == [location]
    assert backend.projector.store.head == head


def test_ship_ships_an_open_order(client: TestClient) -> None:
    order_id = create(client)["order_id"]

    response = client.post(f"/orders/{order_id}/ship", params=STRONG)

    assert response.status_code == 200, response.text
    assert (response.json()["stream_version"], response.json()["consistent"]) == (2, True)
    order = client.get(f"/orders/{order_id}").json()
    assert order["status"] == "shipped"
    assert order["shipped_at"] is not None


def test_shipping_a_cancelled_order_is_a_409_and_stores_nothing(
    backend: OrderBackend, client: TestClient
) -> None:
    order_id = create(client)["order_id"]
    client.delete(f"/orders/{order_id}", params={"reason": "no"} | STRONG)
    head = backend.projector.store.head

    response = client.post(f"/orders/{order_id}/ship")

    assert response.status_code == 409
    assert response.json()["detail"] == (
        f"cannot ship order {order_id!r}: it is cancelled, only an open order can change"
    )
    assert backend.projector.store.head == head


def test_shipping_an_unknown_order_is_a_404(client: TestClient) -> None:
    response = client.post("/orders/nope/ship")
    assert response.status_code == 404
    assert response.json() == {"detail": "order 'nope' not found"}
