"""A projector's stop, told across processes: the ``projector_failures`` table (``postgres`` extra).

A projector in this process tells the waiters watching it at once when it stops on a failure
(:meth:`~cqrs_lab.projector.Projector.on_failure`). A projector in another process cannot call
them. So the :class:`~cqrs_lab.adapters.postgres_runner.ProjectorRunner` that drives it writes
the failure to this table and notifies the failures channel, in one transaction; a
:class:`~cqrs_lab.adapters.postgres_listener.RemoteCheckpoint` reads the row when it connects
and whenever it hears that channel. A strong write in an API process is then told "that
projector has stopped" at once, instead of waiting for its timeout. The row goes when the
projector starts again: it retries the event it stopped on (and records the failure anew if
the cause is not fixed).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from cqrs_lab.adapters.postgres_database import FAILURES_CHANNEL, PostgresDatabase
from cqrs_lab.errors import CqrsLabError

__all__ = [
    "FAILURES_TABLE",
    "RemoteProjectorError",
    "clear_failure",
    "create_failures_table",
    "read_failure",
    "record_failure",
]

FAILURES_TABLE: Final = "projector_failures"
"""One row per projector stopped on a failure, wherever it runs."""

_CREATE: Final = """
    CREATE TABLE IF NOT EXISTS projector_failures (
        name TEXT PRIMARY KEY,
        checkpoint BIGINT NOT NULL,
        error TEXT NOT NULL,
        failed_at TIMESTAMPTZ NOT NULL
    )
"""

_RECORD: Final = """
    INSERT INTO projector_failures (name, checkpoint, error, failed_at)
    VALUES (%s, %s, %s, now())
    ON CONFLICT (name) DO UPDATE
    SET checkpoint = EXCLUDED.checkpoint, error = EXCLUDED.error, failed_at = EXCLUDED.failed_at
"""

_NOTIFY: Final = "SELECT pg_notify(%s, %s)"


class RemoteProjectorError(CqrsLabError, RuntimeError):
    """A projector in another process has stopped on a failure: what it recorded.

    Attributes: ``name`` (the projector's), ``checkpoint`` (where it stopped), ``error`` (the
    failure's message) and ``failed_at`` (the database server's time of the record).
    """

    def __init__(self, name: str, checkpoint: int, error: str, failed_at: datetime) -> None:
        self.name = name
        self.checkpoint = checkpoint
        self.error = error
        self.failed_at = failed_at
        super().__init__(
            f"projector {name!r} in another process stopped at checkpoint {checkpoint}: {error}"
        )


def create_failures_table(db: PostgresDatabase) -> None:
    """Create the table if it is missing (every process that records or reads does)."""
    with db.schema_transaction("creating the projector_failures table") as connection:
        connection.execute(_CREATE)


def record_failure(db: PostgresDatabase, name: str, checkpoint: int, error: BaseException) -> None:
    """Record that projector ``name`` stopped at ``checkpoint`` on ``error``, and say so on the
    failures channel (delivered at COMMIT, with the row already there to read)."""
    with db.transaction(f"recording the failure of projector {name!r}") as connection:
        connection.execute(_RECORD, (name, checkpoint, str(error)))
        connection.execute(_NOTIFY, (db.channel(FAILURES_CHANNEL), name))


def clear_failure(db: PostgresDatabase, name: str) -> bool:
    """Remove the failure of projector ``name`` (it starts again); returns whether there was one."""
    with db.transaction(f"clearing the failure of projector {name!r}") as connection:
        deleted = connection.execute(
            "DELETE FROM projector_failures WHERE name = %s", (name,)
        ).rowcount
        if deleted:
            connection.execute(_NOTIFY, (db.channel(FAILURES_CHANNEL), name))
    return deleted > 0


def read_failure(db: PostgresDatabase, name: str) -> RemoteProjectorError | None:
    """The failure projector ``name`` recorded, or None if it is not stopped."""
    row = db.fetchone(
        "SELECT checkpoint, error, failed_at FROM projector_failures WHERE name = %s", (name,)
    )
    if row is None:
        return None
    checkpoint, error, failed_at = row
    return RemoteProjectorError(name, checkpoint, error, failed_at)
