"""Exercise 2 (easy): a new projection -- units ordered per product.

:class:`OrdersPerCustomer` is the worked example; the student writes ``ProductUnits``, whose
view maps each product id to the number of units ordered (cancelled or not).

>>> from cqrs_lab import Projector
>>> system = shop()
>>> projector = Projector(system.store, OrdersPerCustomer(), clock=system.clock)
>>> projector.catch_up()
10
>>> dict(projector.read_model.items())
{'cust-ada': 2, 'cust-bob': 2, 'cust-cyd': 1}
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any, cast

from cqrs_lab.examples.orders import OrderCreated, OrderSystem
from cqrs_lab.exercises._orders import SHOP, ordered_lines, replay
from cqrs_lab.exercises.framework import Exercise, Mistake, expect
from cqrs_lab.messages import RecordedEvent
from cqrs_lab.projection import Changes, InMemoryReadModel, Projection, RowReader
from cqrs_lab.projector import Projector

__all__ = ["SHOP", "OrdersPerCustomer", "check", "exercise", "hint", "shop", "solution"]


class OrdersPerCustomer(Projection[int]):
    """How many orders each customer has placed: the worked example of a projection."""

    name = "orders_per_customer"
    handles = frozenset({"OrderCreated"})

    def project(self, record: RecordedEvent, view: RowReader[int]) -> Changes:
        """One more order for the event's customer."""
        event = cast(OrderCreated, record.event)
        return {event.customer_id: (view.get(event.customer_id) or 0) + 1}


def shop() -> OrderSystem:
    """A fresh Order system holding the :data:`SHOP` day: 5 orders, 10 events."""
    return replay(SHOP)


# -- the check ---------------------------------------------------------------------------------


def _units(per_event: list[tuple[str, list[Any]]], *, mode: str = "right") -> dict[str, int]:
    """Units per product, computed right -- or the way a known mistake computes them."""
    counts: Counter[str] = Counter()
    for event_type, lines in per_event:
        if mode == "created only" and event_type != "OrderCreated":
            continue
        if mode == "added only" and event_type != "OrderItemAdded":
            continue
        before = dict(counts)
        for item in lines:
            if mode == "replace":
                counts[item.product_id] = item.quantity
            elif mode == "lines":
                counts[item.product_id] += 1
            elif mode == "last line wins":
                counts[item.product_id] = before.get(item.product_id, 0) + item.quantity
            else:
                counts[item.product_id] += item.quantity
    return dict(counts)


_DIAGNOSES = {
    "created only": "OrderItemAdded events are not counted: a line added later is ordered too",
    "added only": "OrderCreated events are not counted: count the lines an order starts with",
    "lines": "you count order lines, not units: add each line's quantity",
    "replace": (
        "the count is replaced, not added to: start from the current row, "
        "(view.get(product_id) or 0), and add the line's quantity"
    ),
    "last line wins": (
        "two lines of the same product in one OrderCreated overwrite each other (order-0002 "
        "has tea twice): add up the event's lines in a dict before returning it, so a later "
        "line starts from an earlier one's count"
    ),
}


def _describe_difference(found: Mapping[str, Any], expected: Mapping[str, int]) -> str:
    parts = []
    for key in sorted(set(found) | set(expected)):
        if key not in found:
            parts.append(f"{key!r} missing (expected {expected[key]})")
        elif key not in expected:
            parts.append(f"unexpected row {key!r}")
        elif found[key] != expected[key]:
            parts.append(f"{key!r} is {found[key]!r} (expected {expected[key]})")
    return "; ".join(parts)


class ProductUnitsExercise(Exercise):
    """Exercise 2: a projection counting units ordered per product."""

    number = 2
    title = "A new projection: units ordered per product"
    difficulty = "easy"
    minutes = 15
    notebook = "ex02_new_projection"
    answer_names = ("ProductUnits",)
    solution_module = "ex02_new_projection"
    hints = (
        "Start from OrdersPerCustomer: set name, list the event type names in handles, and "
        "return {key: new row} from project(). Which two Order events add lines?",
        "handles = frozenset({'OrderCreated', 'OrderItemAdded'}). OrderCreated has `items`, a "
        "tuple of OrderLine; OrderItemAdded has one product_id and quantity.",
        "Build the changes in a dict: for each line, "
        "changes[p] = (changes.get(p) or view.get(p) or 0) + quantity -- so two lines of the "
        "same product in one event add up.",
    )

    def grade(self, *answers: Any) -> str:
        """Probe the projection, run it with the real projector, then rebuild it."""
        (answer,) = answers
        self._probe(self._instance(answer))
        projection = self._instance(answer)
        self._check_handles(projection)
        expected = _units(ordered_lines(SHOP))
        views = []
        for batch_size in (100, 1):
            system = shop()
            projector = Projector(
                system.store, projection, clock=system.clock, batch_size=batch_size
            )
            with self.case(f"projecting the shop's 10 events (batch_size={batch_size})"):
                projector.catch_up()
            views.append(_rows(projector))
        with self.case("rebuilding the view from the whole log"):
            projector.rebuild()
        views.append(_rows(projector))
        expect(
            views[0] == views[1] == views[2],
            f"the same log gave a different view on each run: first {views[0]}, then "
            f"{views[1]}, then after a rebuild {views[2]}. The projection keeps running totals "
            "of its own (in self); read the current row from `view` instead",
        )
        self._compare(views[0], expected, "after the shop's day")
        return (
            f"ProductUnits counts {sum(expected.values())} units of {len(expected)} products "
            "from OrderCreated and OrderItemAdded, in any batch size and after a rebuild."
        )

    @staticmethod
    def _instance(answer: Any) -> Projection[Any]:
        """A new projection from a class, or the answer itself if it is one already."""
        if isinstance(answer, type) and issubclass(answer, Projection):
            try:
                return answer()
            except TypeError as error:
                raise Mistake(
                    f"ProductUnits() could not be created ({error}): define project(self, "
                    "record, view) and take no constructor arguments"
                ) from None
        expect(
            isinstance(answer, Projection),
            f"expected a Projection subclass (class ProductUnits(Projection[int])), "
            f"found {type(answer).__name__}",
        )
        return cast(Projection[Any], answer)

    def _probe(self, projection: Projection[Any]) -> None:
        system = shop()
        first = system.store.read_all(0, 1)[0]
        with self.case("projecting the first OrderCreated onto an empty view"):
            changes = projection.project(first, _EmptyView())
        expect(
            isinstance(changes, Mapping),
            f"project() must return a dict of row changes {{product_id: units}}, "
            f"found {type(changes).__name__}",
        )

    @staticmethod
    def _check_handles(projection: Projection[Any]) -> None:
        handles = projection.handles
        classes = sorted(getattr(h, "__name__", "?") for h in handles if isinstance(h, type))
        expect(
            not classes,
            f"handles must hold event type names (strings), found the class(es) "
            f"{', '.join(classes)}: write 'OrderCreated', not OrderCreated",
        )
        expect(
            bool(handles),
            "handles is empty, so the projector never calls project(): list the event type "
            "names that add lines to an order",
        )
        for name, why in (
            ("OrderItemAdded", "lines added later would never be counted"),
            ("OrderCreated", "the lines an order starts with would never be counted"),
        ):
            expect(name in handles, f"handles lacks {name!r}: {why}")

    @staticmethod
    def _compare(found: dict[str, Any], expected: dict[str, int], when: str) -> None:
        if found == expected:
            return
        per_event = ordered_lines(SHOP)
        for mode, diagnosis in _DIAGNOSES.items():
            if found == _units(per_event, mode=mode):
                raise Mistake(f"{when}: {diagnosis} ({_describe_difference(found, expected)})")
        if set(found) & {"order-0001", "cust-ada"}:
            raise Mistake(
                f"{when}: rows must be keyed by product id (like 'tea'), found keys "
                f"{sorted(found)[:3]}"
            )
        raise Mistake(f"{when} the view is wrong: {_describe_difference(found, expected)}")


def _rows(projector: Projector[Any]) -> dict[str, Any]:
    """The projector's rows as a dict in key order."""
    return dict(cast(InMemoryReadModel[Any], projector.read_model).items())


class _EmptyView:
    """A view with no rows, for probing a projection."""

    def get(self, key: str) -> None:
        return None


exercise = ProductUnitsExercise()
check = exercise.check
hint = exercise.hint
solution = exercise.solution
