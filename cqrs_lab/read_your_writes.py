"""Read-your-writes: dispatch a command, then wait until the read models have seen it.

The write side knows nothing of read models: a command bus returns a
:class:`~cqrs_lab.messages.Receipt` as soon as the events are stored. This module composes the
two sides one layer up. :func:`dispatch` hands the command to the bus and, when asked for
``consistency="strong"``, waits on a :class:`~cqrs_lab.consistency.ConsistencyWaiter` for the
receipt's position. The command has succeeded either way; the result says whether the read
models caught up in time, in one shape whatever happened: a wait that timed out, or that met a
projector stopped on a failure, is reported in the result and never raised, so that a caller
does not take a committed command for a failed one and send it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from cqrs_lab.command_bus import CommandBus
from cqrs_lab.consistency import ConsistencyWaiter, OnTimeout, WaitResult
from cqrs_lab.errors import InvalidArgumentError, ProjectorStoppedError, parse_choice
from cqrs_lab.messages import Command, Receipt

__all__ = ["Consistency", "Dispatched", "dispatch"]


class Consistency(StrEnum):
    """How long :func:`dispatch` waits before it returns."""

    EVENTUAL = "eventual"
    """Return as soon as the events are stored; read models follow later."""
    STRONG = "strong"
    """Also wait (up to a timeout) until the named read models have applied the events."""


@dataclass(frozen=True, slots=True)
class Dispatched:
    """What a dispatch wrote, and, after a strong one, how the wait for the read models ended."""

    receipt: Receipt
    wait: WaitResult | None = field(default=None, repr=False)
    """None after an eventual dispatch (nothing was waited for), or when the wait was cut short
    by a stopped projector (see :attr:`stopped`)."""
    stopped: ProjectorStoppedError | None = field(default=None, repr=False)
    """After a strong dispatch: why the read models will not catch up, if a projector they
    wait for has stopped on a failure (the wait ended at once); None otherwise."""

    @property
    def position(self) -> int:
        """The receipt's global position: the read-your-writes token."""
        return self.receipt.position

    @property
    def caught_up(self) -> bool | None:
        """After a strong dispatch, whether the read models caught up in time; None otherwise."""
        if self.stopped is not None:
            return False
        return None if self.wait is None else self.wait.reached


def dispatch(
    commands: CommandBus,
    waiter: ConsistencyWaiter | None,
    command: Command,
    *,
    consistency: Consistency | str = Consistency.EVENTUAL,
    projections: Sequence[str] | None = None,
    timeout: float = 1.0,
    command_id: str | None = None,
    correlation_id: str | None = None,
) -> Dispatched:
    """Dispatch ``command`` on ``commands``; with ``consistency="strong"`` wait for the read models.

    The arguments are checked before the command runs, so a mistake here appends nothing.
    ``projections`` names the read models to wait for (default: all the waiter watches); a
    wait that times out, or meets a projector stopped on a failure (``stopped``), is reported
    in the result (``caught_up`` False), not raised: the command is committed either way.
    ``command_id`` and ``correlation_id`` go to :meth:`CommandBus.dispatch`.
    """
    mode = parse_choice(Consistency, consistency, "consistency")
    if mode is Consistency.STRONG:
        if waiter is None:
            raise InvalidArgumentError(
                "consistency='strong' needs a ConsistencyWaiter watching the read models, "
                "found none"
            )
        waiter.check_projections(projections)
        if timeout < 0:
            raise InvalidArgumentError(f"timeout must be >= 0 seconds, found {timeout}")
    receipt = commands.dispatch(command, command_id=command_id, correlation_id=correlation_id)
    if mode is Consistency.EVENTUAL or waiter is None:
        return Dispatched(receipt)
    try:
        wait = waiter.wait(
            receipt.position,
            timeout=timeout,
            projections=projections,
            on_timeout=OnTimeout.RETURN_STALE,
        )
    except ProjectorStoppedError as stopped:
        return Dispatched(receipt, stopped=stopped)  # committed: say why it is not readable yet
    return Dispatched(receipt, wait)
