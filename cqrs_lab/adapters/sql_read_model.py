"""A read model kept in one SQL table: what the SQLite and PostgreSQL read models share.

A subclass describes its table with class attributes (``default_table``, ``key_column``,
``columns``, ``ddl``) and maps a row to column values and back (:meth:`SqlReadModel.to_columns`,
:meth:`SqlReadModel.from_columns`). From that, :class:`SqlReadModel` checks the names and writes
the statements every read model runs -- one row, all rows, the keys, an upsert, a delete -- in
the placeholder style of the database's driver; it answers the reads that need no transaction,
and splits a batch of changes into the rows to upsert and the keys to delete.

The database adapters, :class:`~cqrs_lab.adapters.sqlite_read_model.SqliteReadModel` and
:class:`~cqrs_lab.adapters.postgres_read_model.PostgresReadModel`, keep what differs: opening
the database, and the transactions that write the rows and move the checkpoint together.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from cqrs_lab.adapters.sqlite_database import check_identifier
from cqrs_lab.errors import InvalidArgumentError
from cqrs_lab.projection import Changes

__all__ = ["QueryRunner", "SqlReadModel"]

Row = TypeVar("Row")


class QueryRunner(Protocol):
    """What the shared reads need of a database; SQLite's and PostgreSQL's both offer it."""

    def fetchall(self, query: str, parameters: Sequence[Any] = (), /) -> list[tuple[Any, ...]]:
        """Run one statement with bound ``parameters`` and return every row."""
        ...

    def fetchone(self, query: str, parameters: Sequence[Any] = (), /) -> tuple[Any, ...] | None:
        """Run one statement with bound ``parameters`` and return its first row, or None."""
        ...

    def close(self) -> None:
        """Close what the database object opened."""
        ...


class SqlReadModel(ABC, Generic[Row]):
    """A :class:`~cqrs_lab.projection.ReadModel` whose rows are a SQL table, minus its database.

    Subclasses set ``default_table``, ``key_column``, ``columns`` (every column, the key
    included, in the order :meth:`to_columns` returns them) and ``ddl`` (statements creating the
    table and its indexes, ``{table}`` standing for the table name), and implement
    :meth:`to_columns` and :meth:`from_columns`. Names are checked to be plain identifiers
    before they are formatted into a statement; values are always bound.

    Args:
        name: the checkpoint's name (default: the table's name).
        table: another table than ``default_table``, e.g. for a blue/green rebuild beside it.
        mark: the driver's placeholder for a bound value: ``?`` for sqlite3, ``%s`` for psycopg.
        collate: the collation keys are listed in, or ``None`` for the database's own.
    """

    default_table: ClassVar[str] = ""
    key_column: ClassVar[str] = "key"
    columns: ClassVar[tuple[str, ...]] = ()
    ddl: ClassVar[tuple[str, ...]] = ()

    db: QueryRunner
    _owns_db: bool

    def __init__(
        self, *, name: str | None, table: str | None, mark: str, collate: str | None
    ) -> None:
        self.table = check_identifier(table or self.default_table)
        self.name = name or self.table
        key = check_identifier(self.key_column)
        names = [check_identifier(column) for column in self.columns]
        if key not in names:
            raise InvalidArgumentError(
                f"{type(self).__name__}.columns must include the key column {key!r}, found {names}"
            )
        listed = ", ".join(names)
        marks = ", ".join(mark for _ in names)
        updates = ", ".join(f"{c} = excluded.{c}" for c in names if c != key) or f"{key} = {key}"
        order = key if collate is None else f'{key} COLLATE "{collate}"'
        table_name = self.table
        self._select_one = f"SELECT {listed} FROM {table_name} WHERE {key} = {mark}"
        self._select_all = f"SELECT {listed} FROM {table_name} ORDER BY {order}"
        self._select_keys = f"SELECT {key} FROM {table_name} ORDER BY {order}"
        self._count = f"SELECT COUNT(*) FROM {table_name}"
        self._upsert = (
            f"INSERT INTO {table_name} ({listed}) VALUES ({marks}) "
            f"ON CONFLICT ({key}) DO UPDATE SET {updates}"
        )
        self._delete = f"DELETE FROM {table_name} WHERE {key} = {mark}"
        self._delete_all = f"DELETE FROM {table_name}"

    @abstractmethod
    def to_columns(self, key: str, row: Row) -> tuple[Any, ...]:
        """The values of ``columns`` for ``row`` stored under ``key``, in order."""

    @abstractmethod
    def from_columns(self, values: tuple[Any, ...]) -> Row:
        """The row whose column values (in ``columns`` order) are ``values``."""

    def get(self, key: str) -> Row | None:
        """The row stored under ``key``, or ``None``."""
        values = self.db.fetchone(self._select_one, (key,))
        return None if values is None else self.from_columns(values)

    def __len__(self) -> int:
        row = self.db.fetchone(self._count)
        return int(row[0]) if row else 0

    def keys(self) -> list[str]:
        """Every key, sorted."""
        return [row[0] for row in self.db.fetchall(self._select_keys)]

    def _statements(self, changes: Changes) -> tuple[list[tuple[Any, ...]], list[tuple[str]]]:
        """The parameters of the upserts and of the deletes ``changes`` asks for.

        Called before a transaction opens, so that a row that cannot be stored fails first.
        """
        upserts: list[tuple[Any, ...]] = []
        deletes: list[tuple[str]] = []
        to_columns = self.to_columns
        for key, row in changes.items():
            if row is None:
                deletes.append((key,))
            else:
                upserts.append(to_columns(key, row))
        return upserts, deletes

    def close(self) -> None:
        """Close the database (a connection, or a pool) if this model opened it."""
        if self._owns_db:
            self.db.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, table={self.table!r})"
