"""A progress bar widget for notebooks: pass it wherever a ``progress(done, total)`` is taken.

>>> bar = WidgetProgressBar("rebuild")
>>> bar(250, 1000)
>>> bar.bar.value, bar.bar.max, bar.text.value
(250, 1000, '250 / 1000 (25%)')
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

__all__ = ["WidgetProgressBar"]


class WidgetProgressBar:
    """An ``IntProgress`` and a count, updated by calls ``bar(done, total)``."""

    def __init__(self, description: str = "progress") -> None:
        self.bar = widgets.IntProgress(value=0, min=0, max=1, description=description)
        self.text = widgets.Label(value="")
        self.widget = widgets.HBox([self.bar, self.text])

    def __call__(self, done: float, total: float) -> None:
        self.bar.max = max(int(total), 1)
        self.bar.value = min(int(done), self.bar.max)
        percent = int(100 * done / total) if total else 100
        self.text.value = f"{done:g} / {total:g} ({percent}%)"

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        return f"WidgetProgressBar({self.text.value!r})"
