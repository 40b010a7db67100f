"""A read model in a PostgreSQL table, its checkpoint committed in the same transaction as its rows.

The PostgreSQL twin of :class:`~cqrs_lab.adapters.sqlite_read_model.SqliteReadModel`, with the
same class attributes for a subclass to fill in. :meth:`PostgresReadModel.commit` locks the
model's row of ``projection_checkpoints`` (``SELECT ... FOR UPDATE``), writes the row changes,
moves the checkpoint and notifies the checkpoints channel, all in one transaction:

- a crash -- even ``kill -9`` of the projector process -- leaves all of a batch or none of it;
- a batch delivered again (position not past the checkpoint) changes nothing;
- two projector processes for one read model cannot both apply a batch: the second waits on the
  lock, then finds the checkpoint moved and changes nothing;
- the ``name:position`` notification reaches listeners (a waiter in an API process) only once
  the rows are committed, so a woken reader finds them.

Keys are listed in code-point order (``COLLATE "C"``), as Python sorts them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Final, TypeVar

from psycopg import Connection

from cqrs_lab.adapters.postgres_database import CHECKPOINTS_CHANNEL, PostgresDatabase
from cqrs_lab.adapters.sql_read_model import SqlReadModel
from cqrs_lab.projection import Changes

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CHECKPOINTS_SCHEMA", "PostgresReadModel", "read_checkpoint"]

Row = TypeVar("Row")

CHECKPOINTS_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS projection_checkpoints (
    name TEXT PRIMARY KEY,
    position BIGINT NOT NULL CHECK (position >= 0)
)
"""
"""One row per read model: the position of the last event its rows reflect."""

_ENSURE_CHECKPOINT: Final = (
    "INSERT INTO projection_checkpoints (name, position) VALUES (%s, 0) ON CONFLICT DO NOTHING"
)
_READ_CHECKPOINT: Final = "SELECT position FROM projection_checkpoints WHERE name = %s"
_LOCK_CHECKPOINT: Final = _READ_CHECKPOINT + " FOR UPDATE"
_SAVE_CHECKPOINT: Final = "UPDATE projection_checkpoints SET position = %s WHERE name = %s"
_NOTIFY: Final = "SELECT pg_notify(%s, %s)"


def read_checkpoint(database: PostgresDatabase, name: str) -> int:
    """The checkpoint stored under ``name`` in ``database``, 0 if none."""
    row = database.fetchone(_READ_CHECKPOINT, (name,))
    return int(row[0]) if row else 0


class PostgresReadModel(SqlReadModel[Row]):
    """A :class:`~cqrs_lab.projection.ReadModel` whose rows are a PostgreSQL table.

    Safe for several processes: a commit locks the model's checkpoint row first (see above). A
    subclass describes its table with the class attributes of
    :class:`~cqrs_lab.adapters.sql_read_model.SqlReadModel`, which also writes the statements,
    and implements :meth:`to_columns` and :meth:`from_columns`.

    Args:
        database: a ``postgresql://`` URL, or a
            :class:`~cqrs_lab.adapters.postgres_database.PostgresDatabase` shared with the store.
        name: the checkpoint's name (default: the table's name).
        table: another table than ``default_table``, e.g. for a blue/green rebuild beside it.
    """

    db: PostgresDatabase

    def __init__(
        self,
        database: str | PostgresDatabase,
        *,
        name: str | None = None,
        table: str | None = None,
    ) -> None:
        self.db = database if isinstance(database, PostgresDatabase) else PostgresDatabase(database)
        self._owns_db = self.db is not database
        super().__init__(name=name, table=table, mark="%s", collate="C")
        self.channel = self.db.channel(CHECKPOINTS_CHANNEL)
        with self.db.schema_transaction(f"creating the table {self.table}") as connection:
            connection.execute(CHECKPOINTS_SCHEMA)
            for statement in self.ddl:
                connection.execute(statement.format(table=self.table))
            # the row the commits lock; present from the start, so FOR UPDATE always finds it
            connection.execute(_ENSURE_CHECKPOINT, (self.name,))

    @property
    def checkpoint(self) -> int:
        """The position of the last event the rows reflect (0: none)."""
        return read_checkpoint(self.db, self.name)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def rows(self) -> list[Row]:
        """Every row, in key order."""
        return [self.from_columns(values) for values in self._all()]

    def items(self) -> Iterator[tuple[str, Row]]:
        """(key, row) pairs in key order, from one read."""
        key = self.columns.index(self.key_column)
        return iter([(values[key], self.from_columns(values)) for values in self._all()])

    def _all(self) -> list[tuple[Any, ...]]:
        return self.db.fetchall(self._select_all)

    def commit(self, position: int, changes: Changes) -> bool:
        """Lock the checkpoint's row, write ``changes``, move it to ``position`` and notify.

        All in one transaction. Returns False, changing nothing, when ``position`` is not past
        the checkpoint: a batch delivered again, or one a second projector process applied first.
        """
        upserts, deletes = self._statements(changes)  # a row that cannot be stored fails here
        with self.db.transaction(f"committing {self.name} up to {position}") as connection:
            row = connection.execute(_LOCK_CHECKPOINT, (self.name,)).fetchone()
            if row is not None and position <= int(row[0]):
                return False
            if row is None:  # dropped by hand since: recreate it, locked by this transaction
                connection.execute(_ENSURE_CHECKPOINT, (self.name,))
            self._write(connection, upserts, deletes)
            connection.execute(_SAVE_CHECKPOINT, (position, self.name))
            connection.execute(_NOTIFY, (self.channel, f"{self.name}:{position}"))
        return True

    def apply_out_of_order(self, changes: Changes) -> None:
        """Apply ``changes`` without moving the checkpoint (replaying a dead letter)."""
        upserts, deletes = self._statements(changes)
        with self.db.transaction(f"replaying into {self.name}") as connection:
            self._write(connection, upserts, deletes)

    def _write(
        self,
        connection: Connection[Any],
        upserts: list[tuple[Any, ...]],
        deletes: list[tuple[str]],
    ) -> None:
        with connection.cursor() as cursor:
            if deletes:
                cursor.executemany(self._delete, deletes)
            if upserts:
                cursor.executemany(self._upsert, upserts)

    def clear(self) -> None:
        """Remove every row and reset the checkpoint to 0, in one transaction."""
        with self.db.transaction(f"clearing {self.name}") as connection:
            connection.execute(_LOCK_CHECKPOINT, (self.name,))
            connection.execute(self._delete_all)
            connection.execute(_ENSURE_CHECKPOINT, (self.name,))
            connection.execute(_SAVE_CHECKPOINT, (0, self.name))
            connection.execute(_NOTIFY, (self.channel, f"{self.name}:0"))

    def to_dataframe(self) -> pd.DataFrame:
        """The table as stored, indexed by the key column."""
        import pandas as pd

        frame = pd.DataFrame(self._all(), columns=list(self.columns))
        return frame.set_index(self.key_column)
