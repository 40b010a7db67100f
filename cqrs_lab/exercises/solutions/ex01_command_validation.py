"""Worked solution of exercise 1: the Withdraw handler."""

from cqrs_lab import CommandEnvelope, Receipt, Repository
from cqrs_lab.exercises import ex01


def handle_withdraw(
    envelope: CommandEnvelope[ex01.Withdraw], accounts: Repository[ex01.BankAccount]
) -> Receipt:
    """Take money out of an account -- or refuse, appending nothing."""
    command = envelope.command
    amount = command.amount_cents
    # validate first: a command that raises must leave the store as it was
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ex01.InvalidAmountError(f"amount_cents must be a whole number > 0, found {amount!r}")
    account = accounts.load(command.account_id)
    if amount > account.balance_cents:
        raise ex01.InsufficientFundsError(
            f"cannot withdraw {amount} cents from {account.id!r}: "
            f"expected at most the balance, {account.balance_cents}"
        )
    account.record(ex01.MoneyWithdrawn(account_id=account.id, amount_cents=amount))
    # cause= puts the command's id on the event; the receipt is the read-your-writes token
    return accounts.save(account, cause=envelope)
