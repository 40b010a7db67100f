"""Checks for the simulation's knobs: each names the field, what it expects and what it found.

Each knob (a frozen dataclass) runs them in ``__post_init__``, so nonsense is rejected when it
is built:

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Knob:
...     rate: float
...     def __post_init__(self) -> None:
...         check_number(self, "rate", above=0, unit="per second")
>>> Knob(rate=-5)
Traceback (most recent call last):
...
cqrs_lab.errors.InvalidArgumentError: Knob.rate must be a number > 0 (per second), found -5
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import StrEnum

import numpy as np

from cqrs_lab.errors import InvalidArgumentError

__all__ = [
    "check_enum",
    "check_integer",
    "check_items",
    "check_number",
    "check_optional",
    "check_window",
    "invalid",
    "is_number",
]


def invalid(owner: object, name: str, expected: str, found: object) -> InvalidArgumentError:
    """The error for field ``name`` of ``owner``: what it must be, and what it was."""
    return InvalidArgumentError(
        f"{type(owner).__name__}.{name} must be {expected}, found {found!r}"
    )


def is_number(value: object) -> bool:
    """Whether ``value`` is a finite int or float (numpy's too), and not a bool."""
    return (
        isinstance(value, int | float | np.integer | np.floating)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def check_number(
    owner: object,
    name: str,
    *,
    above: float | None = None,
    at_least: float | None = None,
    unit: str = "",
) -> None:
    """Check that field ``name`` of ``owner`` is a finite number in range."""
    value = getattr(owner, name)
    suffix = f" ({unit})" if unit else ""
    if above is not None and not (is_number(value) and value > above):
        raise invalid(owner, name, f"a number > {above:g}{suffix}", value)
    if at_least is not None and not (is_number(value) and value >= at_least):
        raise invalid(owner, name, f"a number >= {at_least:g}{suffix}", value)
    if above is None and at_least is None and not is_number(value):
        raise invalid(owner, name, f"a finite number{suffix}", value)


def check_integer(owner: object, name: str, *, at_least: int, optional: bool = False) -> None:
    """Check that field ``name`` of ``owner`` is a whole number >= ``at_least`` (or None)."""
    value = getattr(owner, name)
    if optional and value is None:
        return
    ok = isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= at_least
    if not ok:
        expected = f"a whole number >= {at_least}" + (" or None" if optional else "")
        raise invalid(owner, name, expected, value)


def check_window(owner: object) -> None:
    """Check ``start`` >= 0 and ``end`` > ``start``."""
    check_number(owner, "start", at_least=0, unit="seconds")
    start = owner.start  # type: ignore[attr-defined]
    end = owner.end  # type: ignore[attr-defined]
    if not (is_number(end) and end > start):
        raise invalid(owner, "end", f"a number > start ({start:g})", end)


def check_enum(owner: object, name: str, kind: type[StrEnum]) -> None:
    """Turn field ``name`` of frozen ``owner`` into a member of ``kind`` (its value is accepted)."""
    value = getattr(owner, name)
    try:
        object.__setattr__(owner, name, kind(value))
    except ValueError:
        choices = ", ".join(repr(member.value) for member in kind)
        raise invalid(owner, name, f"one of {choices}", value) from None


def check_items(owner: object, name: str, kind: type, *, allow_empty: bool = True) -> None:
    """Check that field ``name`` of ``owner`` holds only ``kind`` items (and some, if asked)."""
    items: Sequence[object] = getattr(owner, name)
    if not allow_empty and not items:
        raise invalid(owner, name, f"at least one {kind.__name__}", items)
    for item in items:
        if not isinstance(item, kind):
            raise invalid(owner, name, f"a tuple of {kind.__name__}", item)


def check_optional(owner: object, name: str, kind: type) -> None:
    """Check that field ``name`` of ``owner`` is a ``kind`` or None."""
    value = getattr(owner, name)
    if value is not None and not isinstance(value, kind):
        raise invalid(owner, name, f"a {kind.__name__} or None", value)
