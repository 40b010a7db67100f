"""Charts of a simulation's DataFrames (matplotlib): lag, head versus checkpoint, reads, rebuilds.

Each function takes DataFrames from :mod:`cqrs_lab.sim` and an optional ``ax`` (or ``fig``), draws,
and returns the Axes (or the Figure, for several panels). None calls ``plt.show()``: in a notebook
the figure shows when the cell ends; elsewhere pass your own Axes, or save with :func:`save_figure`.
Without an ``ax`` a new pyplot figure is made; pass ``fig=Figure()`` to stay out of pyplot.
The charts of a sweep live in :mod:`cqrs_lab.ui.sweep_charts` and are named here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from cqrs_lab.errors import InvalidArgumentError
from cqrs_lab.ui.chart_parts import ensure_axes, require_columns
from cqrs_lab.ui.sweep_charts import plot_read_sweep, plot_throughput_sweep

if TYPE_CHECKING:
    import pandas as pd

    from cqrs_lab.sim.results import SimulationResult

__all__ = [
    "DASHBOARD_PANELS",
    "plot_dashboard",
    "plot_head_vs_checkpoint",
    "plot_lag",
    "plot_read_freshness",
    "plot_read_sweep",
    "plot_rebuild",
    "plot_throughput_sweep",
    "save_figure",
]

TIME_LABEL = "virtual time (s)"
_STATUS_COLOURS = {
    "paused": "tab:orange",
    "crashed": "tab:red",
    "stopped": "tab:purple",
    "rebuilding": "tab:olive",
}
_SAVE_FORMATS = {".png": "png", ".svg": "svg"}


Location = Literal["upper left", "upper right", "lower left", "lower right", "center right"]


def _legend(ax: Axes, *, loc: Location) -> None:
    """A legend, if anything on ``ax`` has a label (an empty one warns)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc=loc)


def _projections(timeline: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(timeline["projection"].tolist()))


def _shade_status(ax: Axes, timeline: pd.DataFrame) -> None:
    """Shade the times some projector was not running, one colour per status."""
    if "status" not in timeline.columns:
        return
    for status, colour in _STATUS_COLOURS.items():
        hit = timeline[timeline["status"] == status]
        if hit.empty:
            continue
        times = np.unique(timeline["time"].to_numpy())
        mask = np.isin(times, hit["time"].to_numpy())
        ax.fill_between(
            times,
            0,
            1,
            where=mask,
            step="post",
            transform=ax.get_xaxis_transform(),
            color=colour,
            alpha=0.15,
            linewidth=0,
            label=status,
        )


def plot_lag(
    timeline: pd.DataFrame,
    ax: Axes | None = None,
    *,
    unit: str = "events",
    sla: float | None = None,
) -> Axes:
    """Lag over time, one line per projection, in ``"events"`` or ``"seconds"``.

    ``sla`` draws the allowed lag (in the same unit) as a dashed line; times a projector was
    paused, crashed, stopped or rebuilding are shaded.
    """
    if unit not in ("events", "seconds"):
        raise InvalidArgumentError(f"unit must be 'events' or 'seconds', found {unit!r}")
    column = f"lag_{unit}"
    require_columns(timeline, ("time", "projection", column), "plot_lag")
    ax = ensure_axes(ax)
    for name in _projections(timeline):
        own = timeline[timeline["projection"] == name]
        ax.plot(own["time"].to_numpy(), own[column].to_numpy(), label=f"{name} lag")
    if sla is not None:
        allowed = f"{sla:g} {unit[:-1] if sla == 1 else unit}"  # "1 second", "5 seconds"
        ax.axhline(sla, color="tab:red", linestyle="--", linewidth=1, label=f"SLA ({allowed})")
    _shade_status(ax, timeline)
    ax.set_title(f"Projection lag over time ({unit})")
    ax.set_xlabel(TIME_LABEL)
    ax.set_ylabel(f"lag ({unit})")
    ax.set_ylim(bottom=0)
    _legend(ax, loc="upper right")
    return ax


def plot_head_vs_checkpoint(timeline: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """The log's head and each projection's checkpoint over time (their gap is the lag).

    Where a projector saves its checkpoint apart from its rows, the saved one is drawn dashed.
    """
    require_columns(
        timeline, ("time", "projection", "head", "checkpoint"), "plot_head_vs_checkpoint"
    )
    ax = ensure_axes(ax)
    first = timeline[timeline["projection"] == timeline["projection"].iloc[0]]
    ax.plot(first["time"].to_numpy(), first["head"].to_numpy(), color="black", label="head")
    for name in _projections(timeline):
        own = timeline[timeline["projection"] == name]
        times = own["time"].to_numpy()
        (line,) = ax.plot(times, own["checkpoint"].to_numpy(), label=f"{name} checkpoint")
        if "saved_checkpoint" in own.columns:
            saved = own["saved_checkpoint"].to_numpy()
            if not np.array_equal(saved, own["checkpoint"].to_numpy()):
                ax.plot(
                    times,
                    saved,
                    linestyle="--",
                    color=line.get_color(),
                    label=f"{name} saved checkpoint",
                )
    _shade_status(ax, timeline)
    ax.set_title("Head of the log vs checkpoints")
    ax.set_xlabel(TIME_LABEL)
    ax.set_ylabel("position (events)")
    ax.set_ylim(bottom=0)
    _legend(ax, loc="lower right")
    return ax


def _read_shares(
    reads: pd.DataFrame, column: str, bin_seconds: float, end: float
) -> tuple[np.ndarray, np.ndarray]:
    """Share (%) of reads with ``column`` true, per time bin of ``bin_seconds``; NaN where none."""
    edges = np.arange(0.0, end + bin_seconds, bin_seconds)
    if edges.size < 2:
        edges = np.array([0.0, bin_seconds])
    times = reads["answered_at"].to_numpy()
    total, _ = np.histogram(times, edges)
    hits, _ = np.histogram(times[reads[column].to_numpy(dtype=bool)], edges)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, 100.0 * hits / np.maximum(total, 1), np.nan)
    return edges[:-1], share


def plot_read_freshness(
    reads: pd.DataFrame,
    ax: Axes | None = None,
    *,
    bin_seconds: float = 1.0,
    end: float | None = None,
) -> Axes:
    """Share of reads that were fresh, showed the reader's own write, and were exactly right."""
    require_columns(
        reads, ("answered_at", "fresh", "sees_own_write", "correct"), "plot_read_freshness"
    )
    if not bin_seconds > 0:
        raise InvalidArgumentError(f"bin_seconds must be > 0, found {bin_seconds!r}")
    ax = ensure_axes(ax)
    stop = end if end is not None else (float(reads["answered_at"].max()) if len(reads) else 1.0)
    for column, label in (
        ("fresh", "fresh (read model had the write)"),
        ("sees_own_write", "read-your-writes success"),
        ("correct", "answer exactly right"),
    ):
        starts, share = _read_shares(reads, column, bin_seconds, stop)
        ax.step(starts, share, where="post", label=label)
    ax.set_title(f"Reads right after a write (per {bin_seconds:g} s)")
    ax.set_xlabel(TIME_LABEL)
    ax.set_ylabel("share of reads (%)")
    ax.set_ylim(-2, 102)
    _legend(ax, loc="lower left")
    return ax


def plot_rebuild(
    timeline: pd.DataFrame,
    reads: pd.DataFrame,
    fig: Figure | None = None,
    *,
    bin_seconds: float = 1.0,
) -> Figure:
    """Two panels: rebuild progress (%) over time, and how correct reads were meanwhile."""
    require_columns(timeline, ("time", "projection", "rebuild_progress", "status"), "plot_rebuild")
    fig = fig if fig is not None else plt.figure(figsize=(8.0, 6.0))
    top, bottom = fig.subplots(2, 1, sharex=True)
    rebuilt = False
    for name in _projections(timeline):
        own = timeline[timeline["projection"] == name]
        progress = own["rebuild_progress"].to_numpy()
        if np.isnan(progress).all():
            continue
        rebuilt = True
        top.plot(own["time"].to_numpy(), 100.0 * progress, label=f"{name} rebuilt")
    if not rebuilt:
        top.text(
            0.5, 0.5, "no rebuild in this run", ha="center", va="center", transform=top.transAxes
        )
    _shade_status(top, timeline)
    top.set_title("Rebuild progress and query correctness")
    top.set_ylabel("rebuild progress (%)")
    top.set_ylim(-2, 102)
    _legend(top, loc="upper left")
    end = float(timeline["time"].max()) if len(timeline) else 1.0
    plot_read_freshness(reads, bottom, bin_seconds=bin_seconds, end=end)
    bottom.set_title("")
    _shade_status(bottom, timeline)
    fig.align_ylabels([top, bottom])
    return fig


DASHBOARD_PANELS: tuple[str, ...] = ("lag", "head", "lag_seconds", "reads")
"""The panels :func:`plot_dashboard` draws by default, in reading order."""

_PANEL_NAMES = ("lag", "lag_seconds", "head", "reads")


def plot_dashboard(
    result: SimulationResult,
    fig: Figure | None = None,
    *,
    panels: Sequence[str] = DASHBOARD_PANELS,
) -> Figure:
    """Several panels of one run, sharing the time axis.

    ``panels`` chooses and orders them: ``"lag"`` (events, with the SLA), ``"lag_seconds"``,
    ``"head"`` (head vs checkpoints) and ``"reads"`` (read freshness). Four make a 2x2 grid,
    fewer a row. Each panel is drawn by the function of the same name in this module.
    """
    unknown = [p for p in panels if p not in _PANEL_NAMES]
    if unknown or not panels or len(panels) > 4:
        raise InvalidArgumentError(
            f"panels must be 1 to 4 of {list(_PANEL_NAMES)}, found {list(panels)}"
        )
    fig = fig if fig is not None else plt.figure(figsize=(11.0, 7.0 if len(panels) > 2 else 4.0))
    rows, columns = (2, 2) if len(panels) == 4 else (1, len(panels))
    grid = fig.subplots(rows, columns, sharex=True, squeeze=False)
    axes = list(grid.ravel())
    scenario = result.scenario
    events_sla = {p.sla_events for p in scenario.projectors} - {None}
    seconds_sla = {p.sla_seconds for p in scenario.projectors} - {None}
    for ax, panel in zip(axes, panels, strict=False):
        if panel == "lag":
            plot_lag(result.timeline, ax, sla=events_sla.pop() if len(events_sla) == 1 else None)
        elif panel == "lag_seconds":
            sla = seconds_sla.pop() if len(seconds_sla) == 1 else None
            plot_lag(result.timeline, ax, unit="seconds", sla=sla)
        elif panel == "head":
            plot_head_vs_checkpoint(result.timeline, ax)
        else:
            plot_read_freshness(result.reads, ax, end=result.until)
    for ax in axes[: len(axes) - columns]:
        ax.set_xlabel("")  # the bottom row says it; sharing hides these tick labels too
    title = f"{result.events:,} events in {result.until:g} virtual seconds, seed {result.seed}"
    fig.suptitle(title)
    return fig


def save_figure(figure: Figure | Axes, path: str | Path) -> Path:
    """Save a Figure (or the Figure of an Axes) as PNG or SVG, chosen by the file's suffix."""
    target = Path(path)
    fmt = _SAVE_FORMATS.get(target.suffix.lower())
    if fmt is None:
        raise InvalidArgumentError(f"path must end in .png or .svg, found {target.name!r}")
    owner = figure if isinstance(figure, Figure) else figure.get_figure()
    if not isinstance(owner, Figure):
        raise InvalidArgumentError(f"expected a Figure or an Axes on one, found {figure!r}")
    owner.savefig(
        target, format=fmt, bbox_inches="tight", metadata={"Date": None} if fmt == "svg" else None
    )
    return target
