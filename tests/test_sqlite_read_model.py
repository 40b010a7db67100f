"""The SQL read models: the ReadModel contract (in memory, SQLite, PostgreSQL), and rows committed
with their checkpoint."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cqrs_lab.adapters.sqlite_database import SqliteDatabase
from cqrs_lab.adapters.sqlite_read_model import SqliteReadModel
from cqrs_lab.adapters.sqlite_store import SqliteEventStore
from cqrs_lab.clock import ManualClock
from cqrs_lab.errors import InvalidArgumentError
from cqrs_lab.messages import Event, RecordedEvent
from cqrs_lab.projection import Changes, InMemoryReadModel, Projection, RowReader
from cqrs_lab.projector import Projector
from cqrs_lab.upcasting import EventRegistry


@dataclass(frozen=True, kw_only=True)
class Tagged(Event):
    tag: str


@dataclass(frozen=True, slots=True)
class Count:
    tag: str
    n: int


class TagCounts(Projection[Count]):
    name = "tag_counts"
    handles = frozenset({"Tagged"})

    def project(self, record: RecordedEvent, view: RowReader[Count]) -> Changes:
        tag = record.event.tag  # type: ignore[attr-defined]
        if tag == "forget":
            return {"forget": None}
        before = view.get(tag)
        return {tag: Count(tag, (before.n if before else 0) + 1)}


class SqliteTagCounts(SqliteReadModel[Count]):
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


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def model(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "memory":
        yield InMemoryReadModel[Count]("tag_counts")
        return
    if request.param == "postgres":  # a new schema of the module's database; skipped without one
        database = request.getfixturevalue("make_postgres")()
        from postgres_models import PostgresTagCounts

        postgres_model = PostgresTagCounts(database)
        yield postgres_model
        postgres_model.close()
        return
    sqlite_model = SqliteTagCounts(tmp_path / "views.sqlite3")
    yield sqlite_model
    sqlite_model.close()


def test_commit_applies_rows_and_moves_the_checkpoint(model: Any) -> None:
    assert model.checkpoint == 0
    assert model.commit(2, {"a": Count("a", 1), "b": Count("b", 2)}) is True
    assert model.checkpoint == 2
    assert model.get("a") == Count("a", 1)
    assert model.get("zzz") is None
    assert model.keys() == ["a", "b"]
    assert len(model) == 2
    assert "b" in model


def test_a_batch_at_or_before_the_checkpoint_changes_nothing(model: Any) -> None:
    model.commit(5, {"a": Count("a", 1)})
    assert model.commit(5, {"a": Count("a", 2)}) is False
    assert model.commit(3, {"b": Count("b", 1)}) is False
    assert model.get("a") == Count("a", 1)
    assert model.keys() == ["a"]
    assert model.checkpoint == 5


def test_none_deletes_a_row(model: Any) -> None:
    model.commit(1, {"a": Count("a", 1), "b": Count("b", 1)})
    model.commit(2, {"a": None, "missing": None})
    assert model.keys() == ["b"]


def test_apply_out_of_order_leaves_the_checkpoint(model: Any) -> None:
    model.commit(4, {"a": Count("a", 1)})
    model.apply_out_of_order({"late": Count("late", 1)})
    assert model.checkpoint == 4
    assert model.get("late") == Count("late", 1)


def test_clear_removes_rows_and_resets_the_checkpoint(model: Any) -> None:
    model.commit(4, {"a": Count("a", 1)})
    model.clear()
    assert (model.keys(), model.checkpoint) == ([], 0)
    assert model.commit(1, {"b": Count("b", 1)}) is True


def tagged_store(path: Path, *tags: str) -> SqliteEventStore:
    store = SqliteEventStore(path, EventRegistry([Tagged]), ManualClock())
    for i, tag in enumerate(tags):
        store.append(f"s-{i % 3}", [Tagged(tag=tag)])
    return store


def test_a_projector_fills_the_sqlite_model_like_the_in_memory_one(tmp_path: Path) -> None:
    tags = ["x", "y", "x", "forget", "z", "x", "y", "forget", "forget"] * 5
    db = SqliteDatabase(tmp_path / "shared.sqlite3")  # store and view in one file
    store = tagged_store(tmp_path / "shared.sqlite3", *tags)
    in_memory: InMemoryReadModel[Count] = InMemoryReadModel("tag_counts")
    sqlite_model = SqliteTagCounts(db)

    Projector(store, TagCounts(), in_memory, batch_size=4).catch_up()
    Projector(store, TagCounts(), sqlite_model, batch_size=4).catch_up()

    assert sqlite_model.rows() == in_memory.rows()
    assert sqlite_model.rows() == [Count("x", 15), Count("y", 10), Count("z", 5)]
    assert sqlite_model.checkpoint == in_memory.checkpoint == len(tags)
    store.close()
    db.close()


def test_a_batch_that_fails_half_way_leaves_rows_and_checkpoint_as_they_were() -> None:
    model = SqliteTagCounts()
    model.commit(1, {"a": Count("a", 1)})

    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
        model.commit(2, {"b": Count("b", 5), "a": Count("a", 1000)})

    assert model.rows() == [Count("a", 1)]
    assert model.checkpoint == 1
    assert not model.db.connection.in_transaction


class RefusesNegative(SqliteTagCounts):
    def to_columns(self, key: str, row: Count) -> tuple[Any, ...]:
        if row.n < 0:
            raise ValueError(f"cannot store a negative count for {key!r}")
        return super().to_columns(key, row)


def test_a_row_that_cannot_be_stored_leaves_rows_and_checkpoint_as_they_were() -> None:
    model = RefusesNegative()
    model.commit(1, {"a": Count("a", 1)})

    with pytest.raises(ValueError, match="negative count for 'b'"):
        model.commit(2, {"a": Count("a", 2), "b": Count("b", -1)})

    assert (model.rows(), model.checkpoint) == ([Count("a", 1)], 1)


def test_rows_and_checkpoint_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "views.sqlite3"
    first = SqliteTagCounts(path)
    first.commit(7, {"a": Count("a", 3)})
    first.close()

    again = SqliteTagCounts(path)
    assert (again.rows(), again.checkpoint) == ([Count("a", 3)], 7)
    again.close()


def test_two_models_keep_separate_checkpoints_in_one_database() -> None:
    db = SqliteDatabase()
    live = SqliteTagCounts(db)
    green = SqliteTagCounts(db, table="tag_counts_v2")
    live.commit(9, {"a": Count("a", 1)})
    green.commit(3, {"b": Count("b", 1)})
    assert (live.checkpoint, green.checkpoint) == (9, 3)
    assert (live.keys(), green.keys()) == (["a"], ["b"])
    assert db.fetchall("SELECT name, position FROM projection_checkpoints ORDER BY name") == [
        ("tag_counts", 9),
        ("tag_counts_v2", 3),
    ]


def test_pandas_read_sql_reads_the_table() -> None:
    import pandas as pd

    model = SqliteTagCounts()
    model.commit(2, {"a": Count("a", 1), "b": Count("b", 4)})

    frame = model.to_dataframe()
    direct = pd.read_sql("SELECT tag, n FROM tag_counts ORDER BY n DESC", model.db.connection)

    assert frame.loc["b", "n"] == 4
    assert list(direct["tag"]) == ["b", "a"]


def test_a_table_name_that_is_not_an_identifier_is_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="expected an SQL identifier"):
        SqliteTagCounts(table="tag_counts; DROP TABLE projection_checkpoints")


def test_hostile_keys_are_values_not_sql() -> None:
    model = SqliteTagCounts()
    hostile = "x'); DELETE FROM tag_counts; --"
    model.commit(1, {"a": Count("a", 1), hostile: Count(hostile, 2)})
    assert model.get(hostile) == Count(hostile, 2)
    assert model.keys() == ["a", hostile]
