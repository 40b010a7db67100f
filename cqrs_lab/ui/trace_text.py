"""Short texts for trace steps: a value, a message's fields, a row's change, a query's answer.

Each text is the same on every run (no memory addresses) and cut to a width, so a trace reads
the same in a table, a test and a notebook.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any

__all__ = ["answer_summary", "cut", "fields_summary", "row_change", "row_outcome", "summarize"]

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def summarize(value: Any, width: int = 100) -> str:
    """A short text for ``value`` that is the same on every run (no memory addresses).

    >>> from cqrs_lab.event_store import Receipt
    >>> summarize(Receipt("order-1", 2, 5, "cmd-1"))
    "Receipt(stream_id='order-1', stream_version=2, position=5, command_id='cmd-1')"
    >>> summarize(list(range(50)), width=20)
    '[0, 1, 2, 3, 4, 5, …'
    """
    return cut(_text(value), width)


def _text(value: Any) -> str:
    if value is None or isinstance(value, bool | int | float | str):
        return repr(value)
    if isinstance(value, Enum):
        return repr(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if _field_names(value) is not None:
        return f"{type(value).__name__}({_field_pairs(value)})"
    if isinstance(value, Mapping):
        items = sorted(value.items(), key=lambda item: repr(item[0]))
        return "{" + ", ".join(f"{_text(k)}: {_text(v)}" for k, v in items) + "}"
    if isinstance(value, tuple):
        inner = ", ".join(_text(item) for item in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(_text(item) for item in value) + "]"
    if isinstance(value, set | frozenset):
        return "{" + ", ".join(sorted(_text(item) for item in value)) + "}"
    return _ADDRESS.sub("", repr(value))


def _field_names(value: Any) -> list[str] | None:
    """The fields of a dataclass instance or a NamedTuple, in order; None for anything else."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [f.name for f in dataclasses.fields(value) if f.repr]
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a NamedTuple
        return list(value._fields)
    return None


def _field_pairs(value: Any) -> str:
    return ", ".join(f"{name}={_text(getattr(value, name))}" for name in _field_names(value) or [])


def fields_summary(value: Any, width: int = 100) -> str:
    """``a=1, b='x'``: a message's own fields, cut to ``width``.

    >>> from cqrs_lab.event_store import Receipt
    >>> fields_summary(Receipt("order-1", 2, 5), width=40)
    "stream_id='order-1', stream_version=2, …"
    """
    if _field_names(value) is not None:
        return cut(_field_pairs(value), width)
    return summarize(value, width)


def cut(text: str, width: int) -> str:
    """``text``, or its first ``width - 1`` characters and an ellipsis when it is longer."""
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def row_outcome(before: Any, after: Any) -> str:
    """What happened to a row: ``inserted``, ``updated``, ``deleted`` or ``unchanged``."""
    if before is None:
        return "deleted" if after is None else "inserted"
    if after is None:
        return "deleted"
    return "unchanged" if before == after else "updated"


def row_change(before: Any, after: Any, width: int = 100) -> str:
    """What changed in a row: the new row, ``deleted``, or ``field: old -> new`` for each field.

    >>> row_change(None, 3)
    '3'
    >>> row_change(2, 3)
    '2 -> 3'
    """
    if before is None:
        return summarize(after, width) if after is not None else "deleted"
    if after is None:
        return f"deleted (was {summarize(before, width)})"
    names = _field_names(before)
    if type(before) is not type(after) or names is None:
        return f"{summarize(before, width)} -> {summarize(after, width)}"
    changed = [
        f"{name}: {_text(getattr(before, name))} -> {_text(getattr(after, name))}"
        for name in names
        if getattr(before, name) != getattr(after, name)
    ]
    return cut("; ".join(changed) if changed else "no field changed", width)


def answer_summary(result: Any, width: int = 100) -> str:
    """A query's answer in a few words: ``not found (None)``, ``3 results``, or the value.

    >>> answer_summary(None), answer_summary([1, 2, 3]), answer_summary("ok")
    ('not found (None)', '3 results: [1, 2, 3]', "'ok'")
    """
    if result is None:
        return "not found (None)"
    if isinstance(result, list | tuple) and _field_names(result) is None:
        count = f"{len(result)} result" + ("" if len(result) == 1 else "s")
        return cut(f"{count}: {_text(list(result))}", width)
    return summarize(result, width)
