"""A pool of PostgreSQL connections shared by the adapters on it (needs the ``postgres`` extra).

The PostgreSQL twin of :class:`~cqrs_lab.adapters.sqlite_database.SqliteDatabase`: explicit
transactions, bound values, and one place that turns a dropped connection into
:class:`~cqrs_lab.errors.StoreUnavailableError`. Connections are in autocommit mode, so nothing
is ever left open between statements; :meth:`PostgresDatabase.transaction` is the only way to
group statements, and it commits them whole or rolls them back.

A ``schema`` keeps one kit's tables apart from another's in the same database (tests give each
store its own); the notification channels carry the schema's name too, so a projector listening
to one schema is not woken by appends to another.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool, PoolTimeout

from cqrs_lab.adapters.sqlite_database import check_identifier
from cqrs_lab.errors import InvalidArgumentError, StoreUnavailableError

__all__ = [
    "CHECKPOINTS_CHANNEL",
    "EVENTS_CHANNEL",
    "FAILURES_CHANNEL",
    "PostgresDatabase",
    "is_postgres_url",
    "unavailable",
]

EVENTS_CHANNEL: Final = "cqrs_lab_events"
"""Base name of the channel an append notifies with the position of its last event."""

CHECKPOINTS_CHANNEL: Final = "cqrs_lab_checkpoints"
"""Base name of the channel a read model notifies with ``name:position`` after each commit."""

FAILURES_CHANNEL: Final = "cqrs_lab_failures"
"""Base name of the channel that carries a projector's name when its failure is recorded or
cleared."""

_URL = re.compile(r"postgres(ql)?://", re.IGNORECASE)

_DDL_LOCK: Final = 0x63717273  # an advisory lock key of the kit's own ("cqrs")
_TAKE_DDL_LOCK: Final = "SELECT pg_advisory_xact_lock(%s)"


def is_postgres_url(text: str) -> bool:
    """Whether ``text`` is a PostgreSQL URL (``postgresql://...`` or ``postgres://...``).

    >>> is_postgres_url("postgresql://127.0.0.1/test"), is_postgres_url("orders.sqlite3")
    (True, False)
    """
    return bool(_URL.match(text))


def unavailable(error: BaseException, doing: str) -> StoreUnavailableError:
    """A :class:`StoreUnavailableError` saying what was being done when ``error`` struck."""
    detail = " ".join(str(error).split()).rstrip(".")  # libpq's messages span lines
    return StoreUnavailableError(
        f"PostgreSQL was unavailable while {doing}: {detail}. Nothing is half-written: the "
        "transaction was rolled back whole (or, if the connection dropped during COMMIT, may "
        "have committed whole: read back to know). Check the server and try again"
    )


class PostgresDatabase:
    """A connection pool on one PostgreSQL database, optionally confined to one schema.

    Args:
        url: a ``postgresql://`` URL (any libpq connection string works).
        schema: the schema holding the kit's tables, created if missing (default: ``public``).
        min_size, max_size: connections the pool keeps open at least, and opens at most.
        timeout: seconds to wait for a connection before raising StoreUnavailableError.
        application_name: how the connections show in ``pg_stat_activity``.
    """

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        min_size: int = 1,
        max_size: int = 4,
        timeout: float = 10.0,
        application_name: str = "cqrs_lab",
    ) -> None:
        if not isinstance(url, str) or not url:
            raise InvalidArgumentError(f"url must be a PostgreSQL URL, found {url!r}")
        if not 1 <= min_size <= max_size:
            raise InvalidArgumentError(
                f"expected 1 <= min_size <= max_size, found min_size={min_size}, "
                f"max_size={max_size}"
            )
        self.url = url
        self.schema = check_identifier(schema) if schema is not None else None
        # recorded_at comes back in UTC, as the clocks give it; the schema is an identifier
        options = "-c TimeZone=UTC"
        if self.schema is not None:
            options += f" -c search_path={self.schema}"
        kwargs: dict[str, Any] = {
            "autocommit": True,
            "options": options,
            "application_name": application_name,
        }
        self._kwargs = kwargs
        self.timeout = timeout
        if self.schema is not None:
            with self.connect(use_schema=False) as connection, connection.transaction():
                connection.execute(_TAKE_DDL_LOCK, (_DDL_LOCK,))
                connection.execute(
                    sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema))
                )
        self.pool: ConnectionPool[psycopg.Connection[tuple[Any, ...]]] = ConnectionPool(
            url,
            kwargs=kwargs,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            check=ConnectionPool.check_connection,  # a connection dropped while idle is replaced
            name="cqrs_lab",
            open=False,
        )
        try:
            self.pool.open(wait=True, timeout=timeout)
        except PoolTimeout as error:
            self.pool.close()
            raise unavailable(error, f"connecting to {self.safe_url}") from error

    @property
    def safe_url(self) -> str:
        """The URL without its password, for messages."""
        return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", self.url)

    def channel(self, base: str) -> str:
        """The notification channel ``base`` for this database's schema."""
        return base if self.schema is None else f"{base}_{self.schema}"

    def connect(self, *, use_schema: bool = True) -> psycopg.Connection[tuple[Any, ...]]:
        """A new connection of its own (not from the pool), in autocommit mode; close it after.

        For what must hold one connection for long: a LISTEN, a session-level lock.
        """
        kwargs = self._kwargs if use_schema else {**self._kwargs, "options": "-c TimeZone=UTC"}
        try:
            return psycopg.connect(self.url, connect_timeout=max(1, round(self.timeout)), **kwargs)
        except psycopg.OperationalError as error:
            raise unavailable(error, f"connecting to {self.safe_url}") from error

    @contextmanager
    def transaction(self, doing: str = "running a transaction") -> Iterator[psycopg.Connection]:
        """One transaction on a pooled connection: committed whole, or rolled back whole.

        A dropped connection or an unreachable server is raised as StoreUnavailableError; a
        transaction cut off before COMMIT reached the server has left nothing behind.
        """
        try:
            with self.pool.connection() as connection, connection.transaction():
                yield connection
        except (psycopg.OperationalError, PoolTimeout) as error:
            raise unavailable(error, doing) from error

    @contextmanager
    def schema_transaction(self, doing: str) -> Iterator[psycopg.Connection]:
        """A transaction for ``CREATE ... IF NOT EXISTS`` statements, one process at a time.

        Two processes starting together (uvicorn workers) would otherwise race to create the
        same table, and one would fail on a duplicate in PostgreSQL's catalog.
        """
        with self.transaction(doing) as connection:
            connection.execute(_TAKE_DDL_LOCK, (_DDL_LOCK,))
            yield connection

    @contextmanager
    def snapshot(self) -> Iterator[psycopg.Connection]:
        """A read-only transaction whose statements all see one state of the database."""
        with self.transaction("reading a snapshot") as connection:
            connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield connection

    def fetchall(
        self, query: str | sql.Composed, parameters: Sequence[Any] = ()
    ) -> list[tuple[Any, ...]]:
        """Run one statement with bound ``parameters`` and return every row."""
        try:
            with self.pool.connection() as connection:
                return connection.execute(query, parameters).fetchall()
        except (psycopg.OperationalError, PoolTimeout) as error:
            raise unavailable(error, "reading") from error

    def fetchone(
        self, query: str | sql.Composed, parameters: Sequence[Any] = ()
    ) -> tuple[Any, ...] | None:
        """Run one statement with bound ``parameters`` and return its first row, or None."""
        try:
            with self.pool.connection() as connection:
                return connection.execute(query, parameters).fetchone()
        except (psycopg.OperationalError, PoolTimeout) as error:
            raise unavailable(error, "reading") from error

    def reset_schema(self) -> None:
        """Drop this database's schema with everything in it, and create it again, empty.

        For a notebook or a test that starts afresh; refused without a schema of its own
        (``public`` holds more than the kit's tables).
        """
        if self.schema is None:
            raise InvalidArgumentError(
                "reset_schema needs a PostgresDatabase with a schema of its own, found none"
            )
        name = sql.Identifier(self.schema)
        with self.connect(use_schema=False) as connection, connection.transaction():
            connection.execute(_TAKE_DDL_LOCK, (_DDL_LOCK,))
            connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(name))
            connection.execute(sql.SQL("CREATE SCHEMA {}").format(name))

    def close(self) -> None:
        """Close every pooled connection."""
        self.pool.close()

    def __enter__(self) -> PostgresDatabase:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PostgresDatabase({self.safe_url!r}, schema={self.schema!r})"
