"""Every exercise check can fail: wrong answers are named, right ones pass, blanks wait."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from cqrs_lab import (
    Changes,
    CommandEnvelope,
    InMemoryReadModel,
    InvalidProjectionError,
    InvalidQueryError,
    Projection,
    Projector,
    Receipt,
    RecordedEvent,
    Repository,
)
from cqrs_lab.examples.orders import OrderCreated
from cqrs_lab.exercises import EXERCISES, Exercise, Outcome, ex01, ex02, ex03, ex04, ex05, ex06
from cqrs_lab.exercises.framework import CheckResult
from cqrs_lab.pitfalls import RowsThenCheckpoint
from cqrs_lab.projection import RowReader


def solved(exercise: Exercise) -> tuple[Any, ...]:
    """The answers defined by the worked solution's source, exactly as students see it."""
    namespace: dict[str, Any] = {}
    exec(exercise.solution().source, namespace)
    return tuple(namespace[name] for name in exercise.answer_names)


def assert_incorrect(result: CheckResult, *fragments: str) -> None:
    assert result.outcome is Outcome.INCORRECT, result
    for fragment in fragments:
        assert fragment in result.message, result.message


def unfinished(*args: Any) -> Any:
    raise NotImplementedError("your code here")


# -- every exercise ---------------------------------------------------------------------------


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: f"ex{e.number:02d}")
def test_the_worked_solution_passes_its_own_check(exercise: Exercise) -> None:
    result = exercise.check(*solved(exercise))

    assert result.outcome is Outcome.CORRECT, result
    assert result.correct and result.attempted


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: f"ex{e.number:02d}")
def test_a_placeholder_answer_is_not_attempted(exercise: Exercise) -> None:
    blanks = (...,) * len(exercise.answer_names)
    nones = (None,) * len(exercise.answer_names)

    for answers in (blanks, nones):
        result = exercise.check(*answers)
        assert result.outcome is Outcome.NOT_ATTEMPTED, result
        assert str(result).startswith(f"Exercise {exercise.number} · not attempted: write `")


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: f"ex{e.number:02d}")
def test_hints_and_solution_are_deterministic_text(exercise: Exercise) -> None:
    hints = [str(exercise.hint(level)) for level in range(1, len(exercise.hints) + 1)]
    again = [str(exercise.hint(level)) for level in range(1, len(exercise.hints) + 1)]

    assert len(hints) >= 2 and hints == again
    assert all(len(hint) > 40 for hint in hints)
    assert exercise.solution() == exercise.solution()
    source = exercise.solution().source
    assert source.strip() and '"""Worked solution' not in source
    assert exercise.solution()._repr_markdown_().count("```") == 2


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: f"ex{e.number:02d}")
def test_a_wrong_number_of_answers_is_reported_not_raised(exercise: Exercise) -> None:
    result = exercise.check(*solved(exercise), "extra")

    assert_incorrect(result, "check() expected", "found")


def test_exercises_are_numbered_and_graded_from_easy_to_hard() -> None:
    order = {"easy": 0, "medium": 1, "hard": 2}
    numbers = [exercise.number for exercise in EXERCISES]
    grades = [order[exercise.difficulty] for exercise in EXERCISES]

    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    assert grades == sorted(grades)
    assert all(exercise.notebook.startswith(f"ex{exercise.number:02d}_") for exercise in EXERCISES)


# -- the framework ------------------------------------------------------------------------------


def test_a_result_displays_as_deterministic_text_and_escaped_html() -> None:
    result = CheckResult(7, Outcome.INCORRECT, "found <None> & more")

    assert repr(result) == "Exercise 7 · incorrect: found <None> & more"
    assert "found &lt;None&gt; &amp; more" in result._repr_html_()
    assert "0x" not in result._repr_html_()


def test_asking_for_a_hint_that_does_not_exist_says_which_exist() -> None:
    with pytest.raises(ValueError, match=r"hints 1 to 3, found level=4"):
        ex01.hint(4)


def test_an_error_raised_by_the_answer_is_reported_with_its_case() -> None:
    def crashes(envelope: Withdrawal, accounts: Accounts) -> Receipt:
        raise KeyError("oops")

    result = ex01.check(crashes)

    assert_incorrect(result, "while withdrawing 3000 cents", "KeyError: 'oops'")


# -- exercise 1: the Withdraw handler --------------------------------------------------------

Withdrawal = CommandEnvelope[ex01.Withdraw]
Accounts = Repository[ex01.BankAccount]


def _withdraw(envelope: Withdrawal, accounts: Accounts, *, strict: bool, cause: bool) -> Receipt:
    command = envelope.command
    account = accounts.load(command.account_id)
    too_much = (
        command.amount_cents >= account.balance_cents
        if strict
        else command.amount_cents > account.balance_cents
    )
    if too_much:
        raise ex01.InsufficientFundsError("not enough money")
    account.record(ex01.MoneyWithdrawn(account_id=account.id, amount_cents=command.amount_cents))
    return accounts.save(account, cause=envelope if cause else None)


def test_ex01_the_handler_receives_the_envelope_of_the_command_dispatched() -> None:
    seen: list[Withdrawal] = []

    def handler(envelope: Withdrawal, accounts: Accounts) -> Receipt:
        seen.append(envelope)
        return _withdraw(envelope, accounts, strict=False, cause=True)

    bank = ex01.open_bank(handler)
    bank.commands.dispatch(ex01.OpenAccount(account_id="acc-1", owner="Ada"))
    bank.commands.dispatch(ex01.Deposit(account_id="acc-1", amount_cents=500))
    command = ex01.Withdraw(account_id="acc-1", amount_cents=200)

    receipt = bank.commands.dispatch(command)

    (envelope,) = seen
    assert envelope.command is command
    assert receipt.command_id == envelope.command_id == "cmd-0003"
    assert bank.store.read_stream("acc-1")[-1].causation_id == "cmd-0003"


def test_ex01_rejecting_the_whole_balance_is_an_off_by_one() -> None:
    def handler(envelope: Withdrawal, accounts: Accounts) -> Receipt:
        return _withdraw(envelope, accounts, strict=True, cause=True)

    assert_incorrect(ex01.check(handler), "whole balance", "use >, not >=")


def test_ex01_a_handler_without_amount_validation_accepts_zero() -> None:
    def handler(envelope: Withdrawal, accounts: Accounts) -> Receipt:
        return _withdraw(envelope, accounts, strict=False, cause=True)

    assert_incorrect(ex01.check(handler), "amount_cents=0", "was accepted", "InvalidAmountError")


def test_ex01_saving_without_the_cause_loses_the_causation_id() -> None:
    def handler(envelope: Withdrawal, accounts: Accounts) -> Receipt:
        return _withdraw(envelope, accounts, strict=False, cause=False)

    assert_incorrect(ex01.check(handler), "causation id ''", "cause=envelope")


def test_ex01_a_handler_that_returns_nothing_is_told_to_return_the_receipt() -> None:
    def handler(envelope: Withdrawal, accounts: Accounts) -> Any:
        account = accounts.load(envelope.command.account_id)
        account.record(ex01.MoneyWithdrawn(account_id=account.id, amount_cents=1))
        accounts.save(account, cause=envelope)

    assert_incorrect(ex01.check(handler), "returned no Receipt")


def test_ex01_validating_after_saving_leaves_the_store_changed() -> None:
    def handler(envelope: Withdrawal, accounts: Accounts) -> Receipt:
        amount = envelope.command.amount_cents
        if not isinstance(amount, int) or amount <= 0:
            raise ex01.InvalidAmountError("bad amount")
        account = accounts.load(envelope.command.account_id)
        account.record(ex01.MoneyWithdrawn(account_id=account.id, amount_cents=amount))
        receipt = accounts.save(account, cause=envelope)
        if account.balance_cents < 0:
            raise ex01.InsufficientFundsError("overdrawn")
        return receipt

    assert_incorrect(ex01.check(handler), "went from 2 to 3 events", "validate before")


def test_ex01_a_builtin_error_is_not_a_domain_error() -> None:
    def handler(envelope: Withdrawal, accounts: Accounts) -> Receipt:
        if envelope.command.amount_cents <= 0:
            raise ValueError("amount must be positive")
        return _withdraw(envelope, accounts, strict=False, cause=True)

    assert_incorrect(ex01.check(handler), "raised ValueError; expected InvalidAmountError")


def test_ex01_an_unfinished_handler_is_not_attempted() -> None:
    assert ex01.check(unfinished).outcome is Outcome.NOT_ATTEMPTED


# -- exercise 2: units per product ---------------------------------------------------------


class _Units(Projection[int]):
    name = "product_units"
    handles = frozenset({"OrderCreated", "OrderItemAdded"})

    def lines(self, record: RecordedEvent) -> list[Any]:
        event: Any = record.event
        return list(event.items) if isinstance(event, OrderCreated) else [event]

    def project(self, record: RecordedEvent, view: RowReader[int]) -> Changes:
        return {}


class _CreatedOnly(_Units):
    handles = frozenset({"OrderCreated"})

    def project(self, record: RecordedEvent, view: RowReader[int]) -> Changes:
        changes: dict[str, int] = {}
        for item in self.lines(record):
            changes[item.product_id] = (
                changes.get(item.product_id) or view.get(item.product_id) or 0
            ) + item.quantity
        return changes


class _Overwrites(_Units):
    def project(self, record: RecordedEvent, view: RowReader[int]) -> Changes:
        return {item.product_id: item.quantity for item in self.lines(record)}


class _LastLineWins(_Units):
    def project(self, record: RecordedEvent, view: RowReader[int]) -> Changes:
        return {
            item.product_id: (view.get(item.product_id) or 0) + item.quantity
            for item in self.lines(record)
        }


class _CountsLines(_Units):
    def project(self, record: RecordedEvent, view: RowReader[int]) -> Changes:
        changes: dict[str, int] = {}
        for item in self.lines(record):
            changes[item.product_id] = (
                changes.get(item.product_id) or view.get(item.product_id) or 0
            ) + 1
        return changes


class _KeepsState(_Units):
    def __init__(self) -> None:
        self.totals: Counter[str] = Counter()

    def project(self, record: RecordedEvent, view: RowReader[int]) -> Changes:
        for item in self.lines(record):
            self.totals[item.product_id] += item.quantity
        return dict(self.totals)


class _Unfinished(_Units):
    handles = frozenset()

    def project(self, record: RecordedEvent, view: RowReader[int]) -> Changes:
        raise NotImplementedError("your code here")


@pytest.mark.parametrize(
    ("answer", "fragments"),
    [
        (_CreatedOnly, ("handles lacks 'OrderItemAdded'",)),
        (_Overwrites, ("replaced, not added to", "'tea' is 1 (expected 6)")),
        (_LastLineWins, ("same product in one OrderCreated overwrite each other",)),
        (_CountsLines, ("order lines, not units",)),
        (_KeepsState, ("different view on each run", "running totals of its own")),
    ],
    ids=["created-only", "overwrites", "last-line-wins", "lines", "state"],
)
def test_ex02_names_each_plausible_mistake(answer: type, fragments: tuple[str, ...]) -> None:
    assert_incorrect(ex02.check(answer), *fragments)


def test_ex02_classes_in_handles_are_refused_as_the_class_is_defined() -> None:
    with pytest.raises(InvalidProjectionError, match="contains the class OrderCreated; expected"):

        class _ClassesInHandles(_Units):
            handles = frozenset({OrderCreated})  # type: ignore[arg-type]


def test_ex02_an_instance_is_as_good_as_the_class() -> None:
    (answer,) = solved(ex02.exercise)

    assert ex02.check(answer()).correct


def test_ex02_an_unfinished_projection_is_not_attempted() -> None:
    assert ex02.check(_Unfinished).outcome is Outcome.NOT_ATTEMPTED


def test_ex02_something_else_than_a_projection_is_incorrect() -> None:
    assert_incorrect(ex02.check(lambda record, view: {}), "expected a Projection subclass")


# -- exercise 3: the crash-safe sync ---------------------------------------------------------


def _checkpoint_first(
    store: Any, model: RowsThenCheckpoint[int], projection: Projection[int], limit: int = 100
) -> int:
    records = store.read_all(model.checkpoint, limit)
    for record in records:
        model.save_checkpoint(record.position)
        if record.event_type in projection.handles:
            model.write_without_checkpoint(projection.project(record, model))
    return len(records)


def _batch_without_overlay(
    store: Any, model: InMemoryReadModel[int], projection: Projection[int], limit: int = 100
) -> int:
    records = store.read_all(model.checkpoint, limit)
    changes: dict[str, Any] = {}
    for record in records:
        if record.event_type in projection.handles:
            changes.update(projection.project(record, model))
    if records:
        model.commit(records[-1].position, changes)
    return len(records)


def _handled_only(
    store: Any, model: InMemoryReadModel[int], projection: Projection[int], limit: int = 100
) -> int:
    records = store.read_all(model.checkpoint, limit)
    for record in records:
        if record.event_type in projection.handles:
            model.commit(record.position, projection.project(record, model))
    return len(records)


def _every_event(
    store: Any, model: InMemoryReadModel[int], projection: Projection[int], limit: int = 100
) -> int:
    records = store.read_all(model.checkpoint, limit)
    for record in records:
        model.commit(record.position, projection.project(record, model))
    return len(records)


_SEEN: set[int] = set()


def _remembers_in_memory(
    store: Any, model: RowsThenCheckpoint[int], projection: Projection[int], limit: int = 100
) -> int:
    records = store.read_all(model.checkpoint, limit)
    for record in records:
        if record.event_type in projection.handles and record.position not in _SEEN:
            model.write_without_checkpoint(projection.project(record, model))
            _SEEN.add(record.position)
        model.save_checkpoint(record.position)
    return len(records)


@pytest.mark.parametrize(
    ("answer", "fragments"),
    [
        (ex03.legacy_sync, ("died during save_checkpoint(1)", "double counting", "model.commit")),
        (_checkpoint_first, ("died during write_without_checkpoint", "a lost event")),
        (_batch_without_overlay, ("with limit=4", "same batch")),
        (_handled_only, ("no progress", "at 11, is OrderShipped", "handled or not")),
        (_every_event, ("called project() for OrderItemAdded", "projection.handles")),
        (_remembers_in_memory, ("keeps state of its own outside the read model",)),
    ],
    ids=["legacy", "checkpoint-first", "no-overlay", "handled-only", "every-event", "memory"],
)
def test_ex03_names_each_plausible_mistake(answer: Any, fragments: tuple[str, ...]) -> None:
    _SEEN.clear()
    assert_incorrect(ex03.check(answer), *fragments)


def test_ex03_the_kits_own_projector_is_a_right_answer() -> None:
    def sync(
        store: Any, model: InMemoryReadModel[int], projection: Projection[int], limit: int = 100
    ) -> int:
        return Projector(store, projection, model, batch_size=limit).run_batch()

    assert ex03.check(sync).correct


def test_ex03_an_unfinished_sync_is_not_attempted() -> None:
    assert ex03.check(unfinished).outcome is Outcome.NOT_ATTEMPTED


def test_ex03_the_legacy_sync_double_counts_after_a_crash_and_restart() -> None:
    report = ex03.crash_and_restart(ex03.legacy_sync, crash_at=2)

    assert report.view["cust-ada"] == report.expected["cust-ada"] + 1
    assert report.checkpoint == report.head
    assert list(report.to_frame().columns) == ["after crash and restart", "expected"]


# -- exercise 5: the upcaster ---------------------------------------------------------------


def _without_price(data: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in data.items() if name != "price"}


def _mutates_and_forgets_to_return(data: dict[str, Any]) -> Any:
    data["price_cents"] = round(data.pop("price") * 100)


@pytest.mark.parametrize(
    ("answer", "fragments"),
    [
        (
            lambda data: _without_price(data) | {"price_cents": int(data["price"] * 100)},
            ("19.99 became 1998 cents, expected 1999", "int() truncates"),
        ),
        (
            lambda data: data | {"price_cents": round(data["price"] * 100)},
            ("kept the v1 field 'price'",),
        ),
        (
            lambda data: _without_price(data) | {"price_cents": round(data["price"])},
            ("3.5 became 4 cents, expected 350", "multiply the price by 100"),
        ),
        (
            lambda data: _without_price(data) | {"price_cents": data["price"] * 100},
            ("price_cents=350.0 (float)", "whole number of cents"),
        ),
        (
            lambda data: {"price_cents": round(data["price"] * 100)},
            ("lost the field(s) order_id, product_id, quantity",),
        ),
        (_mutates_and_forgets_to_return, ("returned NoneType", "forget `return`")),
    ],
    ids=["truncates", "keeps-price", "no-times-100", "float", "drops-fields", "no-return"],
)
def test_ex05_names_each_plausible_mistake(answer: Any, fragments: tuple[str, ...]) -> None:
    assert_incorrect(ex05.check(answer), *fragments)


def test_ex05_ceil_is_caught_by_a_price_just_above_a_whole_cent() -> None:
    import math

    result = ex05.check(lambda d: _without_price(d) | {"price_cents": math.ceil(d["price"] * 100)})

    assert_incorrect(result, "1.1 became 111 cents", "ceil() rounds it up")


def test_ex05_an_unfinished_upcaster_is_not_attempted() -> None:
    assert ex05.check(unfinished).outcome is Outcome.NOT_ATTEMPTED


def test_ex05_reading_v1_events_without_an_upcaster_step_fails_loudly() -> None:
    with pytest.raises(ValueError, match="does not fit schema v2"):
        ex05.legacy_store(lambda data: data).read_all()


# -- exercise 6: the awaiting-shipment read model and query ------------------------------------


def _solution() -> tuple[Any, Any]:
    projection, handler = solved(ex06.exercise)
    return projection, handler


def _page(query: ex06.OrdersAwaitingShipment, rows: list[Any], start: int) -> ex06.Page:
    items = tuple(rows[start : start + query.page_size])
    return ex06.Page(items=items, page=query.page, page_size=query.page_size, total=len(rows))


def _sorted_by_id(query: ex06.OrdersAwaitingShipment, view: InMemoryReadModel[Any]) -> ex06.Page:
    rows = sorted(view.rows(), key=lambda row: row.order_id)
    return _page(query, rows, (query.page - 1) * query.page_size)


def _zero_based(query: ex06.OrdersAwaitingShipment, view: InMemoryReadModel[Any]) -> ex06.Page:
    rows = sorted(view.rows(), key=lambda row: (row.created_at, row.order_id))
    return _page(query, rows, query.page * query.page_size)


def _unvalidated(query: ex06.OrdersAwaitingShipment, view: InMemoryReadModel[Any]) -> ex06.Page:
    rows = sorted(view.rows(), key=lambda row: (row.created_at, row.order_id))
    return _page(query, rows, (query.page - 1) * query.page_size)


def _page_total(query: ex06.OrdersAwaitingShipment, view: InMemoryReadModel[Any]) -> ex06.Page:
    page = _solution()[1](query, view)
    return replace(page, total=len(page.items))


def _value_error(query: ex06.OrdersAwaitingShipment, view: InMemoryReadModel[Any]) -> ex06.Page:
    if query.page < 1:
        raise ValueError("page must be >= 1")
    return _solution()[1](query, view)


def _past_end_is_an_error(
    query: ex06.OrdersAwaitingShipment, view: InMemoryReadModel[Any]
) -> ex06.Page:
    page = _solution()[1](query, view)
    if not page.items:
        raise InvalidQueryError(f"no page {query.page}")
    return page


@pytest.mark.parametrize(
    ("handler", "fragments"),
    [
        (_sorted_by_id, ("sorted by order id", "(created_at, order_id)")),
        (_zero_based, ("page 1 is the first page",)),
        (_unvalidated, ("page=0, page_size=3 was answered", "pages count from 1")),
        (_page_total, ("says total=3", "every order awaiting shipment (8)")),
        (_value_error, ("raised ValueError", "expected InvalidQueryError")),
        (_past_end_is_an_error, ("page=4, page_size=3 raised InvalidQueryError", "empty")),
    ],
    ids=["by-id", "zero-based", "unvalidated", "page-total", "value-error", "past-end"],
)
def test_ex06_names_each_plausible_handler_mistake(
    handler: Any, fragments: tuple[str, ...]
) -> None:
    projection, _ = _solution()

    assert_incorrect(ex06.check(projection, handler), *fragments)


def _projection_variant(kind: str) -> type:
    base, _ = _solution()

    class Variant(base):  # type: ignore[misc, valid-type]
        handles = base.handles - {"OrderShipped"} if kind == "ignores shipping" else base.handles

        def project(self, record: RecordedEvent, view: RowReader[Any]) -> Changes:
            changes = super().project(record, view)
            if kind == "requeues" and record.event_type == "OrderItemAdded":
                return {k: replace(v, created_at=record.recorded_at) for k, v in changes.items()}
            if kind == "keeps cancelled" and record.event_type == "OrderCancelled":
                return {}
            if kind == "ignores items" and record.event_type == "OrderItemAdded":
                return {}
            return changes

    return Variant


@pytest.mark.parametrize(
    ("kind", "fragments"),
    [
        ("ignores shipping", ("handles lacks 'OrderShipped'",)),
        ("requeues", ("ord-k's created_at moved", "jumps to the back of the queue")),
        ("keeps cancelled", ("ord-b was cancelled but is still in the queue",)),
        ("ignores items", ("ord-k has item_count 1, expected 2", "OrderItemAdded adds a line")),
    ],
)
def test_ex06_names_each_plausible_projection_mistake(
    kind: str, fragments: tuple[str, ...]
) -> None:
    _, handler = _solution()

    assert_incorrect(ex06.check(_projection_variant(kind), handler), *fragments)


def test_ex06_half_an_answer_is_not_attempted() -> None:
    projection, _ = _solution()

    result = ex06.check(projection, ...)

    assert result.outcome is Outcome.NOT_ATTEMPTED
    assert "`orders_awaiting_shipment`" in result.message
    assert ex06.check(projection, unfinished).outcome is Outcome.NOT_ATTEMPTED


# -- exercise 4: the waiter's timeout ------------------------------------------------------------


def _waits(reads: Any) -> Any:
    return reads["waited"]


@pytest.mark.parametrize(
    ("answer", "fragments"),
    [
        (lambda reads, target: _waits(reads).mean(), ("SLA asks for 99%", "the mean wait")),
        (lambda reads, target: _waits(reads).median(), ("only 50.00%", "the median wait")),
        (
            lambda reads, target: np.percentile(_waits(reads), target),
            ("np.percentile takes 0-100",),
        ),
        (
            lambda reads, target: _waits(reads).max(),
            ("case 'pause'", "meets the SLA, but about 0.104 s would too", "longest wait"),
        ),
        (lambda reads, target: 1.0, ("case 'steady'", "a timeout of 1 s meets the SLA, but")),
        (
            lambda reads, target: 1000 * _waits(reads).quantile(target),
            ("looks like milliseconds",),
        ),
        (lambda reads, target: "0.1", ("returned '0.1'; expected a number of seconds",)),
    ],
    ids=["mean", "median", "percent-scale", "max", "constant", "milliseconds", "string"],
)
def test_ex04_names_each_plausible_mistake(answer: Any, fragments: tuple[str, ...]) -> None:
    assert_incorrect(ex04.check(answer), *fragments)


def test_ex04_any_usual_interpolation_of_the_target_quantile_is_right() -> None:
    for method in ("linear", "higher", "inverted_cdf"):
        result = ex04.check(
            lambda reads, target, m=method: np.quantile(_waits(reads), target, method=m)
        )
        assert result.correct, (method, result)


def test_ex04_an_unfinished_chooser_is_not_attempted() -> None:
    assert ex04.check(unfinished).outcome is Outcome.NOT_ATTEMPTED


def test_ex04_a_verdict_tells_missed_ok_and_wasteful_apart() -> None:
    smallest = ex04.evaluate("steady", 1.0).smallest

    assert ex04.evaluate("steady", smallest / 2).verdict == "SLA missed"
    assert ex04.evaluate("steady", smallest).verdict == "ok"
    assert ex04.evaluate("steady", 1.0).verdict == "wasteful"
