"""Read models on PostgreSQL for the tests, twins of the SQLite ones the tests already use."""

from __future__ import annotations

from typing import Any

from test_sqlite_read_model import Count

from cqrs_lab.adapters.postgres_read_model import PostgresReadModel


class PostgresTagCounts(PostgresReadModel[Count]):
    """Counts per tag; a count of 1000 breaks a CHECK, to fail a commit half-way."""

    default_table = "tag_counts"
    key_column = "tag"
    columns = ("tag", "n")
    ddl = (
        "CREATE TABLE IF NOT EXISTS {table} "
        "(tag TEXT PRIMARY KEY, n INTEGER NOT NULL CHECK (n < 1000))",
    )

    def to_columns(self, key: str, row: Count) -> tuple[Any, ...]:
        return (key, row.n)

    def from_columns(self, values: tuple[Any, ...]) -> Count:
        return Count(values[0], values[1])
