"""Charts of simulation results: they return Axes or Figures with the expected lines and labels."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from cqrs_lab.errors import InvalidArgumentError
from cqrs_lab.rebuild import RebuildMode
from cqrs_lab.sim.engine import simulate
from cqrs_lab.sim.results import SimulationResult
from cqrs_lab.sim.scenario import (
    ConstantArrivals,
    Outage,
    ProjectorConfig,
    Readers,
    RebuildPlan,
    Scenario,
)
from cqrs_lab.ui.charts import (
    plot_dashboard,
    plot_head_vs_checkpoint,
    plot_lag,
    plot_read_freshness,
    plot_read_sweep,
    plot_rebuild,
    plot_throughput_sweep,
    save_figure,
)

SCENARIO = Scenario(
    duration=12,
    arrivals=ConstantArrivals(rate=200, end=10),
    outages=(Outage(start=4, end=5),),
    rebuild=RebuildPlan(at=6, mode=RebuildMode.IN_PLACE, batch_size=100),
    readers=Readers(every=5, timeout=0.2),
)


@pytest.fixture(autouse=True)
def close_figures() -> Iterator[None]:
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def result() -> SimulationResult:
    return simulate(SCENARIO, seed=3)


def labels(ax: Axes) -> list[str]:
    return [str(line.get_label()) for line in ax.get_lines()]


def legend_texts(ax: Axes) -> list[str]:
    legend = ax.get_legend()
    assert legend is not None
    return [text.get_text() for text in legend.get_texts()]


def test_lag_over_time_has_one_line_per_projection_and_the_sla(result: SimulationResult) -> None:
    ax = plot_lag(result.timeline, sla=50)
    assert isinstance(ax, Axes)
    assert labels(ax) == ["item_counts lag", "_child1"] or labels(ax)[0] == "item_counts lag"
    assert ax.get_title() == "Projection lag over time (events)"
    assert ax.get_xlabel() == "virtual time (s)"
    assert ax.get_ylabel() == "lag (events)"
    assert "SLA (50 events)" in legend_texts(ax)
    assert "paused" in legend_texts(ax) and "rebuilding" in legend_texts(ax)
    line = ax.get_lines()[0]
    assert np.asarray(line.get_xdata()).tolist() == result.timeline["time"].tolist()


def test_lag_in_seconds_and_on_a_given_axes(result: SimulationResult) -> None:
    _, given = plt.subplots()
    ax = plot_lag(result.timeline, given, unit="seconds")
    assert ax is given
    assert ax.get_ylabel() == "lag (seconds)"
    with pytest.raises(InvalidArgumentError, match="unit must be 'events' or 'seconds'"):
        plot_lag(result.timeline, unit="hours")


def test_head_vs_checkpoint_draws_the_head_and_each_checkpoint(result: SimulationResult) -> None:
    ax = plot_head_vs_checkpoint(result.timeline)
    assert labels(ax)[:2] == ["head", "item_counts checkpoint"]
    assert ax.get_ylabel() == "position (events)"
    head = ax.get_lines()[0]
    assert np.asarray(head.get_ydata()).max() == 2000


def test_head_vs_checkpoint_shows_a_saved_checkpoint_apart_when_it_differs() -> None:
    scenario = Scenario(duration=5, arrivals=ConstantArrivals(rate=200, end=5)).with_projectors(
        checkpoint_every=300
    )
    ax = plot_head_vs_checkpoint(simulate(scenario).timeline)
    assert "item_counts saved checkpoint" in labels(ax)


def test_rebuild_chart_shows_progress_and_read_correctness(result: SimulationResult) -> None:
    fig = plot_rebuild(result.timeline, result.reads)
    assert isinstance(fig, Figure)
    top, bottom = fig.axes[:2]
    assert top.get_ylabel() == "rebuild progress (%)"
    assert labels(top) == ["item_counts rebuilt"]
    assert np.nanmax(top.get_lines()[0].get_ydata()) == 100.0
    assert bottom.get_ylabel() == "share of reads (%)"
    assert labels(bottom) == [
        "fresh (read model had the write)",
        "read-your-writes success",
        "answer exactly right",
    ]
    assert bottom.get_xlabel() == "virtual time (s)"


def test_rebuild_chart_says_when_there_was_no_rebuild() -> None:
    plain = simulate(Scenario(duration=3, arrivals=ConstantArrivals(rate=50, end=3)))
    fig = plot_rebuild(plain.timeline, plain.reads)
    assert [t.get_text() for t in fig.axes[0].texts] == ["no rebuild in this run"]


def test_read_freshness_bins_reads_by_time(result: SimulationResult) -> None:
    ax = plot_read_freshness(result.reads, bin_seconds=2.0)
    assert ax.get_title() == "Reads right after a write (per 2 s)"
    assert len(ax.get_lines()) == 3


def test_read_sweep_plots_rates_against_the_timeout() -> None:
    sweep = pd.DataFrame(
        {
            "timeout": [0.0, 0.1, 0.5],
            "stale_read_rate": [1.0, 0.4, 0.0],
            "ryw_success": [0.0, 0.6, 1.0],
            "wait_p95": [0.0, 0.1, 0.12],
        }
    )
    ax = plot_read_sweep(sweep)
    assert labels(ax) == ["stale-read rate", "read-your-writes success"]
    assert np.asarray(ax.get_lines()[0].get_ydata()).tolist() == [100.0, 40.0, 0.0]
    assert ax.get_xlabel() == "waiter timeout (s)"
    assert legend_texts(ax) == ["stale-read rate", "read-your-writes success", "p95 wait"]


def test_throughput_sweep_marks_capacity() -> None:
    sweep = pd.DataFrame(
        {"ratio": [0.5, 1.0, 2.0], "max_lag_events": [10, 50, 5000], "lag_slope": [0, 1, 500]}
    )
    ax = plot_throughput_sweep(sweep)
    assert ax.get_xlabel() == "arrival rate / projector throughput"
    assert ax.get_ylabel() == "max lag (events)"
    assert "arrivals = throughput" in legend_texts(ax)
    assert "lag growth" in legend_texts(ax)
    (growth,) = [other for other in ax.figure.axes if other is not ax]
    assert growth.get_ylabel() == "lag growth (events/s)"


def test_charts_name_the_columns_they_miss() -> None:
    with pytest.raises(InvalidArgumentError, match=r"missing \['lag_events'\]"):
        plot_lag(pd.DataFrame({"time": [0.0], "projection": ["p"]}))
    with pytest.raises(InvalidArgumentError, match=r"missing \['ratio'\]"):
        plot_throughput_sweep(pd.DataFrame({"max_lag_events": [1]}))


def test_dashboard_has_four_titled_panels_on_a_given_figure(result: SimulationResult) -> None:
    fig = plot_dashboard(result, Figure())
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == [
        "Projection lag over time (events)",
        "Head of the log vs checkpoints",
        "Projection lag over time (seconds)",
        "Reads right after a write (per 1 s)",
    ]
    assert "SLA (1 second)" in legend_texts(fig.axes[2])


def test_dashboard_of_several_projectors_draws_a_line_for_each() -> None:
    scenario = Scenario(
        duration=3,
        arrivals=ConstantArrivals(rate=50, end=3),
        projectors=(ProjectorConfig(name="a"), ProjectorConfig(name="b", cost_per_event=0.01)),
    )
    fig = plot_dashboard(simulate(scenario), Figure())
    assert labels(fig.axes[0])[:2] == ["a lag", "b lag"]


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_save_figure_writes_png_or_svg(
    result: SimulationResult, tmp_path: Path, suffix: str
) -> None:
    ax = plot_lag(result.timeline)
    path = save_figure(ax, tmp_path / f"lag{suffix}")
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG") if suffix == ".png" else b"<svg" in data[:500]


def test_save_figure_refuses_other_formats(result: SimulationResult, tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match=r"must end in \.png or \.svg, found 'lag\.gif'"):
        save_figure(plot_lag(result.timeline), tmp_path / "lag.gif")


def test_dashboard_draws_the_panels_asked_for_in_a_row(result: SimulationResult) -> None:
    fig = plot_dashboard(result, Figure(), panels=("reads", "lag"))
    assert [ax.get_title() for ax in fig.axes] == [
        "Reads right after a write (per 1 s)",
        "Projection lag over time (events)",
    ]
    assert [ax.get_xlabel() for ax in fig.axes] == ["virtual time (s)"] * 2
    with pytest.raises(InvalidArgumentError, match=r"panels must be 1 to 4 of .*found \['pie'\]"):
        plot_dashboard(result, Figure(), panels=("pie",))


def test_importing_ui_and_sim_pulls_in_neither_matplotlib_nor_ipywidgets() -> None:
    code = (
        "import sys, cqrs_lab.ui, cqrs_lab.sim; "
        "print(sorted(m for m in ('matplotlib', 'ipywidgets') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
