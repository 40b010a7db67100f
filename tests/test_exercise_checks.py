"""Plausible wrong answers that the exercise checks once judged correct, each now named."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from cqrs_lab import CommandEnvelope, InMemoryReadModel, Projection, Receipt, Repository
from cqrs_lab.examples.orders import OrderItemAdded
from cqrs_lab.exercises import Outcome, ex01, ex03, ex05, ex06
from cqrs_lab.exercises.framework import CheckResult
from cqrs_lab.exercises.solutions import ex03_crash_safe_projection as ex03_solution
from cqrs_lab.exercises.solutions import ex06_read_model_query as ex06_solution


def assert_incorrect(result: CheckResult, *fragments: str) -> None:
    assert result.outcome is Outcome.INCORRECT, result
    for fragment in fragments:
        assert fragment in result.message, result.message


# -- exercise 1: an append that names no expected version ----------------------------------------


def _append_blindly(
    envelope: CommandEnvelope[ex01.Withdraw], accounts: Repository[ex01.BankAccount]
) -> Receipt:
    """Validates like the solution, then appends straight to the store, at any version."""
    command = envelope.command
    amount = command.amount_cents
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ex01.InvalidAmountError(f"amount_cents must be a whole number > 0, found {amount!r}")
    account = accounts.load(command.account_id)
    if amount > account.balance_cents:
        raise ex01.InsufficientFundsError(f"{amount} is more than {account.balance_cents}")
    withdrawn = ex01.MoneyWithdrawn(account_id=account.id, amount_cents=amount)
    return accounts.store.append(account.id, [withdrawn], cause=envelope)


def test_ex01_an_append_without_expected_version_lets_a_race_overdraw_the_account() -> None:
    assert_incorrect(
        ex01.check(_append_blindly),
        "another withdrawal of 8000",
        "now holds -3000 cents",
        "ConcurrencyError",
    )


# -- exercise 3: sync must honour limit and return what it read ----------------------------------


def _ignores_limit(
    store: Any, model: InMemoryReadModel[int], projection: Projection[int], limit: int = 100
) -> int:
    records = store.read_all(model.checkpoint)
    for record in records:
        handled = record.event_type in projection.handles
        model.commit(record.position, projection.project(record, model) if handled else {})
    return len(records)


def _returns_handled_count(
    store: Any, model: InMemoryReadModel[int], projection: Projection[int], limit: int = 100
) -> int:
    handled = 0
    for record in store.read_all(model.checkpoint, limit):
        if record.event_type in projection.handles:
            model.commit(record.position, projection.project(record, model))
            handled += 1
        else:
            model.commit(record.position, {})
    return handled


def test_ex03_a_sync_that_ignores_limit_is_named() -> None:
    assert_incorrect(ex03.check(_ignores_limit), "read 12 events", "read at most limit events")


def test_ex03_a_sync_that_returns_the_handled_count_is_named() -> None:
    assert_incorrect(
        ex03.check(_returns_handled_count), "but returned 3", "`while sync(...): ...` stops"
    )


def test_ex03_the_worked_solution_still_passes() -> None:
    assert ex03.check(ex03_solution.sync).correct


# -- exercise 5: an upcaster must not change its input -------------------------------------------


def _upcasts_in_place(data: dict[str, Any]) -> dict[str, Any]:
    data["price_cents"] = round(data.pop("price") * 100)
    return data


def test_ex05_an_upcaster_that_mutates_its_input_is_named() -> None:
    assert_incorrect(
        ex05.check(_upcasts_in_place), "changed the dict it was given", "leave the input alone"
    )


# -- exercise 6: item_count counts lines, not units ----------------------------------------------


class _CountsUnits(ex06_solution.AwaitingShipment):
    """The solution, except that an added item adds its quantity to item_count."""

    def project(self, record: Any, view: Any) -> Any:
        changes = super().project(record, view)
        event = record.event
        row = changes.get(event.order_id) if isinstance(event, OrderItemAdded) else None
        if row is None:
            return changes
        return {event.order_id: replace(row, item_count=row.item_count - 1 + event.quantity)}


def test_ex06_counting_units_instead_of_lines_is_named() -> None:
    assert_incorrect(
        ex06.check(_CountsUnits, ex06_solution.orders_awaiting_shipment),
        "ord-z has item_count 4, expected 2",
        "lines, not units",
    )
