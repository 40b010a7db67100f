"""Injected identity: sequential ids for notebooks and tests, uuid-based ids for real use."""

from __future__ import annotations

import re
import threading

import pytest

from cqrs_lab.errors import InvalidArgumentError
from cqrs_lab.ids import SequentialIds, UuidIds


def test_sequential_ids_count_from_one_with_the_prefix_and_zero_padding() -> None:
    ids = SequentialIds("order")

    assert [ids() for _ in range(3)] == ["order-0001", "order-0002", "order-0003"]


def test_sequential_ids_honour_the_width_and_grow_past_it() -> None:
    ids = SequentialIds("cmd", width=2)
    produced = [ids() for _ in range(100)]

    assert produced[0] == "cmd-01"
    assert produced[98] == "cmd-99"
    assert produced[99] == "cmd-100"


def test_sequential_ids_keep_the_prefix_as_it_is() -> None:
    ids = SequentialIds("50%-off")

    assert ids() == "50%-off-0001"


def test_two_factories_with_the_same_prefix_give_the_same_ids() -> None:
    first, second = SequentialIds("order"), SequentialIds("order")

    assert [first() for _ in range(5)] == [second() for _ in range(5)]


def test_an_empty_prefix_is_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="prefix must be a non-empty string") as caught:
        SequentialIds("")

    assert isinstance(caught.value, ValueError)


def test_a_width_below_one_is_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="width must be >= 1, found 0"):
        SequentialIds("order", width=0)


def test_sequential_ids_stay_unique_across_threads() -> None:
    ids = SequentialIds("t")
    produced: list[str] = []
    start = threading.Barrier(4, timeout=30)

    def take() -> None:
        start.wait()
        mine = [ids() for _ in range(2_500)]
        produced.extend(mine)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(produced) == 10_000
    assert set(produced) == {f"t-{n:04d}" for n in range(1, 10_001)}


def test_uuid_ids_are_prefixed_hex_and_unique() -> None:
    ids = UuidIds("cmd")
    produced = [ids() for _ in range(1_000)]

    assert all(re.fullmatch(r"cmd-[0-9a-f]{32}", value) for value in produced)
    assert len(set(produced)) == 1_000


def test_uuid_ids_without_a_prefix_are_bare_hex() -> None:
    assert re.fullmatch(r"[0-9a-f]{32}", UuidIds()())


def test_id_factories_repr_show_their_prefix() -> None:
    assert repr(SequentialIds("order")) == "SequentialIds('order')"
    assert repr(UuidIds("cmd")) == "UuidIds('cmd')"
