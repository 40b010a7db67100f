"""The playbook's Template 3 as a working FastAPI app over the Order example.

Needs the optional ``api`` extra (``pip install -e '.[api]'``); nothing else in the kit imports
this module. :func:`create_app` takes a wired system -- the in-memory
:func:`~cqrs_lab.examples.orders.app.build_order_system` or the SQLite
:func:`~cqrs_lab.examples.orders.sqlite_app.build_sqlite_order_system` -- or :class:`ApiSettings`
naming a SQLite file. Its lifespan runs the projector in a background thread.

Every write answers with the receipt's global ``position``, the read-your-writes token; with
``?consistency=strong&timeout=2`` it also waits for the read model and says in ``consistent``
whether it caught up in time. The write has succeeded either way.

Serve it for real with ``make api``, i.e.
``uvicorn cqrs_lab.examples.orders.http:create_default_app --factory --host 127.0.0.1``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, Protocol

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi import status as http
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cqrs_lab.adapters.sqlite_database import Synchronous
from cqrs_lab.command_bus import CommandBus
from cqrs_lab.consistency import ConsistencyWaiter
from cqrs_lab.errors import ConcurrencyError, DomainError, InvalidQueryError
from cqrs_lab.examples.orders.commands import AddOrderItem, CancelOrder, CreateOrder, OrderLine
from cqrs_lab.examples.orders.handlers import OrderNotFoundError
from cqrs_lab.examples.orders.queries import (
    MAX_PAGE_SIZE,
    SORTABLE_FIELDS,
    GetCustomerOrders,
    GetOrderById,
    Page,
    SearchOrders,
)
from cqrs_lab.examples.orders.sqlite_app import build_sqlite_order_system
from cqrs_lab.examples.orders.views import OrderView
from cqrs_lab.projector import Projector
from cqrs_lab.query_bus import QueryBus
from cqrs_lab.read_your_writes import dispatch

__all__ = [
    "ApiSettings",
    "OrderBackend",
    "create_app",
    "create_default_app",
]

DEFAULT_DATABASE = "orders.sqlite3"
"""The SQLite file the app uses when told nothing else."""

DATABASE_ENV = "CQRS_LAB_API_DB"
"""The environment variable :func:`create_default_app` reads the SQLite file name from."""

MAX_TIMEOUT = 30.0
"""The longest ``timeout`` (seconds) a strong write may ask to wait."""


class OrderBackend(Protocol):
    """What the app needs of a wired Order system (both ``build_*order_system`` give one)."""

    commands: CommandBus
    queries: QueryBus
    projector: Projector[OrderView]
    waiter: ConsistencyWaiter


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """How to build the app's own system: the SQLite file, and how often it waits for the disk."""

    database: str = DEFAULT_DATABASE
    synchronous: Synchronous = "FULL"

    @classmethod
    def from_env(cls) -> ApiSettings:
        """Settings from ``CQRS_LAB_API_DB`` (read when called, never at import)."""
        return cls(database=os.environ.get(DATABASE_ENV, DEFAULT_DATABASE))


# -- request and response models ----------------------------------------------------------------

NonBlank = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"\S")]
Quantity = Annotated[int, Field(gt=0, le=1_000_000, strict=True)]
Price = Annotated[float, Field(ge=0, le=1e9, allow_inf_nan=False)]


class OrderLineModel(BaseModel):
    """One product, how many, at what unit price."""

    model_config = ConfigDict(extra="forbid")

    product_id: NonBlank
    quantity: Quantity
    price: Price


class CreateOrderRequest(BaseModel):
    """A new order: the customer and at least one line."""

    model_config = ConfigDict(extra="forbid")

    customer_id: NonBlank
    items: Annotated[list[OrderLineModel], Field(min_length=1, max_length=100)]
    shipping_address: Annotated[str, StringConstraints(max_length=500)] = ""


class AddItemRequest(OrderLineModel):
    """A line to add to an open order."""


class WriteResponse(BaseModel):
    """What a write did: the order, the stream version, and the global position to wait for."""

    order_id: str
    stream_version: int
    position: int
    command_id: str
    consistency: Literal["eventual", "strong"]
    consistent: bool | None = Field(
        description="strong writes: whether the read model caught up within the timeout; "
        "null for eventual writes"
    )


class OrderResponse(BaseModel):
    """One order as the read model shows it."""

    order_id: str
    customer_id: str
    status: str
    total_amount: float
    item_count: int
    created_at: datetime
    shipped_at: datetime | None
    product_ids: list[str]


class PageResponse(BaseModel):
    """One page of orders and how many there are in all."""

    items: list[OrderResponse]
    total: int
    page: int
    page_size: int
    total_pages: int


def _order(view: OrderView) -> OrderResponse:
    return OrderResponse(
        order_id=view.order_id,
        customer_id=view.customer_id,
        status=str(view.status),
        total_amount=view.total_amount,
        item_count=view.item_count,
        created_at=view.created_at,
        shipped_at=view.shipped_at,
        product_ids=list(view.product_ids),
    )


def _page(page: Page[OrderView]) -> PageResponse:
    return PageResponse(
        items=[_order(view) for view in page.items],
        total=page.total,
        page=page.page,
        page_size=page.page_size,
        total_pages=page.total_pages,
    )


# -- the consistency a write asks for -----------------------------------------------------------


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
        float, Query(ge=0, le=MAX_TIMEOUT, description="seconds a strong write waits at most")
    ] = 1.0,
) -> WriteOptions:
    """The consistency options every write endpoint takes."""
    return WriteOptions(consistency, timeout)


def _dispatch(backend: OrderBackend, command: Any, options: WriteOptions) -> WriteResponse:
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
    )


# -- errors -------------------------------------------------------------------------------------


def _invalid_query(request: Request, error: Exception) -> JSONResponse:
    message = str(error)
    field = message.split(" ", 1)[0]  # the query's messages open with the argument's name
    location = ["query", field] if field.isidentifier() else ["query"]
    return JSONResponse(
        status_code=422,  # the constant's name changed between Starlette versions
        content={"detail": [{"loc": location, "msg": message, "type": "invalid_query"}]},
    )


def _conflict(request: Request, error: Exception) -> JSONResponse:
    return JSONResponse(status_code=http.HTTP_409_CONFLICT, content={"detail": str(error)})


def _not_found(request: Request, error: Exception) -> JSONResponse:
    return JSONResponse(status_code=http.HTTP_404_NOT_FOUND, content={"detail": str(error)})


# -- the app ------------------------------------------------------------------------------------


def get_backend(request: Request) -> OrderBackend:
    """The system the app serves (a dependency of every endpoint)."""
    backend: OrderBackend | None = request.app.state.backend
    if backend is None:
        raise HTTPException(http.HTTP_503_SERVICE_UNAVAILABLE, "the app has not started")
    return backend


# Module level, not inside create_app: FastAPI resolves these string annotations (this module
# uses `from __future__ import annotations`) in the module's globals.
Backend = Annotated[OrderBackend, Depends(get_backend)]
Options = Annotated[WriteOptions, Depends(write_options)]

OrderId = Annotated[str, Path(min_length=1, max_length=200)]
PageNumber = Annotated[int, Query(ge=1)]
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
Status = Literal["open", "shipped", "cancelled"]


def create_app(system_or_settings: OrderBackend | ApiSettings | None = None) -> FastAPI:
    """The Order API over ``system_or_settings``: a wired system, or settings to build one.

    With settings (or nothing: :class:`ApiSettings` defaults) the app builds a SQLite system
    and closes it on shutdown. Either way its lifespan starts the projector thread, unless it is
    running already, and stops what it started.
    """
    backend: OrderBackend | None = None
    settings: ApiSettings | None = None
    if system_or_settings is None or isinstance(system_or_settings, ApiSettings):
        settings = system_or_settings or ApiSettings()
    else:
        backend = system_or_settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        close: Callable[[], None] | None = None
        if settings is not None:
            built = build_sqlite_order_system(settings.database, synchronous=settings.synchronous)
            app.state.backend, close = built, built.close
        projector = app.state.backend.projector
        started_here = not projector.running
        projector.start()
        try:
            yield
        finally:
            if started_here:
                projector.stop()
            if close is not None:
                close()
                app.state.backend = None

    app = FastAPI(
        title="cqrs-lab Order API",
        summary="The CQRS playbook's Template 3, working: commands write events, queries read "
        "a projected view, and a write's position lets a client read its own write.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.add_exception_handler(InvalidQueryError, _invalid_query)
    app.add_exception_handler(OrderNotFoundError, _not_found)
    app.add_exception_handler(DomainError, _conflict)
    app.add_exception_handler(ConcurrencyError, _conflict)

    app.state.backend = backend  # None until the lifespan builds it from settings

    # -- commands --------------------------------------------------------------------------------

    @app.post(
        "/orders",
        status_code=http.HTTP_201_CREATED,
        tags=["commands"],
        responses={409: {"description": "an Order rule was broken; nothing was stored"}},
    )
    def create_order(body: CreateOrderRequest, backend: Backend, options: Options) -> WriteResponse:
        """Open an order; answers with its id and the position to wait for."""
        command = CreateOrder(
            customer_id=body.customer_id,
            items=tuple(
                OrderLine(product_id=i.product_id, quantity=i.quantity, price=i.price)
                for i in body.items
            ),
            shipping_address=body.shipping_address,
        )
        return _dispatch(backend, command, options)

    @app.post(
        "/orders/{order_id}/items",
        tags=["commands"],
        responses={404: {"description": "no such order"}, 409: {"description": "not open"}},
    )
    def add_item(
        order_id: OrderId, body: AddItemRequest, backend: Backend, options: Options
    ) -> WriteResponse:
        """Add a line to an open order."""
        command = AddOrderItem(
            order_id=order_id, product_id=body.product_id, quantity=body.quantity, price=body.price
        )
        return _dispatch(backend, command, options)

    @app.delete(
        "/orders/{order_id}",
        tags=["commands"],
        responses={404: {"description": "no such order"}, 409: {"description": "not open"}},
    )
    def cancel_order(
        order_id: OrderId,
        reason: Annotated[str, Query(min_length=1, max_length=500)],
        backend: Backend,
        options: Options,
    ) -> WriteResponse:
        """Cancel an open order, saying why."""
        return _dispatch(backend, CancelOrder(order_id=order_id, reason=reason), options)

    # -- queries ---------------------------------------------------------------------------------

    # Declared before /orders/{order_id}: routes match in the order they are declared, and the
    # path parameter would otherwise take "search" as an order id -- the playbook's Template 3
    # declares it after, so its search endpoint can never be reached.
    @app.get("/orders/search", tags=["queries"])
    def search_orders(
        backend: Backend,
        q: Annotated[
            str, Query(max_length=200, description="part of a customer or product id")
        ] = "",
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
        return _page(backend.queries.dispatch(query))

    @app.get("/orders/{order_id}", tags=["queries"], responses={404: {"description": "not found"}})
    def get_order(order_id: OrderId, backend: Backend) -> OrderResponse:
        """One order as the read model shows it now (404 until the projector has seen it)."""
        view = backend.queries.dispatch(GetOrderById(order_id=order_id))
        if view is None:
            raise HTTPException(http.HTTP_404_NOT_FOUND, f"order {order_id!r} not found")
        return _order(view)

    @app.get("/customers/{customer_id}/orders", tags=["queries"])
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
        return _page(backend.queries.dispatch(query))

    return app


def create_default_app() -> FastAPI:
    """The app on the SQLite file named by ``CQRS_LAB_API_DB`` (default ``orders.sqlite3``).

    The factory ``make api`` hands to uvicorn (``--factory``).
    """
    return create_app(ApiSettings.from_env())
