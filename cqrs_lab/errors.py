"""Every error the kit raises, rooted at :class:`CqrsLabError`.

Each error also subclasses the builtin it resembles, so callers can catch either:
a timeout is a :class:`TimeoutError`, a bad argument is a :class:`ValueError`.
"""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

__all__ = [
    "AggregateNotFoundError",
    "ConcurrencyError",
    "ConsistencyTimeoutError",
    "CqrsLabError",
    "DomainError",
    "DuplicateHandlerError",
    "HandlerNotFoundError",
    "HandlerResultError",
    "InvalidArgumentError",
    "InvalidProjectionError",
    "InvalidQueryError",
    "ProjectionFailedError",
    "ProjectionResultError",
    "ProjectorCrashedError",
    "ProjectorStoppedError",
    "StoreUnavailableError",
    "SubscriberError",
    "UnknownEventTypeError",
    "UpcastError",
    "parse_choice",
]

E = TypeVar("E", bound=Enum)


class CqrsLabError(Exception):
    """Raised for every error of the kit; catch this to catch them all."""


class InvalidArgumentError(CqrsLabError, ValueError):
    """Raised when an argument is outside what a function accepts."""


class ConcurrencyError(CqrsLabError):
    """Raised when an append's expected version is not the stream's actual version."""

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"stream {stream_id!r}: expected version {_describe_version(expected)}, "
            f"found version {actual}; reload the stream and decide again"
        )


def _describe_version(version: int) -> str:
    if version == -1:
        return "ANY_VERSION"
    if version == 0:
        return "0 (NO_STREAM)"
    return str(version)


class HandlerNotFoundError(CqrsLabError, LookupError):
    """Raised when a bus is asked to dispatch a message type it has no handler for."""


class DuplicateHandlerError(CqrsLabError, ValueError):
    """Raised when a second handler is registered for a message type."""


class HandlerResultError(CqrsLabError, TypeError):
    """Raised when a handler returns something other than what its bus promises."""


class DomainError(CqrsLabError, ValueError):
    """Raised when a command breaks a business rule; nothing was appended."""


class AggregateNotFoundError(CqrsLabError, LookupError):
    """Raised when a repository is asked to load a stream that does not exist."""


class UnknownEventTypeError(CqrsLabError, LookupError):
    """Raised when a stored event names a type that no registry knows."""


class UpcastError(CqrsLabError, ValueError):
    """Raised when a stored schema version has no upcaster path to the current one."""


class SubscriberError(CqrsLabError, RuntimeError):
    """Raised when a store subscriber fails; the append it was told about is committed."""


class InvalidQueryError(InvalidArgumentError):
    """Raised when a query's arguments are outside what its handler accepts."""


class ProjectionFailedError(CqrsLabError, RuntimeError):
    """Raised when a projection fails on an event and its policy stops it there."""

    def __init__(
        self, projection: str, position: int, event_type: str, cause: BaseException
    ) -> None:
        self.projection = projection
        self.position = position
        self.event_type = event_type
        super().__init__(
            f"projection {projection!r} failed on event {position} ({event_type}): {cause!r}; "
            f"its checkpoint stays at {position - 1}. Fix the cause, then call resume()"
        )


class InvalidProjectionError(CqrsLabError, TypeError):
    """Raised when a projection is defined or registered without a name, or with handles that
    cannot match an event (a class instead of its name, a name the event registry does not know).
    """


class ProjectionResultError(CqrsLabError, TypeError):
    """Raised when a projection's ``project()`` returns something other than row changes."""


class ProjectorCrashedError(CqrsLabError, RuntimeError):
    """Raised when a projector meets an error outside its projection (a commit, a listener).

    A live projector keeps it as its ``failure`` and waits for ``resume()``, like a stop.
    """

    def __init__(self, projector: str, checkpoint: int, cause: BaseException) -> None:
        self.projector = projector
        self.checkpoint = checkpoint
        super().__init__(
            f"projector {projector!r} stopped at checkpoint {checkpoint}: {cause!r}. "
            f"Fix the cause, then call resume()"
        )


class ProjectorStoppedError(CqrsLabError, RuntimeError):
    """Raised when a wait cannot end because a projector it waits for has stopped on a failure."""

    def __init__(self, position: int, projector: str, failure: BaseException) -> None:
        self.position = position
        self.projector = projector
        self.failure = failure
        super().__init__(
            f"cannot wait for position {position}: projector {projector!r} has stopped "
            f"({failure}); waiting would only time out"
        )


class StoreUnavailableError(CqrsLabError, ConnectionError):
    """Raised when a database server cannot be reached or a connection drops mid-operation."""


class ConsistencyTimeoutError(CqrsLabError, TimeoutError):
    """Raised when a read model has not reached a position within the timeout."""

    def __init__(self, position: int, behind: dict[str, int], timeout: float) -> None:
        self.position = position
        self.behind = behind
        self.timeout = timeout
        lagging = ", ".join(
            f"{name} at {checkpoint}" for name, checkpoint in sorted(behind.items())
        )
        super().__init__(
            f"read model(s) did not reach position {position} within {timeout:g} s "
            f"({lagging}); the write succeeded, only the read side is behind"
        )


def parse_choice(choices: type[E], value: object, name: str) -> E:
    """``value`` as a member of the enum ``choices``, or an error listing what is allowed.

    >>> from cqrs_lab.failures import FailurePolicy
    >>> parse_choice(FailurePolicy, "stop", "policy")
    <FailurePolicy.STOP: 'stop'>
    >>> parse_choice(FailurePolicy, "ignore", "policy")
    Traceback (most recent call last):
    ...
    cqrs_lab.errors.InvalidArgumentError: policy must be one of ['stop', ...], found 'ignore'
    """
    try:
        return choices(value)
    except ValueError:
        allowed = [member.value for member in choices]
        raise InvalidArgumentError(f"{name} must be one of {allowed}, found {value!r}") from None
