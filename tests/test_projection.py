"""InMemoryReadModel (rows committed with their checkpoint) and ConsistencySLA."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import pytest

from cqrs_lab.errors import InvalidArgumentError, InvalidProjectionError
from cqrs_lab.messages import Event, RecordedEvent
from cqrs_lab.projection import Changes, ConsistencySLA, InMemoryReadModel, Projection, RowReader


class Recording(InMemoryReadModel[int]):
    """A read model that records what its index hooks see."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.changes: list[tuple[str, int | None, int | None]] = []
        self.clears = 0

    def _on_change(self, key: str, before: int | None, after: int | None) -> None:
        self.changes.append((key, before, after))

    def _on_clear(self) -> None:
        self.clears += 1


@dataclass(frozen=True)
class Line:
    sku: str
    quantity: int


def test_commit_applies_every_change_and_moves_the_checkpoint() -> None:
    model = InMemoryReadModel[int]("counts")

    assert model.commit(3, {"a": 1, "b": 2}) is True

    assert (model.checkpoint, model.get("a"), model.get("b")) == (3, 1, 2)
    assert model.keys() == ["a", "b"]
    assert len(model) == 2
    assert "a" in model
    assert "z" not in model


@pytest.mark.parametrize("position", [3, 2, 1])
def test_commit_at_the_checkpoint_or_before_is_rejected_and_changes_nothing(
    position: int,
) -> None:
    model = Recording("counts")
    model.commit(3, {"a": 1})
    model.changes.clear()

    assert model.commit(position, {"a": 99, "b": 5}) is False

    assert model.checkpoint == 3
    assert list(model.items()) == [("a", 1)]
    assert model.changes == []


def test_a_batch_delivered_twice_is_applied_once() -> None:
    model = InMemoryReadModel[int]("counts")
    model.commit(1, {"a": 1})
    model.commit(2, {"a": 2})

    assert model.commit(2, {"a": 3}) is False

    assert model.get("a") == 2


def test_none_deletes_the_row() -> None:
    model = InMemoryReadModel[int]("counts")
    model.commit(1, {"a": 1, "b": 2})

    model.commit(2, {"a": None})

    assert model.keys() == ["b"]
    assert model.get("a") is None
    assert model.checkpoint == 2


def test_deleting_a_row_that_does_not_exist_still_moves_the_checkpoint() -> None:
    model = InMemoryReadModel[int]("counts")

    assert model.commit(1, {"ghost": None}) is True

    assert (len(model), model.checkpoint) == (0, 1)


def test_on_change_hook_sees_each_row_before_and_after() -> None:
    model = Recording("counts")

    model.commit(1, {"a": 1})
    model.commit(2, {"a": 2, "b": 7})
    model.commit(3, {"a": None})

    assert model.changes == [
        ("a", None, 1),
        ("a", 1, 2),
        ("b", None, 7),
        ("a", 2, None),
    ]


def test_clear_removes_every_row_resets_the_checkpoint_and_calls_the_hook() -> None:
    model = Recording("counts")
    model.commit(5, {"a": 1, "b": 2})

    model.clear()

    assert (len(model), model.checkpoint, model.clears) == (0, 0, 1)
    assert model.commit(1, {"c": 3}) is True, "after a clear the log is replayed from 1"


def test_apply_out_of_order_changes_rows_but_not_the_checkpoint() -> None:
    model = Recording("counts")
    model.commit(4, {"a": 1})

    model.apply_out_of_order({"a": 2, "late": 1})

    assert (model.checkpoint, model.get("a"), model.get("late")) == (4, 2, 1)
    assert ("late", None, 1) in model.changes


def test_rows_and_items_are_in_key_order() -> None:
    model = InMemoryReadModel[int]("counts")
    model.commit(1, {"b": 2, "c": 3, "a": 1})

    assert model.rows() == [1, 2, 3]
    assert list(model.items()) == [("a", 1), ("b", 2), ("c", 3)]


def test_a_reader_never_sees_half_of_a_commit() -> None:
    model = InMemoryReadModel[int]("pairs")
    commits = 2000

    def write() -> None:
        for position in range(1, commits + 1):
            model.commit(position, {"left": position, "right": position})

    writer = threading.Thread(target=write)
    torn: list[list[int]] = []
    writer.start()
    while writer.is_alive():
        rows = model.rows()
        if len(set(rows)) > 1:
            torn.append(rows)
    writer.join()

    assert torn == []
    assert model.rows() == [commits, commits]


def test_to_dataframe_turns_dataclass_rows_into_columns_indexed_by_key() -> None:
    model = InMemoryReadModel[Line]("lines")
    model.commit(1, {"l2": Line("pear", 3), "l1": Line("apple", 1)})

    frame = model.to_dataframe()

    assert list(frame.columns) == ["sku", "quantity"]
    assert frame.index.name == "key"
    assert list(frame.index) == ["l1", "l2"]
    assert frame.loc["l2", "sku"] == "pear"
    assert frame["quantity"].tolist() == [1, 3]


def test_to_dataframe_puts_plain_rows_in_a_value_column() -> None:
    model = InMemoryReadModel[int]("counts")
    model.commit(1, {"a": 1, "b": 2})

    frame = model.to_dataframe()

    assert list(frame.columns) == ["value"]
    assert frame["value"].to_dict() == {"a": 1, "b": 2}


def test_to_dataframe_uses_row_to_dict_when_given() -> None:
    model = InMemoryReadModel[int]("counts")
    model.commit(1, {"a": 1, "b": 2})

    frame = model.to_dataframe(lambda n: {"count": n, "double": 2 * n})

    assert list(frame.columns) == ["count", "double"]
    assert frame["double"].tolist() == [2, 4]


def test_to_dataframe_of_an_empty_model_is_an_empty_frame() -> None:
    frame = InMemoryReadModel[int]("counts").to_dataframe()

    assert len(frame) == 0
    assert frame.index.name == "key"


def test_to_dataframe_tabulates_one_snapshot_while_a_commit_deletes_rows() -> None:
    # A live projector may commit while a notebook tabulates the view: the frame must come
    # from one snapshot, not fail on a key deleted half-way through.
    model = InMemoryReadModel[int]("counts")
    model.commit(1, {"a": 1, "b": 2})

    def row_to_dict(row: int) -> dict[str, Any]:
        model.commit(model.checkpoint + 1, {"b": None})  # as if a projector ran just now
        return {"value": row}

    frame = model.to_dataframe(row_to_dict)

    assert frame["value"].to_dict() == {"a": 1, "b": 2}
    assert model.keys() == ["a"]


def test_repr_names_the_model_its_size_and_checkpoint() -> None:
    model = InMemoryReadModel[int]("counts")
    model.commit(7, {"a": 1})

    assert repr(model) == "InMemoryReadModel('counts', rows=1, checkpoint=7)"


def test_sla_accepts_either_bound_or_both() -> None:
    assert ConsistencySLA(max_events=0).max_seconds is None
    assert ConsistencySLA(max_seconds=0.0).max_events is None
    both = ConsistencySLA(max_events=10, max_seconds=2.5)
    assert (both.max_events, both.max_seconds) == (10, 2.5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "needs max_events, max_seconds or both"),
        ({"max_events": -1}, "max_events must be >= 0, found -1"),
        ({"max_seconds": -0.5}, "max_seconds must be >= 0, found -0.5"),
        ({"max_events": 3, "max_seconds": -1.0}, "max_seconds must be >= 0"),
    ],
)
def test_sla_rejects_a_missing_or_negative_bound(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message) as raised:
        ConsistencySLA(**kwargs)

    assert isinstance(raised.value, ValueError)


def test_sla_is_frozen() -> None:
    sla = ConsistencySLA(max_events=1)

    with pytest.raises(AttributeError):
        sla.max_events = 2  # type: ignore[misc]


# -- a commit is whole, even when a subclass's hook fails --------------------------------------


class FailingIndex(Recording):
    """Records its hooks, and raises in ``_on_change`` for the key ``"bad"``."""

    def _on_change(self, key: str, before: int | None, after: int | None) -> None:
        if key == "bad":
            raise KeyError("no index slot for 'bad'")
        super()._on_change(key, before, after)


def test_a_hook_that_raises_leaves_rows_and_checkpoint_as_they_were() -> None:
    model = FailingIndex("counts")
    model.commit(1, {"a": 1, "b": 2})

    with pytest.raises(KeyError, match="no index slot"):
        model.commit(2, {"a": 10, "c": 3, "bad": 4, "d": 5})

    assert (dict(model.items()), model.checkpoint) == ({"a": 1, "b": 2}, 1)


def test_a_hook_that_raises_leaves_the_index_rebuilt_from_the_rows_kept() -> None:
    model = FailingIndex("counts")
    model.commit(1, {"a": 1, "b": 2})
    model.changes.clear()

    with pytest.raises(KeyError):
        model.apply_out_of_order({"a": 10, "bad": 4})

    assert dict(model.items()) == {"a": 1, "b": 2}
    assert model.changes[-2:] == [("a", None, 1), ("b", None, 2)]


# -- a projection is defined with a name and the names of the events it handles ---------------


def test_a_class_in_handles_is_refused_when_the_projection_is_defined() -> None:
    @dataclass(frozen=True, kw_only=True)
    class Tagged(Event):
        tag: str

    with pytest.raises(InvalidProjectionError) as raised:

        class Tags(Projection[int]):
            name = "tags"
            handles = frozenset({Tagged})  # type: ignore[arg-type]

            def project(self, record: RecordedEvent, view: RowReader[int]) -> Changes:
                return {}

    assert str(raised.value) == (
        "Tags.handles contains the class Tagged; expected its name: Tagged.type_name or 'Tagged'"
    )


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({"handles": "Tagged"}, "Bad.handles must be a set of event type names, found 'Tagged'"),
        ({"handles": frozenset({1})}, r"Bad.handles must hold event type names \(str\), found 1"),
        ({"name": ""}, "Bad.name must be a non-blank string, found ''"),
        ({"name": 7}, "Bad.name must be a non-blank string, found 7"),
    ],
    ids=["a-string", "not-strings", "blank-name", "name-not-a-string"],
)
def test_a_bad_name_or_handles_is_refused_when_the_projection_is_defined(
    attributes: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidProjectionError, match=message):
        type("Bad", (Projection,), attributes)
