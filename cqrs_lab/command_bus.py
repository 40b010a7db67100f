"""The command bus: one handler per command type, returning the receipt of what was appended.

The bus wraps each command in a :class:`~cqrs_lab.messages.CommandEnvelope` (an id from its
injected id factory, the time from its clock) and hands the envelope to the handler:

>>> from dataclasses import dataclass
>>> from cqrs_lab.clock import ManualClock
>>> from cqrs_lab.ids import SequentialIds
>>> @dataclass(frozen=True, kw_only=True)
... class Ping(Command):
...     pass
>>> bus = CommandBus(clock=ManualClock(), ids=SequentialIds("cmd"))
>>> @bus.handles(Ping)
... def ping(envelope: CommandEnvelope[Ping]) -> Receipt:
...     return Receipt("pings", 1, 1, envelope.command_id)
>>> bus.dispatch(Ping())
Receipt(stream_id='pings', stream_version=1, position=1, command_id='cmd-0001')
"""

from __future__ import annotations

from cqrs_lab.clock import Clock, SystemClock
from cqrs_lab.errors import HandlerResultError, InvalidArgumentError
from cqrs_lab.handlers import MessageBus, Middleware
from cqrs_lab.ids import IdFactory, UuidIds
from cqrs_lab.messages import Command, CommandEnvelope, Receipt

__all__ = ["CommandBus"]


class CommandBus(MessageBus):
    """Dispatches each command, in its envelope, to its one handler; returns a :class:`Receipt`.

    ``clock`` gives each envelope its ``issued_at`` and ``ids`` its ``command_id``; middleware
    runs around every handler, outermost first, and receives the envelope.
    """

    kind = "command"

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        ids: IdFactory | None = None,
        middleware: tuple[Middleware, ...] = (),
    ) -> None:
        super().__init__(middleware=middleware)
        self.clock: Clock = clock or SystemClock()
        self.ids: IdFactory = ids or UuidIds("cmd")

    def dispatch(
        self,
        command: Command,
        *,
        command_id: str | None = None,
        correlation_id: str | None = None,
    ) -> Receipt:
        """Handle ``command`` in its envelope and return the receipt of what it appended.

        ``command_id`` defaults to a new id, ``correlation_id`` to the command id. Errors from the
        handler (a ``DomainError``, a ``ConcurrencyError``) propagate; nothing was appended.
        """
        if not isinstance(command, Command):
            raise InvalidArgumentError(
                f"dispatch takes a Command, found {type(command).__name__}; "
                "queries go to the QueryBus"
            )
        envelope = self.envelope(command, command_id=command_id, correlation_id=correlation_id)
        receipt = self.run(envelope, self._handle)
        if not isinstance(receipt, Receipt):
            raise HandlerResultError(
                f"the handler for {type(command).__name__} returned {type(receipt).__name__}; "
                "a command handler must return the Receipt of its append"
            )
        return receipt

    def _handle(self, envelope: CommandEnvelope[Command]) -> object:
        # looked up inside the middleware, so that it sees an unknown command's error too
        return self.handler_for(type(envelope.command))(envelope)

    def envelope(
        self,
        command: Command,
        *,
        command_id: str | None = None,
        correlation_id: str | None = None,
    ) -> CommandEnvelope[Command]:
        """``command`` in an envelope with its id, correlation id and the time it was issued."""
        if command_id is not None:
            _check_id("command_id", command_id)
        if correlation_id is not None:
            _check_id("correlation_id", correlation_id)
        command_id = command_id or self.ids()  # drawn only once the given ids are known good
        return CommandEnvelope(
            command=command,
            command_id=command_id,
            correlation_id=correlation_id or command_id,
            issued_at=self.clock.now(),
        )


def _check_id(name: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidArgumentError(f"{name} must be a non-empty string, found {value!r}")
