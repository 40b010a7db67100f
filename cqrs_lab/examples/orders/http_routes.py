"""The Order API's endpoints: commands (POST, DELETE) write events, queries (GET) read views.

Each write dispatches through :func:`cqrs_lab.read_your_writes.dispatch` and answers with the
receipt's global ``position``; ``?consistency=strong&timeout=2`` also waits for the read model.
``/orders/search`` is declared before ``/orders/{order_id}``: routes match in the order they
are declared, and the playbook's Template 3, which declares it after, can never reach it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal, Protocol

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Request
from fastapi import status as http
from fastapi.exceptions import RequestValidationError

from cqrs_lab.command_bus import CommandBus
from cqrs_lab.consistency import ConsistencyWaiter
from cqrs_lab.examples.orders.commands import (
    AddOrderItem,
    CancelOrder,
    CreateOrder,
    OrderLine,
    ShipOrder,
)
from cqrs_lab.examples.orders.http_errors import JsonBodyRoute
from cqrs_lab.examples.orders.http_models import (
    MAX_PRICE,
    MAX_QUANTITY,
    AddItemRequest,
    CreateOrderRequest,
    ErrorMessage,
    OrderResponse,
    PageResponse,
    WriteResponse,
    address_text,
    order_response,
    page_response,
)
from cqrs_lab.examples.orders.queries import (
    MAX_PAGE,
    MAX_PAGE_SIZE,
    SORTABLE_FIELDS,
    GetCustomerOrders,
    GetOrderById,
    SearchOrders,
)
from cqrs_lab.examples.orders.views import OrderView
from cqrs_lab.messages import Command
from cqrs_lab.projector import Projector
from cqrs_lab.query_bus import QueryBus
from cqrs_lab.read_your_writes import dispatch

__all__ = ["MAX_TIMEOUT", "OrderBackend", "WriteOptions", "get_backend", "router", "write_options"]

MAX_TIMEOUT = 30.0
"""The longest ``timeout`` (seconds) a strong write may ask to wait."""


class OrderBackend(Protocol):
    """What the app needs of a wired Order system (both ``build_*order_system`` give one)."""

    commands: CommandBus
    queries: QueryBus
    projector: Projector[OrderView]
    waiter: ConsistencyWaiter


def get_backend(request: Request) -> OrderBackend:
    """The system the app serves (a dependency of every endpoint)."""
    backend: OrderBackend | None = request.app.state.backend
    if backend is None:
        raise HTTPException(http.HTTP_503_SERVICE_UNAVAILABLE, "the app has not started")
    return backend


@dataclass(frozen=True, slots=True)
class WriteOptions:
    """``?consistency=...&timeout=...`` of a write."""

    consistency: Literal["eventual", "strong"]
    timeout: float


def write_options(
    consistency: Annotated[
        Literal["eventual", "strong"],
        Query(description="strong: wait for the read model before answering"),
    ] = "eventual",
    timeout: Annotated[
        float,
        Query(
            ge=0,
            le=MAX_TIMEOUT,
            allow_inf_nan=False,
            description="seconds a strong write waits at most",
        ),
    ] = 1.0,
) -> WriteOptions:
    """The consistency options every write endpoint takes."""
    return WriteOptions(consistency, timeout)


def _dispatch(backend: OrderBackend, command: Command, options: WriteOptions) -> WriteResponse:
    result = dispatch(
        backend.commands,
        backend.waiter,
        command,
        consistency=options.consistency,
        timeout=options.timeout,
    )
    receipt = result.receipt
    return WriteResponse(
        order_id=receipt.stream_id,
        stream_version=receipt.stream_version,
        position=receipt.position,
        command_id=receipt.command_id,
        consistency=options.consistency,
        consistent=result.caught_up,
        projector_stopped=None if result.stopped is None else str(result.stopped),
    )


# Module level: FastAPI resolves these string annotations (this module uses
# `from __future__ import annotations`) in the module's globals.
Backend = Annotated[OrderBackend, Depends(get_backend)]
Options = Annotated[WriteOptions, Depends(write_options)]
OrderId = Annotated[str, Path(min_length=1, max_length=200)]
PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE)]
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
Status = Literal["open", "shipped", "cancelled"]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorMessage, "description": "no such order"}
}
NOT_OPEN: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorMessage, "description": "the order is not open; nothing was stored"}
}

router = APIRouter(route_class=JsonBodyRoute)


# -- commands ------------------------------------------------------------------------------------


@router.post(
    "/orders",
    status_code=http.HTTP_201_CREATED,
    tags=["commands"],
    responses={
        409: {"model": ErrorMessage, "description": "an Order rule was broken; nothing stored"}
    },
)
def create_order(body: CreateOrderRequest, backend: Backend, options: Options) -> WriteResponse:
    """Open an order; answers with its id and the position to wait for."""
    command = CreateOrder(
        customer_id=body.customer_id,
        items=tuple(
            OrderLine(product_id=i.product_id, quantity=i.quantity, price=i.price)
            for i in body.items
        ),
        shipping_address=address_text(body.shipping_address),
    )
    return _dispatch(backend, command, options)


_ONE_WAY = "give the line either as a JSON body or as query parameters, not both"
_BOTH_WAYS = (
    "Field required: give product_id, quantity and price as query parameters "
    "(the playbook's way) or as a JSON body"
)


def _item_line(
    body: AddItemRequest | None,
    product_id: str | None,
    quantity: int | None,
    price: float | None,
) -> OrderLine:
    """The line to add, from the body or from the query; 422 unless exactly one gives it."""
    given = {"product_id": product_id, "quantity": quantity, "price": price}
    if body is not None:
        extra = [name for name, value in given.items() if value is not None]
        if extra:
            error = {"type": "one_way", "loc": ("query", extra[0]), "msg": _ONE_WAY}
            raise RequestValidationError([error | {"input": given[extra[0]]}])
        return OrderLine(product_id=body.product_id, quantity=body.quantity, price=body.price)
    if product_id is None or quantity is None or price is None:
        missing = [name for name, value in given.items() if value is None]
        raise RequestValidationError(
            [{"type": "missing", "loc": ("query", name), "msg": _BOTH_WAYS} for name in missing]
        )
    return OrderLine(product_id=product_id, quantity=quantity, price=price)


@router.post("/orders/{order_id}/items", tags=["commands"], responses=NOT_FOUND | NOT_OPEN)
def add_item(
    order_id: OrderId,
    backend: Backend,
    options: Options,
    body: Annotated[AddItemRequest | None, Body()] = None,
    product_id: Annotated[
        str | None,
        Query(min_length=1, max_length=200, pattern=r"\S", description="with no body"),
    ] = None,
    quantity: Annotated[int | None, Query(gt=0, le=MAX_QUANTITY, description="with no body")] = (
        None
    ),
    price: Annotated[
        float | None,
        Query(ge=0, le=MAX_PRICE, allow_inf_nan=False, description="with no body"),
    ] = None,
) -> WriteResponse:
    """Add a line to an open order: a JSON body, or Template 3's query parameters."""
    line = _item_line(body, product_id, quantity, price)
    command = AddOrderItem(
        order_id=order_id, product_id=line.product_id, quantity=line.quantity, price=line.price
    )
    return _dispatch(backend, command, options)


@router.post("/orders/{order_id}/ship", tags=["commands"], responses=NOT_FOUND | NOT_OPEN)
def ship_order(order_id: OrderId, backend: Backend, options: Options) -> WriteResponse:
    """Ship an open order (a cancelled or shipped one is a 409)."""
    return _dispatch(backend, ShipOrder(order_id=order_id), options)


@router.delete("/orders/{order_id}", tags=["commands"], responses=NOT_FOUND | NOT_OPEN)
def cancel_order(
    order_id: OrderId,
    reason: Annotated[str, Query(min_length=1, max_length=500)],
    backend: Backend,
    options: Options,
) -> WriteResponse:
    """Cancel an open order, saying why."""
    return _dispatch(backend, CancelOrder(order_id=order_id, reason=reason), options)


# -- queries -------------------------------------------------------------------------------------


# Declared before /orders/{order_id}: routes match in the order they are declared, and the path
# parameter would otherwise take "search" as an order id.
@router.get("/orders/search", tags=["queries"])
def search_orders(
    backend: Backend,
    q: Annotated[str, Query(max_length=200, description="part of a customer or product id")] = "",
    status: Status | None = None,
    min_total: Annotated[float | None, Query(allow_inf_nan=False)] = None,
    max_total: Annotated[float | None, Query(allow_inf_nan=False)] = None,
    sort_by: Annotated[str, Query(description=f"one of {', '.join(SORTABLE_FIELDS)}")] = (
        "created_at"
    ),
    sort_order: Literal["asc", "desc"] = "desc",
    page: PageNumber = 1,
    page_size: PageSize = 20,
) -> PageResponse:
    """A page of the orders matching every filter, sorted by a whitelisted field."""
    query = SearchOrders(
        text=q,
        status=status,
        min_total=min_total,
        max_total=max_total,
        sort_by=sort_by,
        descending=sort_order == "desc",
        page=page,
        page_size=page_size,
    )
    return page_response(backend.queries.dispatch(query))


@router.get("/orders/{order_id}", tags=["queries"], responses=NOT_FOUND)
def get_order(order_id: OrderId, backend: Backend) -> OrderResponse:
    """One order as the read model shows it now (404 until the projector has seen it)."""
    view = backend.queries.dispatch(GetOrderById(order_id=order_id))
    if view is None:
        raise HTTPException(http.HTTP_404_NOT_FOUND, f"order {order_id!r} not found")
    return order_response(view)


@router.get("/customers/{customer_id}/orders", tags=["queries"])
def get_customer_orders(
    customer_id: Annotated[str, Path(min_length=1, max_length=200)],
    backend: Backend,
    status: Status | None = None,
    page: PageNumber = 1,
    page_size: PageSize = 20,
) -> PageResponse:
    """A page of one customer's orders, newest first."""
    query = GetCustomerOrders(
        customer_id=customer_id, status=status, page=page, page_size=page_size
    )
    return page_response(backend.queries.dispatch(query))
