"""What the Order API reads and writes: its request and response models (pydantic).

Requests are checked field by field before any command is built: a refused one answers 422
naming the field (see :mod:`cqrs_lab.examples.orders.http_errors`) and stores nothing.
``extra="forbid"``: a misspelt field is an error, not silently dropped.

The playbook's Template 3 shapes are accepted as they are: ``shipping_address`` may be an
object (``{"city": "X"}``, stored as its JSON text) as well as a plain string.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, StringConstraints, Tag

from cqrs_lab.examples.orders.queries import Page
from cqrs_lab.examples.orders.views import OrderView

__all__ = [
    "MAX_PRICE",
    "MAX_QUANTITY",
    "AddItemRequest",
    "CreateOrderRequest",
    "ErrorMessage",
    "NonBlank",
    "OrderLineModel",
    "OrderResponse",
    "PageResponse",
    "WriteResponse",
    "address_text",
    "order_response",
    "page_response",
]

MAX_QUANTITY = 1_000_000
"""The largest quantity one line may ask for."""

MAX_PRICE = 1e9
"""The largest unit price one line may carry."""

NonBlank = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"\S")]
Quantity = Annotated[int, Field(gt=0, le=MAX_QUANTITY, strict=True)]
Price = Annotated[float, Field(ge=0, le=MAX_PRICE, allow_inf_nan=False)]

AddressText = Annotated[str, StringConstraints(max_length=500)]
AddressObject = Annotated[
    dict[
        Annotated[str, StringConstraints(min_length=1, max_length=50)],
        Annotated[str, StringConstraints(max_length=200)],
    ],
    Field(max_length=20),
]
"""Template 3's ``shipping_address: dict``: named parts, each a string."""


def _address_shape(value: object) -> str:
    return "object" if isinstance(value, dict) else "text"


# The discriminator names the shape a refused address was taken for in the error's loc
# ("text" or "object"), instead of pydantic's internal names of both union members.
ShippingAddress = Annotated[
    Annotated[AddressText, Tag("text")] | Annotated[AddressObject, Tag("object")],
    Discriminator(_address_shape),
]


class OrderLineModel(BaseModel):
    """One product, how many, at what unit price."""

    model_config = ConfigDict(extra="forbid")

    product_id: NonBlank
    quantity: Quantity
    price: Price


class CreateOrderRequest(BaseModel):
    """A new order: the customer, at least one line, and where to ship it."""

    model_config = ConfigDict(extra="forbid")

    customer_id: NonBlank
    items: Annotated[list[OrderLineModel], Field(min_length=1, max_length=100)]
    shipping_address: ShippingAddress = Field(
        default="",
        description="a line of text, or an object of named parts as the playbook sends it "
        '({"city": "X"}; stored as its JSON text)',
    )


class AddItemRequest(OrderLineModel):
    """A line to add to an open order."""


def address_text(address: str | dict[str, str]) -> str:
    """The shipping address as the domain keeps it: text as is, an object as its JSON text.

    >>> address_text({"city": "Zürich", "zip": "8001"})
    '{"city": "Zürich", "zip": "8001"}'
    """
    if isinstance(address, str):
        return address
    return json.dumps(address, ensure_ascii=False)


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
    projector_stopped: str | None = Field(
        default=None,
        description="strong writes: why the read model will not catch up, when its projector "
        "has stopped on a failure (the write is stored all the same: do not send it again); "
        "null otherwise",
    )


class ErrorMessage(BaseModel):
    """Why a request was refused (404, 409): the domain's own sentence."""

    detail: str


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


def order_response(view: OrderView) -> OrderResponse:
    """The response model of one order view."""
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


def page_response(page: Page[OrderView]) -> PageResponse:
    """The response model of one page of order views."""
    return PageResponse(
        items=[order_response(view) for view in page.items],
        total=page.total,
        page=page.page,
        page_size=page.page_size,
        total_pages=page.total_pages,
    )
