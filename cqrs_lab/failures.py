"""What a projector does when its projection fails on an event: its policy, and dead letters.

Every policy here keeps a record: the checkpoint never moves past a failed event unless the
event is parked as a :class:`DeadLetter`. (Moving past it with only a log line loses the event
without a trace; that mistake is kept, runnable, in :class:`cqrs_lab.pitfalls.SilentSkip`.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from cqrs_lab.clock import Clock
from cqrs_lab.errors import InvalidArgumentError, ProjectionFailedError, ProjectionResultError
from cqrs_lab.messages import RecordedEvent
from cqrs_lab.projection import Changes, Projection, ReadModel, RowReader

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DeadLetter",
    "FailurePolicy",
    "Recovery",
    "dead_letters_frame",
    "project_checked",
    "wrong_result",
]


class FailurePolicy(StrEnum):
    """What a projector does when its projection raises on an event."""

    STOP = "stop"
    """Stay before the failing event; the error is kept in ``failure`` and raised to callers."""
    RETRY = "retry"
    """Try again up to ``max_attempts`` times with growing backoff; then stop."""
    DEAD_LETTER = "dead_letter"
    """Record the event, error and time in ``dead_letters``, move on; replay them after a fix."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An event a projection failed on, parked with the error for a later replay."""

    projection: str
    position: int
    stream_id: str
    event_type: str
    error: str
    failed_at: datetime
    attempts: int
    record: RecordedEvent


def wrong_result(projection: str, record: RecordedEvent, result: Any) -> ProjectionResultError:
    """The error for a ``project()`` that returned ``result`` rather than row changes."""
    hint = "; did project() forget to return?" if result is None else ""
    return ProjectionResultError(
        f"projection {projection!r} returned {result!r} for event {record.position} "
        f"({record.event_type}); expected a mapping of key -> row (None deletes a row){hint}"
    )


def project_checked(
    projection: Projection[Any], record: RecordedEvent, view: RowReader[Any]
) -> Changes:
    """``projection.project(record, view)``, refused unless it returned row changes."""
    changes = projection.project(record, view)
    if not isinstance(changes, (dict, Mapping)):  # dict first: the usual case, checked cheaply
        raise wrong_result(projection.name, record, changes)
    return changes


class Recovery:
    """Applies a :class:`FailurePolicy` to an event its projection failed on.

    Args:
        policy: stop, retry or dead-letter.
        max_attempts: attempts per event under ``RETRY`` (>= 1), the failed one included.
        backoff: seconds before the first retry, doubled for each further one.
        clock: dates dead letters.
        pause: waits between retries (the projector passes one that its ``stop()`` interrupts).
    """

    def __init__(
        self,
        policy: FailurePolicy,
        *,
        max_attempts: int,
        backoff: float,
        clock: Clock,
        pause: Callable[[float], object],
    ) -> None:
        if max_attempts < 1:
            raise InvalidArgumentError(f"max_attempts must be >= 1, found {max_attempts}")
        if backoff < 0:
            raise InvalidArgumentError(f"backoff must be >= 0 seconds, found {backoff}")
        self.policy = policy
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.clock = clock
        self.pause = pause

    def recover(
        self,
        projection: Projection[Any],
        record: RecordedEvent,
        view: RowReader[Any],
        error: Exception,
        dead_letters: list[DeadLetter],
    ) -> Changes:
        """The changes to commit at ``record``'s position: a retry's, or none once it is parked.

        Raises :class:`ProjectionFailedError` (caused by the last error) to stop before it.
        """
        attempts = 1
        if self.policy is FailurePolicy.RETRY:
            delay = self.backoff
            while attempts < self.max_attempts:
                self.pause(delay)
                delay *= 2
                attempts += 1
                try:
                    return project_checked(projection, record, view)
                except Exception as again:
                    error = again
        if self.policy is FailurePolicy.DEAD_LETTER:
            dead_letters.append(self.letter(projection.name, record, error, attempts))
            return {}
        failure = ProjectionFailedError(projection.name, record.position, record.event_type, error)
        failure.__cause__ = error
        raise failure

    def replay(
        self,
        projection: Projection[Any],
        model: ReadModel[Any],
        dead_letters: list[DeadLetter],
    ) -> list[DeadLetter]:
        """Apply each parked event again, out of order; returns those that failed again.

        Each that fails again is parked anew, with the new error and one more attempt.
        """
        remaining: list[DeadLetter] = []
        for letter in dead_letters:
            try:
                changes = project_checked(projection, letter.record, model)
            except Exception as error:
                attempts = letter.attempts + 1
                remaining.append(self.letter(projection.name, letter.record, error, attempts))
                continue
            model.apply_out_of_order(changes)
        return remaining

    def letter(
        self, projection: str, record: RecordedEvent, error: Exception, attempts: int
    ) -> DeadLetter:
        """A dead letter for ``record``, dated now."""
        return DeadLetter(
            projection,
            record.position,
            record.stream_id,
            record.event_type,
            repr(error),
            self.clock.now(),
            attempts,
            record,
        )


def dead_letters_frame(letters: Iterable[DeadLetter]) -> pd.DataFrame:
    """Dead letters as a DataFrame, one row per parked event, indexed by position."""
    import pandas as pd

    columns = ["position", "stream_id", "event_type", "error", "failed_at", "attempts"]
    rows = [{c: getattr(letter, c) for c in columns} for letter in letters]
    return pd.DataFrame(rows, columns=columns).set_index("position")
