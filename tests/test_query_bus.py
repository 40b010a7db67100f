"""The query bus: one handler per query type, middleware around it, the handler's answer out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from cqrs_lab.errors import (
    DuplicateHandlerError,
    HandlerNotFoundError,
    InvalidArgumentError,
    InvalidQueryError,
)
from cqrs_lab.handlers import NextStep
from cqrs_lab.messages import Command, Query
from cqrs_lab.query_bus import QueryBus

PRICES = {"tea": 3.5, "cake": 4.25}


@dataclass(frozen=True, kw_only=True)
class GetPrice(Query):
    product_id: str


@dataclass(frozen=True, kw_only=True)
class ListProducts(Query):
    limit: int = 10


@dataclass(frozen=True, kw_only=True)
class Restock(Command):
    product_id: str


def price_of(query: GetPrice) -> float | None:
    return PRICES.get(query.product_id)


class ProductList:
    """A handler object answering from a fixed catalogue."""

    def __init__(self) -> None:
        self.asked = 0

    def handle(self, query: ListProducts) -> list[str]:
        self.asked += 1
        return sorted(PRICES)[: query.limit]


@pytest.fixture
def bus() -> QueryBus:
    return QueryBus()


def test_a_registered_function_answers_its_query_type(bus: QueryBus) -> None:
    bus.register(GetPrice, price_of)

    assert bus.dispatch(GetPrice(product_id="tea")) == 3.5
    assert bus.registered == ["GetPrice"]


def test_a_missing_answer_is_the_handlers_none(bus: QueryBus) -> None:
    bus.register(GetPrice, price_of)

    assert bus.dispatch(GetPrice(product_id="scones")) is None


def test_the_decorator_registers_and_returns_the_function_unchanged(bus: QueryBus) -> None:
    @bus.handles(GetPrice)
    def doubled(query: GetPrice) -> float:
        return 2 * PRICES[query.product_id]

    assert doubled(GetPrice(product_id="tea")) == 7.0
    assert bus.dispatch(GetPrice(product_id="cake")) == 8.5


def test_an_object_with_handle_is_a_handler(bus: QueryBus) -> None:
    handler = ProductList()
    bus.register(ListProducts, handler)

    assert bus.dispatch(ListProducts(limit=1)) == ["cake"]
    assert handler.asked == 1


def test_a_second_handler_for_a_query_type_is_refused(bus: QueryBus) -> None:
    bus.register(GetPrice, price_of)

    with pytest.raises(DuplicateHandlerError, match="a query type has exactly one"):
        bus.register(GetPrice, lambda query: 0.0)

    assert bus.dispatch(GetPrice(product_id="tea")) == 3.5


def test_a_query_without_handler_names_its_type_and_the_registered_ones(bus: QueryBus) -> None:
    bus.register(GetPrice, price_of)

    with pytest.raises(HandlerNotFoundError) as caught:
        bus.dispatch(ListProducts())

    assert "no handler for ListProducts" in str(caught.value)
    assert "registered query types: ['GetPrice']" in str(caught.value)
    assert isinstance(caught.value, LookupError)


def test_the_first_middleware_added_is_the_outermost(bus: QueryBus) -> None:
    trace: list[str] = []

    def outer(query: Any, next_step: NextStep) -> Any:
        trace.append("outer")
        return next_step(query)

    def inner(query: Any, next_step: NextStep) -> Any:
        trace.append("inner")
        return next_step(query)

    bus.use(outer)
    bus.use(inner)
    bus.register(GetPrice, price_of)

    bus.dispatch(GetPrice(product_id="tea"))

    assert trace == ["outer", "inner"]


def test_caching_middleware_answers_a_repeated_query_without_the_handler(bus: QueryBus) -> None:
    cache: dict[Any, Any] = {}
    handler = ProductList()

    def cached(query: Any, next_step: NextStep) -> Any:
        if query not in cache:  # queries are frozen dataclasses, hence hashable keys
            cache[query] = next_step(query)
        return cache[query]

    bus.use(cached)
    bus.register(ListProducts, handler)

    first = bus.dispatch(ListProducts(limit=2))
    second = bus.dispatch(ListProducts(limit=2))
    bus.dispatch(ListProducts(limit=1))

    assert first == second == ["cake", "tea"]
    assert handler.asked == 2


def test_validating_middleware_refuses_a_bad_query_before_its_handler(bus: QueryBus) -> None:
    handler = ProductList()

    def limit_checked(query: Any, next_step: NextStep) -> Any:
        if isinstance(query, ListProducts) and not 1 <= query.limit <= 100:
            raise InvalidQueryError(f"limit must be between 1 and 100, found {query.limit}")
        return next_step(query)

    bus.use(limit_checked)
    bus.register(ListProducts, handler)

    with pytest.raises(InvalidQueryError, match="found 0") as caught:
        bus.dispatch(ListProducts(limit=0))

    assert isinstance(caught.value, ValueError)
    assert handler.asked == 0


def test_dispatching_a_command_on_the_query_bus_is_refused(bus: QueryBus) -> None:
    with pytest.raises(InvalidArgumentError, match="found Restock; commands go to the CommandBus"):
        bus.dispatch(Restock(product_id="tea"))  # type: ignore[arg-type]


# --- async handlers ----------------------------------------------------------------------------


async def async_price(query: GetPrice) -> float | None:
    return PRICES.get(query.product_id)


def test_an_async_handler_is_refused_at_registration(bus: QueryBus) -> None:
    with pytest.raises(
        InvalidArgumentError, match=r"handler for GetPrice is async \(async_price\).*plain def"
    ):
        bus.register(GetPrice, async_price)

    assert bus.registered == []
    with pytest.raises(HandlerNotFoundError, match="no handler for GetPrice"):
        bus.dispatch(GetPrice(product_id="tea"))


def test_only_classes_and_callables_can_be_registered(bus: QueryBus) -> None:
    with pytest.raises(InvalidArgumentError, match="message_type must be a class"):
        bus.register(GetPrice(product_id="tea"), price_of)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="a handler must be callable"):
        bus.register(GetPrice, "price_of")

    assert bus.registered == []
