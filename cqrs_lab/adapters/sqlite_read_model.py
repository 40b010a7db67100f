"""A read model in a SQLite table, its checkpoint committed in the same transaction as its rows.

The checkpoint lives in ``projection_checkpoints(name, position)`` beside the rows. :meth:`commit`
reads it, writes the row changes and moves it in one transaction: a crash leaves either all of a
batch or none of it, and a batch delivered again (position not past the checkpoint) changes
nothing. A subclass names its table and columns and maps a row to column values and back.

>>> class Counts(SqliteReadModel[int]):
...     default_table = "tag_counts"
...     key_column = "tag"
...     columns = ("tag", "n")
...     ddl = ("CREATE TABLE IF NOT EXISTS {table} (tag TEXT PRIMARY KEY, n INTEGER NOT NULL)",)
...     def to_columns(self, key, row):
...         return (key, row)
...     def from_columns(self, values):
...         return values[1]
>>> model = Counts(":memory:")
>>> model.commit(3, {"cqrs": 1, "sql": 2})
True
>>> model.commit(3, {"cqrs": 99})  # delivered twice, applied once
False
>>> model.get("cqrs"), model.checkpoint, model.keys()
(1, 3, ['cqrs', 'sql'])
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Final, TypeVar

from cqrs_lab.adapters.sql_read_model import SqlReadModel
from cqrs_lab.adapters.sqlite_database import SqliteDatabase, open_database
from cqrs_lab.errors import InvalidArgumentError
from cqrs_lab.projection import Changes

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CHECKPOINTS_SCHEMA", "SqliteReadModel", "read_checkpoint"]

Row = TypeVar("Row")

CHECKPOINTS_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS projection_checkpoints (
    name TEXT PRIMARY KEY,
    position INTEGER NOT NULL CHECK (position >= 0)
)
"""
"""One row per read model: the position of the last event its rows reflect."""

_READ_CHECKPOINT: Final = "SELECT position FROM projection_checkpoints WHERE name = ?"
_SAVE_CHECKPOINT: Final = (
    "INSERT INTO projection_checkpoints (name, position) VALUES (?, ?) "
    "ON CONFLICT (name) DO UPDATE SET position = excluded.position"
)
_DROP_CHECKPOINT: Final = "DELETE FROM projection_checkpoints WHERE name = ?"


def read_checkpoint(connection: sqlite3.Connection, name: str) -> int:
    """The checkpoint stored under ``name`` in ``connection``'s database, 0 if none."""
    row = connection.execute(_READ_CHECKPOINT, (name,)).fetchone()
    return int(row[0]) if row else 0


class SqliteReadModel(SqlReadModel[Row]):
    """A :class:`~cqrs_lab.projection.ReadModel` whose rows are a SQLite table.

    Its rows and its checkpoint share one database, so one transaction covers both; built on the
    event store's own :class:`~cqrs_lab.adapters.sqlite_database.SqliteDatabase`, it can even
    share the append's transaction (:meth:`commit_in`). A subclass describes its table with the
    class attributes of :class:`~cqrs_lab.adapters.sql_read_model.SqlReadModel`, which also
    writes the statements, and implements :meth:`to_columns` and :meth:`from_columns`.

    Args:
        database: a file path, ``":memory:"``, a connection, or a
            :class:`~cqrs_lab.adapters.sqlite_database.SqliteDatabase` shared with the store.
        name: the checkpoint's name (default: the table's name).
        table: another table than ``default_table``, e.g. for a blue/green rebuild beside it.
    """

    db: SqliteDatabase

    def __init__(
        self,
        database: str | os.PathLike[str] | sqlite3.Connection | SqliteDatabase = ":memory:",
        *,
        name: str | None = None,
        table: str | None = None,
    ) -> None:
        self.db = open_database(database)
        self._owns_db = self.db is not database
        super().__init__(name=name, table=table, mark="?", collate=None)
        with self.db.transaction() as connection:
            connection.execute(CHECKPOINTS_SCHEMA)
            for statement in self.ddl:
                connection.execute(statement.format(table=self.table))

    @property
    def checkpoint(self) -> int:
        """The position of the last event the rows reflect (0: none)."""
        row = self.db.fetchone(_READ_CHECKPOINT, (self.name,))
        return int(row[0]) if row else 0

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.db.fetchone(self._select_one, (key,)) is not None

    def rows(self) -> list[Row]:
        """Every row, in key order."""
        return [self.from_columns(values) for values in self.db.fetchall(self._select_all)]

    def items(self) -> Iterator[tuple[str, Row]]:
        """(key, row) pairs in key order, from one read."""
        return iter([(key, row) for key, row in zip(self.keys(), self.rows(), strict=True)])

    def commit(self, position: int, changes: Changes) -> bool:
        """In one transaction: read the checkpoint, write ``changes``, move it to ``position``.

        Returns False, changing nothing, when ``position`` is not past the checkpoint: a batch
        delivered again.
        """
        upserts, deletes = self._statements(changes)  # a row that cannot be stored fails here
        with self.db.transaction() as connection:
            return self._commit(connection, position, upserts, deletes)

    def commit_in(self, connection: sqlite3.Connection, position: int, changes: Changes) -> bool:
        """:meth:`commit` inside a transaction the caller holds open on this model's database.

        ``connection`` is what ``model.db.transaction()`` yielded; the caller's commit or
        rollback decides for the rows and the checkpoint, and for whatever else it wrote there
        (the events of an append, say).
        """
        if connection is not self.db.connection or not connection.in_transaction:
            raise InvalidArgumentError(
                "commit_in needs the connection of an open model.db.transaction(), "
                "found another connection, or one with no transaction open"
            )
        upserts, deletes = self._statements(changes)
        return self._commit(connection, position, upserts, deletes)

    def _commit(
        self,
        connection: sqlite3.Connection,
        position: int,
        upserts: list[tuple[Any, ...]],
        deletes: list[tuple[str]],
    ) -> bool:
        if position <= read_checkpoint(connection, self.name):
            return False
        self._write(connection, upserts, deletes)
        connection.execute(_SAVE_CHECKPOINT, (self.name, position))
        return True

    def apply_out_of_order(self, changes: Changes) -> None:
        """Apply ``changes`` without moving the checkpoint (replaying a dead letter)."""
        upserts, deletes = self._statements(changes)
        with self.db.transaction() as connection:
            self._write(connection, upserts, deletes)

    def _write(
        self,
        connection: sqlite3.Connection,
        upserts: list[tuple[Any, ...]],
        deletes: list[tuple[str]],
    ) -> None:
        if deletes:
            connection.executemany(self._delete, deletes)
        if upserts:
            connection.executemany(self._upsert, upserts)

    def clear(self) -> None:
        """Remove every row and reset the checkpoint to 0, in one transaction."""
        with self.db.transaction() as connection:
            connection.execute(self._delete_all)
            connection.execute(_DROP_CHECKPOINT, (self.name,))

    def to_dataframe(self) -> pd.DataFrame:
        """The table as stored, indexed by the key column (``pandas.read_sql``)."""
        import pandas as pd

        with self.db.lock:
            return pd.read_sql(self._select_all, self.db.connection, index_col=self.key_column)
