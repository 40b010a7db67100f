"""One SQLite connection, shared safely by threads and by the adapters built on it.

The event store and a read model may live in one database file, or -- with ``":memory:"`` -- in one
connection; passing the same :class:`SqliteDatabase` to both makes them share its lock, so one
connection is never used by two transactions at once.

>>> db = SqliteDatabase(":memory:")
>>> with db.transaction() as connection:
...     _ = connection.execute("CREATE TABLE notes (text TEXT)")
...     _ = connection.execute("INSERT INTO notes VALUES (?)", ("hi",))
>>> db.fetchall("SELECT text FROM notes")
[('hi',)]
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final, Literal

from cqrs_lab.errors import InvalidArgumentError

__all__ = ["SqliteDatabase", "Synchronous", "check_identifier"]

Synchronous = Literal["OFF", "NORMAL", "FULL", "EXTRA"]
"""SQLite's ``synchronous`` setting: how often it waits for the disk."""

_SYNCHRONOUS: Final = frozenset({"OFF", "NORMAL", "FULL", "EXTRA"})
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def check_identifier(name: str) -> str:
    """Return ``name`` if it is a plain SQL identifier (letters, digits, _), else raise.

    Only names that pass this check are ever formatted into a statement; values are always bound.
    """
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        raise InvalidArgumentError(
            f"expected an SQL identifier (a letter or _, then letters, digits or _; at most 63), "
            f"found {name!r}"
        )
    return name


class SqliteDatabase:
    """A SQLite connection in WAL mode with a lock around every use.

    Args:
        target: a file path, ``":memory:"``, or an open :class:`sqlite3.Connection` (kept open
            by :meth:`close`; open it with ``check_same_thread=False`` to use it from several
            threads, and do not leave a transaction open on it).
        synchronous: ``FULL`` (the default) waits for the disk at every commit; ``NORMAL`` is
            faster and, in WAL mode, still loses nothing when the process is killed -- only a
            power cut may lose the last commits.
        busy_timeout: seconds to wait for another connection's write lock before failing.
    """

    def __init__(
        self,
        target: str | os.PathLike[str] | sqlite3.Connection = ":memory:",
        *,
        synchronous: Synchronous = "FULL",
        busy_timeout: float = 5.0,
    ) -> None:
        if synchronous not in _SYNCHRONOUS:
            raise InvalidArgumentError(
                f"synchronous must be one of {sorted(_SYNCHRONOUS)}, found {synchronous!r}"
            )
        if busy_timeout < 0:
            raise InvalidArgumentError(f"busy_timeout must be >= 0 seconds, found {busy_timeout}")
        if isinstance(target, sqlite3.Connection):
            self.connection = target
            self._owned = False
            self.path = ""
        else:
            self.path = os.fspath(target)
            # isolation_level=None: no implicit transactions; every one here is explicit
            self.connection = sqlite3.connect(
                self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
            self._owned = True
        self.lock = threading.RLock()
        with self.lock:
            self.connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            row = self.connection.execute("PRAGMA journal_mode = WAL").fetchone()
            self.journal_mode: str = str(row[0]).lower()  # "memory" for an in-memory database
            self.connection.execute(f"PRAGMA synchronous = {synchronous}")  # whitelisted above

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: taken at once (BEGIN IMMEDIATE), committed or rolled back whole.

        Taking the write lock first means a check made inside the transaction (a stream's version)
        still holds when the writes happen, and a failed transaction leaves no trace -- not even
        a used-up AUTOINCREMENT number.
        """
        with self.lock:
            connection = self.connection
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
                connection.execute("COMMIT")
            except BaseException:  # including a failed COMMIT: never leave it open
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: several SELECTs that see one state of the database."""
        with self.lock:
            connection = self.connection
            connection.execute("BEGIN")
            try:
                yield connection
            finally:
                if connection.in_transaction:
                    connection.execute("COMMIT")

    def fetchall(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement with bound ``parameters`` and return every row."""
        with self.lock:
            return self.connection.execute(sql, parameters).fetchall()

    def fetchone(self, sql: str, parameters: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """Run one statement with bound ``parameters`` and return its first row, or None."""
        with self.lock:
            row: tuple[Any, ...] | None = self.connection.execute(sql, parameters).fetchone()
            return row

    def close(self) -> None:
        """Close the connection if this object opened it."""
        if self._owned:
            with self.lock:
                self.connection.close()

    def __enter__(self) -> SqliteDatabase:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.path or "<connection>"
        return f"SqliteDatabase({where!r}, journal_mode={self.journal_mode!r})"


def open_database(
    target: str | os.PathLike[str] | sqlite3.Connection | SqliteDatabase,
) -> SqliteDatabase:
    """``target`` itself if it is a :class:`SqliteDatabase`, else a new one on it."""
    if isinstance(target, SqliteDatabase):
        return target
    return SqliteDatabase(target)
