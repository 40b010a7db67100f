"""Charts of a sweep (matplotlib): one run per value of a knob, one point per run.

Each takes the DataFrame of a function in :mod:`cqrs_lab.sim.sweep` and an optional ``ax``,
draws, and returns the Axes; none calls ``plt.show()``. :mod:`cqrs_lab.ui.charts` names them too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from matplotlib.axes import Axes

from cqrs_lab.ui.chart_parts import ensure_axes, require_columns

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["plot_read_sweep", "plot_throughput_sweep"]


def plot_read_sweep(sweep: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Stale-read rate and read-your-writes success against the waiter's timeout.

    Takes the DataFrame of :func:`cqrs_lab.sim.sweep.sweep_waiter_timeout`; the p95 wait is
    drawn on a second axis.
    """
    require_columns(
        sweep, ("timeout", "stale_read_rate", "ryw_success", "wait_p95"), "plot_read_sweep"
    )
    ax = ensure_axes(ax)
    timeouts = sweep["timeout"].to_numpy()
    ax.plot(
        timeouts, 100 * sweep["stale_read_rate"].to_numpy(), marker="o", label="stale-read rate"
    )
    ax.plot(
        timeouts,
        100 * sweep["ryw_success"].to_numpy(),
        marker="s",
        label="read-your-writes success",
    )
    ax.set_ylim(-2, 102)
    ax.set_title("Reads right after a write vs the waiter's timeout")
    ax.set_xlabel("waiter timeout (s)")
    ax.set_ylabel("share of reads (%)")
    waits = ax.twinx()
    waits.plot(
        timeouts,
        sweep["wait_p95"].to_numpy(),
        color="tab:gray",
        linestyle=":",
        marker=".",
        label="p95 wait",
    )
    waits.set_ylabel("p95 wait (s)")
    waits.set_ylim(bottom=0)
    handles, labels = ax.get_legend_handles_labels()
    more_handles, more_labels = waits.get_legend_handles_labels()
    ax.legend(handles + more_handles, labels + more_labels, loc="center right")
    return ax


def plot_throughput_sweep(
    sweep: pd.DataFrame, ax: Axes | None = None, *, metric: str = "max_lag_events"
) -> Axes:
    """Lag against the ratio of arrival rate to projector throughput (1: exactly at capacity).

    Takes the DataFrame of :func:`cqrs_lab.sim.sweep.sweep_arrival_ratio`; ``metric`` is the
    column to draw (``max_lag_events``, ``final_lag_events``, ``max_lag_seconds``, ...).
    """
    require_columns(sweep, ("ratio", metric), "plot_throughput_sweep")
    ax = ensure_axes(ax)
    ratios = sweep["ratio"].to_numpy()
    values = sweep[metric].to_numpy()
    unit = "s" if metric.endswith("seconds") else "events"
    label = metric.replace("_", " ").replace(" events", "").replace(" seconds", "")
    ax.plot(ratios, values, marker="o", label=label)
    ax.axvline(1.0, color="tab:red", linestyle="--", linewidth=1, label="arrivals = throughput")
    ax.set_title("Lag vs arrival rate / projector throughput")
    ax.set_xlabel("arrival rate / projector throughput")
    ax.set_ylabel(f"{label} ({unit})")
    ax.set_ylim(bottom=0)
    handles, labels = ax.get_legend_handles_labels()
    if "lag_slope" in sweep.columns:
        growth = ax.twinx()
        growth.plot(
            ratios,
            sweep["lag_slope"].to_numpy(),
            color="tab:orange",
            marker="x",
            linestyle=":",
            label="lag growth",
        )
        growth.set_ylabel("lag growth (events/s)")
        more_handles, more_labels = growth.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    ax.legend(handles, labels, loc="upper left")
    return ax
