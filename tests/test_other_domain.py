"""A bank-account domain built only on the core: the core needs nothing from the Order example."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

import cqrs_lab
from cqrs_lab.aggregate import Aggregate, Repository
from cqrs_lab.clock import ManualClock
from cqrs_lab.command_bus import CommandBus
from cqrs_lab.errors import AggregateNotFoundError, ConcurrencyError, DomainError
from cqrs_lab.event_store import InMemoryEventStore, Receipt
from cqrs_lab.ids import SequentialIds
from cqrs_lab.messages import Command, CommandEnvelope, Event, Query
from cqrs_lab.query_bus import QueryBus
from cqrs_lab.upcasting import EventRegistry

# --- the domain --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class OpenAccount(Command):
    account_id: str
    owner: str


@dataclass(frozen=True, kw_only=True)
class Deposit(Command):
    account_id: str
    amount_cents: int


@dataclass(frozen=True, kw_only=True)
class Withdraw(Command):
    account_id: str
    amount_cents: int


@dataclass(frozen=True, kw_only=True)
class GetBalance(Query):
    account_id: str


@dataclass(frozen=True, kw_only=True)
class AccountOpened(Event):
    account_id: str
    owner: str


@dataclass(frozen=True, kw_only=True)
class Deposited(Event):
    account_id: str
    amount_cents: int


@dataclass(frozen=True, kw_only=True)
class Withdrawn(Event):
    account_id: str
    amount_cents: int


class InsufficientFundsError(DomainError):
    """Raised when a withdrawal is larger than the balance."""


class AccountNotFoundError(DomainError, LookupError):
    """Raised when a command names an account that does not exist."""


class Account(Aggregate):
    def __init__(self, account_id: str) -> None:
        super().__init__(account_id)
        self.owner = ""
        self.balance_cents = 0

    @classmethod
    def open(cls, account_id: str, owner: str) -> Account:
        if not owner.strip():
            raise DomainError("an account needs an owner")
        account = cls(account_id)
        account.record(AccountOpened(account_id=account_id, owner=owner))
        return account

    def deposit(self, amount_cents: int) -> None:
        if amount_cents <= 0:
            raise DomainError(f"a deposit must be > 0 cents, found {amount_cents}")
        self.record(Deposited(account_id=self.id, amount_cents=amount_cents))

    def withdraw(self, amount_cents: int) -> None:
        if amount_cents <= 0:
            raise DomainError(f"a withdrawal must be > 0 cents, found {amount_cents}")
        if amount_cents > self.balance_cents:
            raise InsufficientFundsError(
                f"cannot withdraw {amount_cents} cents from {self.id!r}: "
                f"the balance is {self.balance_cents} cents"
            )
        self.record(Withdrawn(account_id=self.id, amount_cents=amount_cents))

    def apply(self, event: Event) -> None:
        if isinstance(event, AccountOpened):
            self.owner = event.owner
        elif isinstance(event, Deposited):
            self.balance_cents += event.amount_cents
        elif isinstance(event, Withdrawn):
            self.balance_cents -= event.amount_cents
        else:
            raise TypeError(f"Account cannot apply {type(event).__name__}")


@dataclass
class Bank:
    store: InMemoryEventStore
    commands: CommandBus
    queries: QueryBus
    balances: dict[str, int]


def build_bank() -> Bank:
    clock = ManualClock(step=1.0)
    store = InMemoryEventStore(
        clock=clock, registry=EventRegistry([AccountOpened, Deposited, Withdrawn])
    )
    accounts = Repository(store, Account)
    commands = CommandBus(clock=clock, ids=SequentialIds("cmd"))
    queries = QueryBus()

    def load(account_id: str) -> Account:
        try:
            return accounts.load(account_id)
        except AggregateNotFoundError:
            raise AccountNotFoundError(f"account {account_id!r} not found") from None

    @commands.handles(OpenAccount)
    def open_account(envelope: CommandEnvelope[OpenAccount]) -> Receipt:
        command = envelope.command
        return accounts.save(Account.open(command.account_id, command.owner), cause=envelope)

    @commands.handles(Deposit)
    def deposit(envelope: CommandEnvelope[Deposit]) -> Receipt:
        account = load(envelope.command.account_id)
        account.deposit(envelope.command.amount_cents)
        return accounts.save(account, cause=envelope)

    @commands.handles(Withdraw)
    def withdraw(envelope: CommandEnvelope[Withdraw]) -> Receipt:
        account = load(envelope.command.account_id)
        account.withdraw(envelope.command.amount_cents)
        return accounts.save(account, cause=envelope)

    # A read model kept by a store subscriber, reading each event once after its checkpoint.
    balances: dict[str, int] = {}
    checkpoint = 0

    def project(head: int) -> None:
        nonlocal checkpoint
        for record in store.read_all(after_position=checkpoint):
            event = record.event
            if isinstance(event, AccountOpened):
                balances[event.account_id] = 0
            elif isinstance(event, Deposited):
                balances[event.account_id] += event.amount_cents
            elif isinstance(event, Withdrawn):
                balances[event.account_id] -= event.amount_cents
            checkpoint = record.position

    store.subscribe(project)
    queries.register(GetBalance, lambda query: balances.get(query.account_id))
    return Bank(store, commands, queries, balances)


@pytest.fixture
def bank() -> Bank:
    return build_bank()


# --- behaviour ---------------------------------------------------------------------------------


def test_deposits_and_withdrawals_move_the_balance(bank: Bank) -> None:
    bank.commands.dispatch(OpenAccount(account_id="acc-1", owner="ada"))
    bank.commands.dispatch(Deposit(account_id="acc-1", amount_cents=1_000))
    receipt = bank.commands.dispatch(Withdraw(account_id="acc-1", amount_cents=300))

    assert (receipt.stream_id, receipt.stream_version, receipt.position) == ("acc-1", 3, 3)
    assert receipt.command_id == "cmd-0003"
    assert [r.causation_id for r in bank.store.read_stream("acc-1")] == [
        "cmd-0001",
        "cmd-0002",
        "cmd-0003",
    ]
    assert bank.queries.dispatch(GetBalance(account_id="acc-1")) == 700


def test_the_aggregate_rebuilt_from_its_events_has_the_same_balance(bank: Bank) -> None:
    bank.commands.dispatch(OpenAccount(account_id="acc-1", owner="ada"))
    for amount in (500, 250, 125):
        bank.commands.dispatch(Deposit(account_id="acc-1", amount_cents=amount))
    bank.commands.dispatch(Withdraw(account_id="acc-1", amount_cents=75))

    account = Repository(bank.store, Account).load("acc-1")

    assert (account.owner, account.balance_cents, account.version) == ("ada", 800, 5)


def test_withdrawing_more_than_the_balance_is_refused_and_appends_nothing(bank: Bank) -> None:
    bank.commands.dispatch(OpenAccount(account_id="acc-1", owner="ada"))
    bank.commands.dispatch(Deposit(account_id="acc-1", amount_cents=100))
    before = bank.store.read_all()

    with pytest.raises(InsufficientFundsError, match="the balance is 100 cents") as caught:
        bank.commands.dispatch(Withdraw(account_id="acc-1", amount_cents=101))

    assert isinstance(caught.value, DomainError)
    assert bank.store.read_all() == before
    assert bank.queries.dispatch(GetBalance(account_id="acc-1")) == 100


@pytest.mark.parametrize("command", [Deposit, Withdraw])
def test_amounts_must_be_positive(bank: Bank, command: type[Deposit] | type[Withdraw]) -> None:
    bank.commands.dispatch(OpenAccount(account_id="acc-1", owner="ada"))

    with pytest.raises(DomainError, match="must be > 0 cents, found 0"):
        bank.commands.dispatch(command(account_id="acc-1", amount_cents=0))

    assert bank.store.head == 1


def test_an_unknown_account_is_a_domain_error(bank: Bank) -> None:
    with pytest.raises(AccountNotFoundError, match="account 'acc-9' not found"):
        bank.commands.dispatch(Deposit(account_id="acc-9", amount_cents=1))

    assert bank.store.head == 0


def test_opening_an_account_twice_is_a_concurrency_error_from_the_store(bank: Bank) -> None:
    bank.commands.dispatch(OpenAccount(account_id="acc-1", owner="ada"))

    with pytest.raises(ConcurrencyError, match="expected version 0 \\(NO_STREAM\\)"):
        bank.commands.dispatch(OpenAccount(account_id="acc-1", owner="bob"))

    assert Repository(bank.store, Account).load("acc-1").owner == "ada"


def test_the_read_model_follows_every_account(bank: Bank) -> None:
    for account_id, amount in [("acc-1", 10), ("acc-2", 20), ("acc-1", 5)]:
        if not bank.store.stream_version(account_id):
            bank.commands.dispatch(OpenAccount(account_id=account_id, owner="o"))
        bank.commands.dispatch(Deposit(account_id=account_id, amount_cents=amount))

    assert bank.balances == {"acc-1": 15, "acc-2": 20}


def test_no_core_module_imports_the_examples() -> None:
    # The core is the package's top-level modules; ui/, sim/ and exercises/ may use the example.
    package = Path(cqrs_lab.__file__).parent
    offenders: list[str] = []
    for path in sorted(package.glob("*.py")):
        if path.name == "__main__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            offenders += [f"{path.name}: {n}" for n in names if n.startswith("cqrs_lab.examples")]

    assert offenders == []
