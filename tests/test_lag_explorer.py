"""The lag explorer, driven without a browser: set a slider, see the run and the picture change."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import re

import pytest

from cqrs_lab.errors import InvalidArgumentError
from cqrs_lab.sim.scenario import (
    Burst,
    BurstArrivals,
    ConstantArrivals,
    OutageKind,
    Readers,
    Scenario,
    SleepMode,
)
from cqrs_lab.ui.lag_explorer import LagExplorer, scenario_from_values

SMALL = Scenario(duration=12, arrivals=ConstantArrivals(rate=200, end=10))


@pytest.fixture
def explorer() -> LagExplorer:
    return LagExplorer(SMALL, seed=5)


def png(explorer: LagExplorer) -> bytes:
    return bytes(explorer.image.value)


def test_it_runs_and_draws_once_when_built(explorer: LagExplorer) -> None:
    assert explorer.runs == 1
    assert explorer.result is not None and explorer.result.events == 2000
    assert png(explorer).startswith(b"\x89PNG")
    assert "2,000 events, 12 s" in explorer.summary.value
    assert "stale reads" in explorer.summary.value
    assert [ax.get_title() for ax in explorer.figure.axes] == [
        "Projection lag over time (events)",
        "Reads right after a write (per 1 s)",
    ]


def test_moving_the_rate_slider_reruns_with_that_rate(explorer: LagExplorer) -> None:
    before = png(explorer)
    explorer.controls["rate"].value = 1500
    assert explorer.runs == 2
    assert explorer.result is not None
    assert explorer.result.scenario.arrivals == ConstantArrivals(rate=1500, end=10)
    assert explorer.result.events == 15_000
    assert png(explorer) != before
    assert "15,000 events" in explorer.summary.value


def test_projector_sliders_set_the_projector(explorer: LagExplorer) -> None:
    explorer.controls["batch_size"].value = 10
    explorer.controls["cost_per_event_ms"].value = 2.0
    explorer.controls["sleep"].value = "when_idle"
    assert explorer.result is not None
    config = explorer.result.scenario.projectors[0]
    assert (config.batch_size, config.cost_per_event, config.sleep) == (
        10,
        0.002,
        SleepMode.WHEN_IDLE,
    )
    assert explorer.runs == 4


def test_the_waiter_controls_turn_stale_reads_into_fresh_ones(explorer: LagExplorer) -> None:
    assert explorer.result is not None
    assert explorer.result.summary["stale_read_rate"].iloc[0] == 1.0
    explorer.controls["waiter_timeout"].value = 0.5
    explorer.controls["use_waiter"].value = True
    assert explorer.result.scenario.readers == Readers(timeout=0.5)
    assert explorer.result.summary["stale_read_rate"].iloc[0] == 0.0
    assert "100%" in explorer.summary.value  # read-your-writes


def test_an_outage_shows_up_in_the_chart(explorer: LagExplorer) -> None:
    explorer.controls["outage_window"].value = (4.0, 6.0)
    explorer.controls["outage"].value = "crash"
    assert explorer.result is not None
    (outage,) = explorer.result.scenario.outages
    assert (outage.start, outage.end, outage.kind) == (4.0, 6.0, OutageKind.CRASH)
    legend = explorer.figure.axes[0].get_legend()
    assert legend is not None
    assert "crashed" in [text.get_text() for text in legend.get_texts()]
    explorer.controls["outage"].value = "none"
    assert explorer.result.scenario.outages == ()


def test_a_bad_combination_is_reported_and_keeps_the_last_picture(
    explorer: LagExplorer,
) -> None:
    explorer.controls["poll_interval"].value = 0.0  # fine while a poll costs something
    before, runs = png(explorer), explorer.runs
    explorer.controls["cost_per_batch_ms"].value = 0.0  # an idle poll would take no time
    assert explorer.error is not None and "poll_interval must be > 0" in explorer.error
    assert "poll_interval must be &gt; 0" in explorer.message.value
    assert png(explorer) == before and explorer.runs == runs
    explorer.controls["cost_per_batch_ms"].value = 1.0
    assert explorer.error is None and explorer.message.value == ""


def test_callbacks_are_plain_methods(explorer: LagExplorer) -> None:
    explorer.on_change()
    assert explorer.runs == 2
    explorer.redraw()
    assert explorer.runs == 2  # redraw does not re-run
    assert explorer.values()["rate"] == 200.0


def test_it_can_wait_to_run_and_draw_four_panels() -> None:
    explorer = LagExplorer(SMALL, run=False, panels=("lag", "head", "lag_seconds", "reads"))
    assert explorer.result is None and explorer.runs == 0
    explorer.redraw()  # nothing to draw yet
    assert bytes(explorer.image.value) == b""
    explorer.update()
    assert len(explorer.figure.axes) == 4


def test_it_shows_as_its_widget(explorer: LagExplorer) -> None:
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_scenario_from_values_converts_units_and_validates() -> None:
    scenario = scenario_from_values(
        SMALL,
        {"cost_per_batch_ms": 5.0, "checkpoint_every": 0, "use_waiter": False},
    )
    config = scenario.projectors[0]
    assert config.cost_per_batch == 0.005 and config.checkpoint_every is None
    assert scenario.readers == Readers(timeout=None)
    with pytest.raises(InvalidArgumentError, match="batch_size"):
        scenario_from_values(SMALL, {"batch_size": 0})


def test_where_widgets_cannot_run_it_shows_its_chart_and_one_line_saying_to_run_it(
    explorer: LagExplorer,
) -> None:
    import base64

    bundle = explorer._repr_mimebundle_()
    assert base64.b64decode(bundle["image/png"]) == png(explorer)
    assert bundle["text/plain"].startswith("Lag explorer: run this cell")
    assert "\n" not in bundle["text/plain"]


def test_the_summary_names_each_row_once_and_says_when_the_backlog_never_drains() -> None:
    burst = BurstArrivals(rate=200, end=12, bursts=(Burst(start=2, end=4, rate=3000),))
    # 20 events/s at most: the backlog of the burst never drains
    overloaded = Scenario(duration=12, arrivals=burst).with_projectors(
        batch_size=10, poll_interval=0.5
    )
    explorer = LagExplorer(overloaded, seed=5)
    html = explorer.summary.value
    labels = re.findall(r"<tr><td>([^<]+)</td>", html)
    assert len(labels) == len(set(labels)), labels
    assert "max lag (events)" in labels and "max lag (time)" in labels
    assert "inf" not in html
    assert "never, at this rate" in html


def test_the_checkpoint_slider_says_what_zero_means(explorer: LagExplorer) -> None:
    assert explorer.controls["checkpoint_every"].description == "checkpoint every"
    assert "0</b>: saved with each batch's rows, atomically" in explorer.checkpoint_note.value
