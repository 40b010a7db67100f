"""Exercise 6 (hard): a new read model for a new query -- the orders awaiting shipment.

The warehouse wants its work queue: every open order, oldest first, a page at a time. The
student writes the projection that keeps one :class:`AwaitingOrder` row per open order, and the
handler of :class:`OrdersAwaitingShipment` that pages through them.

>>> system = warehouse()
>>> system.store.head, len(WAREHOUSE_ORDER_IDS)
(18, 12)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, cast

from cqrs_lab.errors import InvalidQueryError
from cqrs_lab.examples.orders import (
    AddOrderItem,
    CancelOrder,
    CreateOrder,
    OrderSystem,
    ShipOrder,
)
from cqrs_lab.exercises._orders import line, replay
from cqrs_lab.exercises.framework import Exercise, Mistake, expect
from cqrs_lab.messages import Command, Query, RecordedEvent
from cqrs_lab.projection import Changes, InMemoryReadModel, Projection, RowReader
from cqrs_lab.projector import Projector
from cqrs_lab.query_bus import QueryBus

__all__ = [
    "MAX_PAGE_SIZE",
    "WAREHOUSE",
    "WAREHOUSE_ORDER_IDS",
    "AwaitingOrder",
    "OrdersAwaitingShipment",
    "Page",
    "check",
    "exercise",
    "hint",
    "solution",
    "warehouse",
]

MAX_PAGE_SIZE = 50
"""The largest page a client may ask for."""


@dataclass(frozen=True, kw_only=True, slots=True)
class AwaitingOrder:
    """One open order in the warehouse's queue (the row of the new read model)."""

    order_id: str
    customer_id: str
    item_count: int
    """Order lines: the items it was created with, plus one per item added."""
    total_amount: float
    created_at: datetime
    """When the store recorded OrderCreated: the queue's order, oldest first."""


@dataclass(frozen=True, kw_only=True)
class OrdersAwaitingShipment(Query):
    """A page of the open orders, oldest first; pages count from 1."""

    page: int = 1
    page_size: int = 10


@dataclass(frozen=True, kw_only=True, slots=True)
class Page:
    """One page of a query's answer, and how many rows there are in all."""

    items: tuple[AwaitingOrder, ...]
    page: int
    page_size: int
    total: int

    @property
    def pages(self) -> int:
        """How many pages of ``page_size`` hold ``total`` rows."""
        return math.ceil(self.total / self.page_size) if self.page_size else 0


WAREHOUSE_ORDER_IDS: tuple[str, ...] = (
    "ord-k",
    "ord-c",
    "ord-x",
    "ord-a",
    "ord-p",
    "ord-f",
    "ord-z",
    "ord-m",
    "ord-b",
    "ord-t",
    "ord-e",
    "ord-q",
)
"""The order ids, in the order the orders are created: they do not sort by age."""

WAREHOUSE: tuple[Command, ...] = (
    CreateOrder(customer_id="cust-ada", items=(line("tea", 2, 3.5),)),  # ord-k
    CreateOrder(customer_id="cust-bob", items=(line("coffee", 1, 4.0),)),  # ord-c
    CreateOrder(customer_id="cust-cyd", items=(line("scone", 3, 2.25),)),  # ord-x
    ShipOrder(order_id="ord-c"),
    CreateOrder(customer_id="cust-dee", items=(line("jam", 1, 1.75), line("tea", 1, 3.5))),
    AddOrderItem(order_id="ord-k", product_id="jam", quantity=1, price=1.75),
    CreateOrder(customer_id="cust-ada", items=(line("coffee", 2, 4.0),)),  # ord-p
    CancelOrder(order_id="ord-x", reason="out of scones"),
    CreateOrder(customer_id="cust-bob", items=(line("tea", 4, 3.5),)),  # ord-f
    CreateOrder(customer_id="cust-eve", items=(line("scone", 1, 2.25),)),  # ord-z
    CreateOrder(customer_id="cust-cyd", items=(line("jam", 2, 1.75),)),  # ord-m
    AddOrderItem(order_id="ord-z", product_id="tea", quantity=3, price=3.5),
    CreateOrder(customer_id="cust-dee", items=(line("coffee", 1, 4.0),)),  # ord-b
    ShipOrder(order_id="ord-p"),
    CreateOrder(customer_id="cust-eve", items=(line("tea", 1, 3.5),)),  # ord-t
    CreateOrder(customer_id="cust-ada", items=(line("scone", 2, 2.25),)),  # ord-e
    CreateOrder(customer_id="cust-bob", items=(line("jam", 3, 1.75),)),  # ord-q
    CancelOrder(order_id="ord-b", reason="duplicate"),
)
"""The warehouse's morning: 12 orders, 2 shipped, 2 cancelled, 2 with an item added later."""


def warehouse() -> OrderSystem:
    """A fresh Order system holding :data:`WAREHOUSE` (18 events)."""
    return replay(WAREHOUSE, order_ids=WAREHOUSE_ORDER_IDS)


# -- the reference, and the check ----------------------------------------------------------------


class _Reference(Projection[AwaitingOrder]):
    name = "awaiting_shipment"
    handles = frozenset({"OrderCreated", "OrderItemAdded", "OrderShipped", "OrderCancelled"})

    def project(self, record: RecordedEvent, view: RowReader[AwaitingOrder]) -> Changes:
        event: Any = record.event
        if record.event_type == "OrderCreated":
            total = sum(item.quantity * item.price for item in event.items)
            row = AwaitingOrder(
                order_id=event.order_id,
                customer_id=event.customer_id,
                item_count=len(event.items),
                total_amount=total,
                created_at=record.recorded_at,
            )
            return {event.order_id: row}
        if record.event_type == "OrderItemAdded":
            before = view.get(event.order_id)
            if before is None:
                return {}
            return {
                event.order_id: AwaitingOrder(
                    order_id=before.order_id,
                    customer_id=before.customer_id,
                    item_count=before.item_count + 1,
                    total_amount=before.total_amount + event.quantity * event.price,
                    created_at=before.created_at,
                )
            }
        return {event.order_id: None}


def _filled(projection: Projection[Any]) -> InMemoryReadModel[Any]:
    system = warehouse()
    projector = Projector(system.store, projection, clock=system.clock)
    projector.catch_up()
    return cast(InMemoryReadModel[Any], projector.read_model)


Handler = Callable[[OrdersAwaitingShipment, InMemoryReadModel[AwaitingOrder]], Page]
"""What the student writes: ``orders_awaiting_shipment(query, view) -> Page``."""

_STATE_CHANGES = {
    "ord-c": "shipped",
    "ord-p": "shipped",
    "ord-x": "cancelled",
    "ord-b": "cancelled",
}


class AwaitingShipmentExercise(Exercise):
    """Exercise 6: a projection and a paged, validated query over it."""

    number = 6
    title = "A new read model for a new query: orders awaiting shipment"
    difficulty = "hard"
    minutes = 40
    notebook = "ex06_read_model_query"
    answer_names = ("AwaitingShipment", "orders_awaiting_shipment")
    solution_module = "ex06_read_model_query"
    hints = (
        "Two parts. The projection keeps a row only while an order is open: OrderCreated adds "
        "it, OrderItemAdded replaces it, OrderShipped and OrderCancelled delete it (return "
        "{order_id: None}). The handler reads view.rows(), sorts, and slices one page.",
        "created_at is record.recorded_at of the OrderCreated; when an item is added keep the "
        "old row's created_at (dataclasses.replace(before, ...)), or the order jumps the queue.",
        "Validate first: page must be an int >= 1 and page_size an int from 1 to MAX_PAGE_SIZE, "
        "else raise InvalidQueryError. Then rows = sorted(view.rows(), key=lambda r: "
        "(r.created_at, r.order_id)); start = (page - 1) * page_size; return Page(items="
        "tuple(rows[start:start + page_size]), page=..., page_size=..., total=len(rows)).",
    )

    def grade(self, *answers: Any) -> str:
        """Check the projection's rows, then the handler on a correct view, then both together."""
        projection_answer, handler = answers
        projection = self._instance(projection_answer)
        expect(
            callable(handler),
            f"orders_awaiting_shipment must be a function (query, view) -> Page, "
            f"found {type(handler).__name__}",
        )
        self._check_projection(projection)
        expected_view = _filled(_Reference())
        self._check_handler(handler, expected_view)
        with self.case("answering page 2 from your own read model"):
            page = self._ask(handler, _filled(self._instance(projection_answer)), 2, 3)
        right = self._ask(handler, expected_view, 2, 3)
        expect(page == right, f"your projection and handler together gave {page}, expected {right}")
        return (
            "AwaitingShipment keeps exactly the 8 open orders (items added, shipped and cancelled "
            "ones gone), and orders_awaiting_shipment pages them oldest first, validates page "
            "and page_size, and returns an empty page past the end."
        )

    # -- the projection ---------------------------------------------------------------------

    @staticmethod
    def _instance(answer: Any) -> Projection[Any]:
        """A new projection from a class, or the answer itself if it is one already."""
        if isinstance(answer, type) and issubclass(answer, Projection):
            try:
                return answer()
            except TypeError as error:
                raise Mistake(
                    f"AwaitingShipment() could not be created ({error}): define project(self, "
                    "record, view) and take no constructor arguments"
                ) from None
        expect(
            isinstance(answer, Projection),
            f"expected a Projection subclass (class AwaitingShipment(Projection[AwaitingOrder])),"
            f" found {type(answer).__name__}",
        )
        return cast(Projection[Any], answer)

    def _check_projection(self, projection: Projection[Any]) -> None:
        first = warehouse().store.read_all(0, 1)[0]
        with self.case("projecting the first OrderCreated onto an empty view"):
            projection.project(first, InMemoryReadModel("empty"))
        for event_type, why in (
            ("OrderCreated", "no order would ever enter the queue"),
            ("OrderItemAdded", "an added item would not change item_count or total_amount"),
            ("OrderShipped", "a shipped order would stay in the queue"),
            ("OrderCancelled", "a cancelled order would stay in the queue"),
        ):
            expect(
                event_type in projection.handles,
                f"handles lacks {event_type!r}: {why} (handles holds event type names)",
            )
        with self.case("projecting the warehouse's 18 events"):
            found = dict(_filled(projection).items())
        expected = dict(_filled(_Reference()).items())
        for order_id, became in sorted(_STATE_CHANGES.items()):
            event = "OrderShipped" if became == "shipped" else "OrderCancelled"
            expect(
                order_id not in found,
                f"{order_id} was {became} but is still in the queue: on {event} return "
                f"{{order_id: None}} to delete its row",
            )
        missing = sorted(set(expected) - set(found))
        expect(not missing, f"open orders missing from the view: {', '.join(missing)}")
        extra = sorted(set(found) - set(expected))
        expect(not extra, f"unexpected rows (keys must be order ids): {', '.join(extra)}")
        for order_id in sorted(expected):
            self._compare_row(order_id, found[order_id], expected[order_id])

    @staticmethod
    def _compare_row(order_id: str, row: Any, right: AwaitingOrder) -> None:
        expect(
            isinstance(row, AwaitingOrder),
            f"the row of {order_id} is a {type(row).__name__}; rows must be AwaitingOrder values",
        )
        added = order_id in {"ord-k", "ord-z"}
        if row.created_at != right.created_at:
            expect(
                not (added and row.created_at > right.created_at),
                f"{order_id}'s created_at moved to when an item was added to it "
                f"({row.created_at:%H:%M:%S}, created {right.created_at:%H:%M:%S}): keep the "
                "row's created_at on OrderItemAdded, or the order jumps to the back of the queue",
            )
            raise Mistake(
                f"{order_id}'s created_at is {row.created_at:%H:%M:%S}, expected "
                f"{right.created_at:%H:%M:%S}: use record.recorded_at of its OrderCreated"
            )
        if row.item_count != right.item_count:
            expect(
                not (added and row.item_count == right.item_count - 1),
                f"{order_id} has item_count {row.item_count}, expected {right.item_count}: "
                "OrderItemAdded adds a line",
            )
            expect(
                not (order_id == "ord-z" and row.item_count == right.item_count + 2),
                f"{order_id} has item_count {row.item_count}, expected {right.item_count}: "
                "its added line has quantity 3, and OrderItemAdded adds one line whatever its "
                "quantity (item_count counts order lines, not units)",
            )
            raise Mistake(
                f"{order_id} has item_count {row.item_count}, expected {right.item_count} "
                "(item_count counts order lines, not units)"
            )
        if not math.isclose(row.total_amount, right.total_amount):
            raise Mistake(
                f"{order_id} has total_amount {row.total_amount!r}, expected "
                f"{right.total_amount!r}: the sum of quantity * price over its lines"
            )
        for field in fields(AwaitingOrder):
            if field.name == "total_amount":
                continue
            found, wanted = getattr(row, field.name), getattr(right, field.name)
            expect(found == wanted, f"{order_id} has {field.name} {found!r}, expected {wanted!r}")

    # -- the query handler ------------------------------------------------------------------

    def _ask(self, handler: Handler, view: InMemoryReadModel[Any], page: Any, size: Any) -> Page:
        bus = QueryBus()
        bus.register(OrdersAwaitingShipment, lambda query: handler(query, view))
        result = bus.dispatch(OrdersAwaitingShipment(page=page, page_size=size))
        expect(
            isinstance(result, Page),
            f"OrdersAwaitingShipment(page={page!r}, page_size={size!r}) returned "
            f"{type(result).__name__}; return Page(items=..., page=..., page_size=..., total=...)",
        )
        return cast(Page, result)

    def _check_handler(self, handler: Handler, view: InMemoryReadModel[Any]) -> None:
        oldest_first = [
            row.order_id for row in sorted(view.rows(), key=lambda r: (r.created_at, r.order_id))
        ]
        total = len(oldest_first)
        for page, size in ((1, 3), (2, 3), (3, 3), (4, 3), (1, MAX_PAGE_SIZE)):
            asked = f"page={page}, page_size={size}"
            try:
                with self.case(f"asking for {asked}"):
                    result = self._ask(handler, view, page, size)
            except Mistake as mistake:
                expect(
                    not isinstance(mistake.__cause__, InvalidQueryError),
                    f"{asked} raised InvalidQueryError, but it is a valid query: a page past "
                    "the end is empty (items=()), not an error"
                    if page * size > total + size
                    else f"{asked} raised InvalidQueryError, but it is a valid query",
                )
                raise
            ids = [str(getattr(item, "order_id", item)) for item in result.items]
            start = (page - 1) * size
            wanted = oldest_first[start : start + size]
            if ids != wanted:
                self._diagnose_page(asked, ids, wanted, oldest_first, page, size)
            expect(
                result.total == total,
                f"{asked} says total={result.total}; total counts every order awaiting "
                f"shipment ({total}), not just this page's",
            )
            expect(
                (result.page, result.page_size) == (page, size),
                f"{asked} returned a Page with page={result.page}, page_size="
                f"{result.page_size}: echo the query's page and page_size",
            )
        invalid: tuple[tuple[Any, Any, str], ...] = (
            (0, 3, "pages count from 1"),
            (-1, 3, "pages count from 1"),
            (1, 0, "a page holds at least one row"),
            (1, MAX_PAGE_SIZE + 1, f"MAX_PAGE_SIZE is {MAX_PAGE_SIZE}"),
            ("2", 3, "page must be an int"),
        )
        for bad_page, bad_size, why in invalid:
            self._rejects(handler, view, bad_page, bad_size, why)

    @staticmethod
    def _diagnose_page(
        asked: str, ids: list[str], wanted: list[str], oldest: list[str], page: int, size: int
    ) -> None:
        newest = oldest[::-1]
        by_id = sorted(oldest)
        start = (page - 1) * size
        expect(
            ids != by_id[start : start + size] or not ids,
            f"{asked} gave {ids}, expected {wanted}: the rows are sorted by order id, but order "
            "ids do not sort by age. Sort by (created_at, order_id), oldest first",
        )
        expect(
            ids != newest[start : start + size] or not ids,
            f"{asked} gave {ids}, expected {wanted}: newest first; the queue is oldest first",
        )
        expect(
            ids != oldest[start + size : start + 2 * size] or not ids,
            f"{asked} gave {ids}, expected {wanted}: page 1 is the first page, so skip "
            "(page - 1) * page_size rows",
        )
        raise Mistake(f"{asked} gave {ids}, expected {wanted} (oldest first)")

    def _rejects(
        self, handler: Handler, view: InMemoryReadModel[Any], page: Any, size: Any, why: str
    ) -> None:
        asked = f"page={page!r}, page_size={size!r}"
        try:
            result = self._ask(handler, view, page, size)
        except InvalidQueryError:
            return
        except Mistake:
            raise
        except Exception as error:
            raise Mistake(
                f"{asked} raised {type(error).__name__}: {error}; expected InvalidQueryError "
                f"({why}), which tells the caller the query, not the server, is wrong"
            ) from None
        ids = [str(getattr(item, "order_id", item)) for item in result.items]
        raise Mistake(f"{asked} was answered ({ids}); expected InvalidQueryError because {why}")


exercise = AwaitingShipmentExercise()
check = exercise.check
hint = exercise.hint
solution = exercise.solution
