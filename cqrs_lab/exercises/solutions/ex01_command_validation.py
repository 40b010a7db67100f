"""Worked solution of exercise 1: the Withdraw handler."""

from cqrs_lab import Receipt, Repository
from cqrs_lab.exercises.ex01_command_validation import (
    BankAccount,
    InsufficientFundsError,
    InvalidAmountError,
    MoneyWithdrawn,
    Withdraw,
)


def handle_withdraw(command: Withdraw, accounts: Repository[BankAccount]) -> Receipt:
    """Take money out of an account: validate first, so a rejected command appends nothing."""
    amount = command.amount_cents
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise InvalidAmountError(f"amount_cents must be a whole number > 0, found {amount!r}")
    account = accounts.load(command.account_id)
    if amount > account.balance_cents:
        raise InsufficientFundsError(
            f"cannot withdraw {amount} cents from {account.id!r}: "
            f"expected at most the balance, {account.balance_cents}"
        )
    account.record(MoneyWithdrawn(account_id=account.id, amount_cents=amount))
    return accounts.save(account, cause=command)
