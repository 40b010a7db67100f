"""What every chart shares: an Axes to draw on, and a clear error for a DataFrame that will not do.

>>> import pandas as pd
>>> require_columns(pd.DataFrame({"time": [0.0]}), ("time", "lag_events"), "plot_lag")
Traceback (most recent call last):
...
cqrs_lab.errors.InvalidArgumentError: plot_lag needs columns [...], missing ['lag_events']; ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from cqrs_lab.errors import InvalidArgumentError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ensure_axes", "require_columns"]


def ensure_axes(ax: Axes | None, size: tuple[float, float] = (8.0, 4.0)) -> Axes:
    """``ax``, or the Axes of a new pyplot figure of ``size`` inches."""
    if ax is not None:
        return ax
    _, new = plt.subplots(figsize=size)
    return new


def require_columns(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    """Raise InvalidArgumentError naming the columns ``what`` needs that ``frame`` lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidArgumentError(
            f"{what} needs columns {list(columns)}, missing {missing}; "
            f"found {list(map(str, frame.columns))}"
        )
