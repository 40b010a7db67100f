"""Injected identity: id factories are zero-argument callables returning a new string.

>>> ids = SequentialIds("order")
>>> ids(), ids()
('order-0001', 'order-0002')
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable

from cqrs_lab.errors import InvalidArgumentError

__all__ = ["IdFactory", "SequentialIds", "UuidIds"]

IdFactory = Callable[[], str]
"""A zero-argument callable that returns a fresh, unique id."""


class SequentialIds:
    """Ids ``prefix-0001``, ``prefix-0002``, ...: the same on every run, safe across threads."""

    def __init__(self, prefix: str, *, width: int = 4) -> None:
        if not prefix:
            raise InvalidArgumentError("prefix must be a non-empty string, found ''")
        if width < 1:
            raise InvalidArgumentError(f"width must be >= 1, found {width}")
        self.prefix = prefix
        self._width = width
        self._last = 0
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            self._last += 1
            number = self._last
        return f"{self.prefix}-{str(number).zfill(self._width)}"

    def __repr__(self) -> str:
        return f"SequentialIds({self.prefix!r})"


class UuidIds:
    """Random ids ``prefix-<uuid4 hex>``, for use outside notebooks and tests."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix

    def __call__(self) -> str:
        hex_id = uuid.uuid4().hex
        return f"{self.prefix}-{hex_id}" if self.prefix else hex_id

    def __repr__(self) -> str:
        return f"UuidIds({self.prefix!r})"
