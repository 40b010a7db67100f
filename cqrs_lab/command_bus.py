"""The command bus: one handler per command type, returning the receipt of what was appended.

>>> from dataclasses import dataclass
>>> from cqrs_lab.clock import ManualClock
>>> from cqrs_lab.ids import SequentialIds
>>> @dataclass(frozen=True, kw_only=True)
... class Ping(Command):
...     pass
>>> bus = CommandBus(clock=ManualClock(), ids=SequentialIds("cmd"))
>>> @bus.handles(Ping)
... def ping(command: Ping) -> Receipt:
...     return Receipt("pings", 1, 1, command.command_id)
>>> bus.dispatch(Ping())
Receipt(stream_id='pings', stream_version=1, position=1, command_id='cmd-0001')
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from cqrs_lab.clock import Clock, SystemClock
from cqrs_lab.construction import faster_replace
from cqrs_lab.errors import HandlerResultError, InvalidArgumentError, parse_choice
from cqrs_lab.event_store import Receipt
from cqrs_lab.handlers import MessageBus, Middleware
from cqrs_lab.ids import IdFactory, UuidIds
from cqrs_lab.messages import Command

if TYPE_CHECKING:
    from cqrs_lab.consistency import ConsistencyWaiter

__all__ = ["CommandBus", "Consistency"]


class Consistency(StrEnum):
    """How long :meth:`CommandBus.dispatch` waits before it returns."""

    EVENTUAL = "eventual"
    """Return as soon as the events are stored; read models follow later."""
    STRONG = "strong"
    """Also wait (up to a timeout) until the named read models have applied the events."""


class CommandBus(MessageBus[Command]):
    """Dispatches each command to its one handler; the handler returns a :class:`Receipt`.

    Commands arriving without ``command_id`` or ``issued_at`` are stamped from the injected
    ``ids`` and ``clock`` (the handler and the middleware see the stamped copy).
    """

    kind = "command"

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        ids: IdFactory | None = None,
        middleware: tuple[Middleware, ...] = (),
        waiter: ConsistencyWaiter | None = None,
    ) -> None:
        super().__init__(middleware=middleware)
        self.clock: Clock = clock or SystemClock()
        self.ids: IdFactory = ids or UuidIds("cmd")
        self.waiter = waiter

    def stamp(self, command: Command) -> Command:
        """``command`` with an id, a time and a correlation id, keeping any it already has."""
        stamped = _STAMPED.get(type(command))
        if stamped is None:  # the first command of its type
            if not isinstance(command, Command):
                raise InvalidArgumentError(
                    f"dispatch takes a Command, found {type(command).__name__}; "
                    "queries go to the QueryBus"
                )
            stamped = _STAMPED[type(command)] = _stamper(type(command))
        if command.command_id and command.issued_at is not None and command.correlation_id:
            return command
        command_id = command.command_id or self.ids()
        return stamped(
            command,
            command_id,
            command.issued_at or self.clock.now(),
            command.correlation_id or command_id,
        )

    def dispatch(
        self,
        command: Command,
        *,
        consistency: Consistency | str = Consistency.EVENTUAL,
        projections: Sequence[str] | None = None,
        timeout: float = 1.0,
    ) -> Receipt:
        """Handle ``command`` and return the receipt of what it appended.

        Errors from the handler (a :class:`~cqrs_lab.errors.DomainError`, a
        :class:`~cqrs_lab.errors.ConcurrencyError`) propagate unchanged; nothing was appended.
        With ``consistency="strong"`` it then waits up to ``timeout`` seconds for ``projections``
        (default: all the waiter watches); ``receipt.caught_up`` says whether they made it. The
        command has succeeded either way.
        """
        if consistency is _EVENTUAL:  # the default: nothing to check or wait for
            result = self._run(self.stamp(command))
            return result if type(result) is Receipt else self._checked(result, command)
        mode = self._mode(consistency, projections, timeout)
        receipt = self._checked(self._run(self.stamp(command)), command)
        return self._settled(receipt, mode, projections, timeout)

    async def adispatch(
        self,
        command: Command,
        *,
        consistency: Consistency | str = Consistency.EVENTUAL,
        projections: Sequence[str] | None = None,
        timeout: float = 1.0,
    ) -> Receipt:
        """Like :meth:`dispatch`, awaitable from a notebook cell or a coroutine."""
        mode = self._mode(consistency, projections, timeout)
        receipt = self._checked(await self._arun(self.stamp(command), self._run), command)
        if mode is Consistency.EVENTUAL:
            return receipt
        return await asyncio.to_thread(self._settled, receipt, mode, projections, timeout)

    def _mode(
        self, consistency: Consistency | str, projections: Sequence[str] | None, timeout: float
    ) -> Consistency:
        # checked before the handler runs: after an error, nothing must have been appended
        mode = parse_choice(Consistency, consistency, "consistency")
        if mode is Consistency.STRONG:
            if self.waiter is None:
                raise InvalidArgumentError(
                    "consistency='strong' needs a ConsistencyWaiter: CommandBus(waiter=...)"
                )
            self.waiter.check_projections(projections)
            if timeout < 0:
                raise InvalidArgumentError(f"timeout must be >= 0 seconds, found {timeout}")
        return mode

    def _settled(
        self,
        receipt: Receipt,
        mode: Consistency,
        projections: Sequence[str] | None,
        timeout: float,
    ) -> Receipt:
        if mode is Consistency.EVENTUAL or self.waiter is None:
            return receipt
        wait = self.waiter.wait(
            receipt.position, timeout=timeout, projections=projections, on_timeout="return_stale"
        )
        return dataclasses.replace(receipt, wait=wait)

    @staticmethod
    def _checked(result: object, command: Command) -> Receipt:
        if not isinstance(result, Receipt):
            raise HandlerResultError(
                f"the handler for {type(command).__name__} returned {type(result).__name__}; "
                "a command handler must return the Receipt of its append"
            )
        return result


_EVENTUAL = Consistency.EVENTUAL  # read once: an enum member read from its class is slow
_STAMP_FIELDS = ("command_id", "issued_at", "correlation_id")

Stamper = Callable[[Command, str, datetime, str], Command]
_STAMPED: dict[type, Stamper] = {}  # command type -> how to stamp a copy of one


def _stamper(command_type: type) -> Stamper:
    """How to copy a ``command_type`` with its stamp set; the original stays as it was.

    ``dataclasses.replace`` re-runs the frozen ``__init__``, which sets every field through
    ``object.__setattr__``; a ``replace`` built for the three stamp fields copies the instance
    dict or slots instead (see :func:`~cqrs_lab.construction.faster_replace`).
    """
    faster = faster_replace(command_type, _STAMP_FIELDS)
    return faster if faster is not None else _replace_stamped


def _replace_stamped(
    command: Command, command_id: str, issued_at: datetime, correlation_id: str
) -> Command:
    return dataclasses.replace(
        command, command_id=command_id, issued_at=issued_at, correlation_id=correlation_id
    )
