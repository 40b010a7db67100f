"""Exercise 1 (easy): a command handler that validates before it appends.

A small bank is given -- commands, events, the :class:`BankAccount` aggregate and the handlers
for opening an account and depositing. The student writes the handler for :class:`Withdraw`.

>>> bank = open_bank()
>>> bank.commands.dispatch(OpenAccount(account_id="acc-1", owner="Ada"))
Receipt(stream_id='acc-1', stream_version=1, position=1, command_id='cmd-0001')
>>> bank.commands.dispatch(Deposit(account_id="acc-1", amount_cents=2_500)).position
2
>>> bank.accounts.load("acc-1").balance_cents
2500
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from cqrs_lab.aggregate import Aggregate, Repository
from cqrs_lab.clock import ManualClock
from cqrs_lab.command_bus import CommandBus
from cqrs_lab.errors import ConcurrencyError, DomainError, HandlerResultError
from cqrs_lab.event_store import InMemoryEventStore, Receipt
from cqrs_lab.exercises.framework import Exercise, Mistake, expect
from cqrs_lab.ids import SequentialIds
from cqrs_lab.messages import Command, CommandEnvelope, Event, RecordedEvent
from cqrs_lab.upcasting import EventRegistry

__all__ = [
    "AccountOpened",
    "Bank",
    "BankAccount",
    "Deposit",
    "InsufficientFundsError",
    "InvalidAmountError",
    "MoneyDeposited",
    "MoneyWithdrawn",
    "OpenAccount",
    "Withdraw",
    "WithdrawHandler",
    "check",
    "exercise",
    "handle_deposit",
    "handle_open_account",
    "hint",
    "open_bank",
    "solution",
]


@dataclass(frozen=True, kw_only=True)
class OpenAccount(Command):
    """Open an account for an owner."""

    account_id: str
    owner: str


@dataclass(frozen=True, kw_only=True)
class Deposit(Command):
    """Put money into an account."""

    account_id: str
    amount_cents: int


@dataclass(frozen=True, kw_only=True)
class Withdraw(Command):
    """Take money out of an account."""

    account_id: str
    amount_cents: int


@dataclass(frozen=True, kw_only=True, slots=True)
class AccountOpened(Event):
    """An account was opened."""

    account_id: str
    owner: str


@dataclass(frozen=True, kw_only=True, slots=True)
class MoneyDeposited(Event):
    """Money was put into an account."""

    account_id: str
    amount_cents: int


@dataclass(frozen=True, kw_only=True, slots=True)
class MoneyWithdrawn(Event):
    """Money was taken out of an account."""

    account_id: str
    amount_cents: int


class InvalidAmountError(DomainError):
    """Raised when an amount is not a whole number of cents greater than zero."""


class InsufficientFundsError(DomainError):
    """Raised when a withdrawal asks for more than the balance."""


class BankAccount(Aggregate):
    """An account: opened, then deposited into and withdrawn from; its state is its balance."""

    def __init__(self, account_id: str) -> None:
        super().__init__(account_id)
        self.owner = ""
        self.balance_cents = 0

    def apply(self, event: Event) -> None:
        """Change the balance to reflect ``event``."""
        match event:
            case AccountOpened():
                self.owner = event.owner
            case MoneyDeposited():
                self.balance_cents += event.amount_cents
            case MoneyWithdrawn():
                self.balance_cents -= event.amount_cents
            case _:
                raise TypeError(f"BankAccount cannot apply {type(event).__name__}")


WithdrawHandler = Callable[[CommandEnvelope[Withdraw], Repository[BankAccount]], Receipt]
"""What the student writes: ``handle_withdraw(envelope, accounts) -> Receipt``."""


def handle_open_account(
    envelope: CommandEnvelope[OpenAccount], accounts: Repository[BankAccount]
) -> Receipt:
    """Open a new account (the stream must not exist yet)."""
    command = envelope.command
    account = BankAccount(command.account_id)
    account.record(AccountOpened(account_id=command.account_id, owner=command.owner))
    return accounts.save(account, cause=envelope)


def handle_deposit(
    envelope: CommandEnvelope[Deposit], accounts: Repository[BankAccount]
) -> Receipt:
    """Deposit a whole, positive number of cents into an existing account."""
    command = envelope.command
    amount = command.amount_cents
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise InvalidAmountError(f"amount_cents must be a whole number > 0, found {amount!r}")
    account = accounts.load(envelope.command.account_id)
    account.record(MoneyDeposited(account_id=account.id, amount_cents=amount))
    return accounts.save(account, cause=envelope)


@dataclass
class Bank:
    """The bank wired together: a store, a command bus, and the accounts repository."""

    store: InMemoryEventStore
    commands: CommandBus
    accounts: Repository[BankAccount]


def open_bank(
    handle_withdraw: WithdrawHandler | None = None, *, store: InMemoryEventStore | None = None
) -> Bank:
    """A deterministic bank; with ``handle_withdraw`` it also handles :class:`Withdraw`."""
    clock = ManualClock(step=1.0)
    if store is None:
        registry = EventRegistry([AccountOpened, MoneyDeposited, MoneyWithdrawn])
        store = InMemoryEventStore(clock=clock, registry=registry)
    accounts: Repository[BankAccount] = Repository(store, BankAccount)
    commands = CommandBus(clock=clock, ids=SequentialIds("cmd"))
    commands.register(OpenAccount, lambda envelope: handle_open_account(envelope, accounts))
    commands.register(Deposit, lambda envelope: handle_deposit(envelope, accounts))
    if handle_withdraw is not None:
        withdraw = handle_withdraw
        commands.register(Withdraw, lambda envelope: withdraw(envelope, accounts))
    return Bank(store, commands, accounts)


# -- the check ---------------------------------------------------------------------------------

_OPENING_BALANCE = 10_000
_COMMAND_ID = "cmd-withdraw"


def _bank_with_balance(handler: WithdrawHandler, balance: int = _OPENING_BALANCE) -> Bank:
    bank = open_bank(handler)
    bank.commands.dispatch(OpenAccount(account_id="acc-1", owner="Ada"))
    if balance:
        bank.commands.dispatch(Deposit(account_id="acc-1", amount_cents=balance))
    return bank


class WithdrawExercise(Exercise):
    """Exercise 1: write the Withdraw handler; it must validate before it appends."""

    number = 1
    title = "Withdraw money: a command handler that validates"
    difficulty = "easy"
    minutes = 15
    notebook = "ex01_command_validation"
    answer_names = ("handle_withdraw",)
    solution_module = "ex01_command_validation"
    hints = (
        "Follow handle_deposit: take the command from the envelope, check the amount, load the "
        "account, record an event, save. "
        "Raise before you record anything, so a rejected command appends nothing.",
        "Two rules, two errors: InvalidAmountError unless amount_cents is an int > 0; "
        "InsufficientFundsError when amount_cents > account.balance_cents (taking the whole "
        "balance is allowed).",
        "account.record(MoneyWithdrawn(account_id=account.id, amount_cents=command.amount_cents)) "
        "then `return accounts.save(account, cause=envelope)` -- the receipt is what the bus "
        "returns, and cause= stamps the command id on the event.",
    )

    def grade(self, *answers: Any) -> str:
        """Dispatch valid and invalid withdrawals through a real bus and inspect the store."""
        (handler,) = answers
        expect(
            callable(handler),
            f"handle_withdraw must be a function (envelope, accounts) -> Receipt, "
            f"found {type(handler).__name__}",
        )
        self._valid_withdrawal(handler)
        self._accepts(handler, 10_000, "the whole balance")
        self._rejects(handler, 10_001, InsufficientFundsError, "an overdraft")
        self._rejects(handler, 0, InvalidAmountError, "zero")
        self._rejects(handler, -500, InvalidAmountError, "a negative amount")
        self._rejects(handler, 250.5, InvalidAmountError, "a fraction of a cent")
        self._rejects(handler, 1, InsufficientFundsError, "from an empty account", balance=0)
        self._racing_withdrawals(handler)
        return (
            "handle_withdraw appends one MoneyWithdrawn per valid withdrawal (the whole balance "
            "too), rejects overdrafts, zero, negative and fractional amounts with the right "
            "DomainError, leaving the store unchanged, and loses a race to another withdrawal "
            "instead of overdrawing the account."
        )

    def _racing_withdrawals(self, handler: WithdrawHandler) -> None:
        """Another withdrawal lands between this handler's load and its save."""
        store = _RacingStore(
            clock=ManualClock(step=1.0),
            registry=EventRegistry([AccountOpened, MoneyDeposited, MoneyWithdrawn]),
        )
        bank = open_bank(handler, store=store)
        bank.commands.dispatch(OpenAccount(account_id="acc-1", owner="Ada"))
        bank.commands.dispatch(Deposit(account_id="acc-1", amount_cents=_OPENING_BALANCE))
        store.race_on_next_load(MoneyWithdrawn(account_id="acc-1", amount_cents=8_000))
        description = (
            "withdrawing 5000 cents while another withdrawal of 8000 lands between your "
            "accounts.load and your save"
        )
        # losing the race is right (ConcurrencyError): the client may retry on the new balance
        with self.case(description), suppress(ConcurrencyError, DomainError):
            bank.commands.dispatch(Withdraw(account_id="acc-1", amount_cents=5_000))
        balance = bank.accounts.load("acc-1").balance_cents
        expect(
            balance >= 0,
            f"{description}, both were appended and the account now holds {balance} cents: "
            "the save did not say which version it expected. Save with the version you "
            "loaded (accounts.save(account, cause=envelope) does): then the second writer "
            "gets a ConcurrencyError instead of overdrawing the account",
        )

    def _dispatch(self, bank: Bank, amount: Any, description: str) -> Receipt:
        command = Withdraw(account_id="acc-1", amount_cents=amount)
        with self.case(description):
            try:
                return bank.commands.dispatch(command, command_id=_COMMAND_ID)
            except HandlerResultError:
                raise Mistake(
                    f"while {description}, handle_withdraw returned no Receipt: "
                    "return what accounts.save(account, cause=envelope) returns"
                ) from None

    def _valid_withdrawal(self, handler: WithdrawHandler) -> None:
        bank = _bank_with_balance(handler)
        before = bank.store.head
        description = "withdrawing 3000 cents from an account holding 10000"
        receipt = self._dispatch(bank, 3_000, description)
        new = bank.store.read_all(before)
        expect(
            bool(new),
            f"{description} appended nothing: record a MoneyWithdrawn event on the account "
            "and save it with accounts.save(...)",
        )
        expect(
            len(new) == 1,
            f"{description} appended {len(new)} events "
            f"({', '.join(r.event_type for r in new)}); expected exactly one MoneyWithdrawn",
        )
        (record,) = new
        expect(
            isinstance(record.event, MoneyWithdrawn),
            f"{description} appended {record.event_type}; expected MoneyWithdrawn",
        )
        event = record.event
        assert isinstance(event, MoneyWithdrawn)
        expect(
            record.stream_id == "acc-1",
            f"{description} appended to stream {record.stream_id!r}; expected the account's "
            "own stream 'acc-1' (load it with accounts.load(envelope.command.account_id))",
        )
        expect(
            event.amount_cents == 3_000,
            f"{description} recorded MoneyWithdrawn(amount_cents={event.amount_cents!r}); "
            "expected 3000: the event records the amount taken out, as a positive number",
        )
        expect(
            receipt.position == record.position,
            f"the receipt says position {receipt.position}, but the withdrawal is at "
            f"{record.position}: return the receipt of this save",
        )
        expect(
            record.causation_id == _COMMAND_ID,
            f"the MoneyWithdrawn event has causation id {record.causation_id!r}, expected the "
            f"command's id {_COMMAND_ID!r}: save with accounts.save(account, cause=envelope)",
        )
        balance = bank.accounts.load("acc-1").balance_cents
        expect(
            balance == 7_000,
            f"after {description} the balance is {balance}, expected 7000",
        )

    def _accepts(self, handler: WithdrawHandler, amount: int, what: str) -> None:
        bank = _bank_with_balance(handler)
        before = bank.store.head
        description = f"withdrawing {what} ({amount} of {_OPENING_BALANCE} cents)"
        try:
            self._dispatch(bank, amount, description)
        except Mistake as mistake:
            cause = mistake.__cause__
            if isinstance(cause, InsufficientFundsError):
                raise Mistake(
                    f"{description} was rejected with InsufficientFundsError: only an amount "
                    "greater than the balance is insufficient (use >, not >=)"
                ) from None
            raise
        balance = bank.accounts.load("acc-1").balance_cents
        expect(
            bank.store.head == before + 1 and balance == _OPENING_BALANCE - amount,
            f"after {description} the balance is {balance}, expected {_OPENING_BALANCE - amount}",
        )

    def _rejects(
        self,
        handler: WithdrawHandler,
        amount: Any,
        error: type[DomainError],
        what: str,
        balance: int = _OPENING_BALANCE,
    ) -> None:
        bank = _bank_with_balance(handler, balance)
        before = bank.store.head
        description = f"withdrawing {what} (amount_cents={amount!r}, balance {balance})"
        try:
            self._dispatch(bank, amount, description)
        except Mistake as mistake:
            cause = mistake.__cause__
            if cause is None:
                raise
            expect(
                isinstance(cause, error),
                f"{description} raised {type(cause).__name__}; expected {error.__name__} "
                "(a DomainError, so callers can tell a broken rule from a bug)",
            )
        else:
            raise Mistake(
                f"{description} was accepted; expected {error.__name__}" + _why_rejected(amount)
            )
        expect(
            bank.store.head == before,
            f"{description} raised {error.__name__} but the store went from {before} to "
            f"{bank.store.head} events: validate before you record and save, so a rejected "
            "command appends nothing",
        )


class _RacingStore(InMemoryEventStore):
    """A store in which another writer appends right after the next read of a stream."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._racer: Event | None = None

    def race_on_next_load(self, event: Event) -> None:
        """Append ``event`` to the stream the next ``read_stream`` reads, just after it."""
        self._racer = event

    def read_stream(self, stream_id: str, from_version: int = 1) -> list[RecordedEvent]:
        records = super().read_stream(stream_id, from_version)
        racer, self._racer = self._racer, None
        if racer is not None:
            self.append(stream_id, [racer], expected_version=len(records))
        return records


def _why_rejected(amount: Any) -> str:
    if isinstance(amount, float):
        return ": amount_cents must be a whole number of cents (an int)"
    if amount == 0:
        return ": a withdrawal of nothing is not a withdrawal (amount_cents must be > 0)"
    if amount < 0:
        return ": a negative withdrawal is a deposit in disguise (amount_cents must be > 0)"
    return ": an account may not go below zero"


exercise = WithdrawExercise()
check = exercise.check
hint = exercise.hint
solution = exercise.solution
