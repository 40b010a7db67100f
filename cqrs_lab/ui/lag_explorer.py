"""A lag explorer for notebooks: sliders set a scenario's knobs, each change re-runs and redraws.

Import this module only where widgets are wanted; it imports ipywidgets. Every callback is a plain
method -- :meth:`LagExplorer.update` (re-run, then redraw), :meth:`LagExplorer.redraw` (draw the
last result) -- that tests call without a browser, or reach by setting a slider's value::

    explorer = LagExplorer()
    explorer            # shows the sliders and the dashboard in a notebook
    explorer.controls["rate"].value = 1500   # re-runs at 1,500 commands/s
"""

from __future__ import annotations

import base64
import dataclasses
import html
import io
import math
from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets
import matplotlib
from matplotlib.figure import Figure

from cqrs_lab.errors import InvalidArgumentError
from cqrs_lab.sim.engine import simulate
from cqrs_lab.sim.results import SimulationResult
from cqrs_lab.sim.scenario import (
    BurstArrivals,
    ConstantArrivals,
    Outage,
    OutageKind,
    PoissonArrivals,
    Readers,
    Scenario,
    SleepMode,
)
from cqrs_lab.ui.charts import plot_dashboard

__all__ = ["EXPLORER_PANELS", "LagExplorer", "scenario_from_values", "summary_html"]

EXPLORER_PANELS: tuple[str, ...] = ("lag", "reads")
"""The panels the explorer draws by default: lag with its SLA, and read freshness."""

_NO_OUTAGE = "none"
_RUN_ME = "Lag explorer: run this cell to move its sliders (the chart is its starting point)."
_CHECKPOINT_NOTE = (
    "<small>checkpoint every <b>0</b>: saved with each batch's rows, atomically; "
    "<b>N</b>: saved apart, every N events</small>"
)
_TABLE = "<table style='white-space:nowrap'><caption>{caption}</caption>{rows}</table>"
_VALUE = "text-align:right;white-space:nowrap;padding-left:8px"
_SUMMARY_ROWS = {
    "max_lag_events": ("max lag (events)", "{:,.0f} events"),
    "max_lag_seconds": ("max lag (time)", "{:.2f} s"),
    "time_in_breach": ("time over SLA", "{:.1f} s"),
    "drain_time": ("time to drain", "{:.1f} s"),
    "stale_read_rate": ("stale reads", "{:.0%}"),
    "ryw_success": ("read-your-writes", "{:.0%}"),
    "wait_p95": ("p95 wait", "{:.3f} s"),
    "duplicates": ("duplicates", "{:,.0f}"),
}


def scenario_from_values(base: Scenario, values: dict[str, Any]) -> Scenario:
    """``base`` with the explorer's knobs applied (raises InvalidArgumentError for nonsense).

    Keys: ``rate`` (commands/s), ``batch_size``, ``poll_interval`` (s), ``cost_per_event_ms``,
    ``cost_per_batch_ms``, ``sleep``, ``checkpoint_every`` (0: atomic), ``outage`` ("none",
    "pause" or "crash") with ``outage_window`` (start, end), ``use_waiter`` and
    ``waiter_timeout`` (s). Missing keys keep the base's values.
    """
    scenario = base
    if "rate" in values:
        arrivals = scenario.arrivals
        if isinstance(arrivals, ConstantArrivals | PoissonArrivals | BurstArrivals):
            scenario = scenario.replace(arrivals=dataclasses.replace(arrivals, rate=values["rate"]))
    projector: dict[str, Any] = {}
    for key in ("batch_size", "poll_interval"):
        if key in values:
            projector[key] = values[key]
    if "cost_per_event_ms" in values:
        projector["cost_per_event"] = values["cost_per_event_ms"] / 1000
    if "cost_per_batch_ms" in values:
        projector["cost_per_batch"] = values["cost_per_batch_ms"] / 1000
    if "sleep" in values:
        projector["sleep"] = SleepMode(values["sleep"])
    if "checkpoint_every" in values:
        projector["checkpoint_every"] = values["checkpoint_every"] or None
    if projector:
        scenario = scenario.with_projectors(**projector)
    if "outage" in values:
        kind = values["outage"]
        if kind == _NO_OUTAGE:
            scenario = scenario.replace(outages=())
        else:
            start, end = values.get("outage_window", (10.0, 15.0))
            outage = Outage(start=start, end=end, kind=OutageKind(kind))
            scenario = scenario.replace(outages=(outage,))
    if "use_waiter" in values or "waiter_timeout" in values:
        readers = scenario.readers or Readers()
        timeout = values.get("waiter_timeout", readers.timeout or 0.0)
        use = values.get("use_waiter", readers.timeout is not None)
        scenario = scenario.replace(
            readers=dataclasses.replace(readers, timeout=timeout if use else None)
        )
    return scenario


class LagExplorer:
    """Sliders for the main knobs of a scenario, a dashboard of its run, and its summary.

    Args:
        scenario: the starting point (default: :class:`~cqrs_lab.sim.scenario.Scenario()`).
        seed: the random seed of every run.
        panels: the dashboard's panels (see :func:`~cqrs_lab.ui.charts.plot_dashboard`); two by
            default, as each costs tens of milliseconds to draw.
        run: run and draw once now (tests may pass False and call :meth:`update` themselves).
    """

    def __init__(
        self,
        scenario: Scenario | None = None,
        *,
        seed: int = 42,
        panels: Sequence[str] = EXPLORER_PANELS,
        run: bool = True,
    ) -> None:
        self.base = scenario or Scenario()
        self.seed = seed
        self.result: SimulationResult | None = None
        self.error: str | None = None
        self.runs = 0
        self.panels = tuple(panels)
        self.figure = Figure(figsize=(11.0, 7.0 if len(self.panels) > 2 else 4.0), dpi=72)
        self.controls = self._build_controls()
        self.image = widgets.Image(format="png", layout=widgets.Layout(width="100%"))
        self.summary = widgets.HTML()
        self.message = widgets.HTML()
        self.checkpoint_note = widgets.HTML(_CHECKPOINT_NOTE, layout=widgets.Layout(width="300px"))
        for control in self.controls.values():
            control.observe(self.on_change, names="value")
        self.widget = widgets.VBox(
            [
                widgets.HBox(
                    [
                        widgets.VBox(
                            [
                                self.controls[k]
                                for k in ("rate", "batch_size", "poll_interval", "sleep")
                            ]
                        ),
                        widgets.VBox(
                            [
                                self.controls[k]
                                for k in (
                                    "cost_per_event_ms",
                                    "cost_per_batch_ms",
                                    "checkpoint_every",
                                )
                            ]
                            + [self.checkpoint_note]
                        ),
                        widgets.VBox(
                            [
                                self.controls[k]
                                for k in ("outage", "outage_window", "use_waiter", "waiter_timeout")
                            ]
                        ),
                    ]
                ),
                self.message,
                widgets.HBox([self.image, self.summary]),
            ]
        )
        self.widget.add_class("cqrs-lag-explorer")
        if run:
            self.update()

    def _build_controls(self) -> dict[str, widgets.ValueWidget]:
        base = self.base
        config = base.projectors[0]
        arrivals = base.arrivals
        rate = getattr(arrivals, "rate", 200.0)
        readers = base.readers or Readers()
        outage = base.outages[0] if base.outages else None
        style = {"description_width": "150px"}
        common: dict[str, Any] = {"continuous_update": False, "style": style}
        return {
            "rate": widgets.FloatSlider(
                value=rate,
                min=10,
                max=max(3000.0, rate),
                step=10,
                description="commands / s",
                disabled=not hasattr(arrivals, "rate"),
                **common,
            ),
            "batch_size": widgets.IntSlider(
                value=config.batch_size,
                min=1,
                max=max(1000, config.batch_size),
                description="batch size",
                **common,
            ),
            "poll_interval": widgets.FloatSlider(
                value=config.poll_interval,
                min=0,
                max=max(1.0, config.poll_interval),
                step=0.01,
                description="poll interval (s)",
                **common,
            ),
            "sleep": widgets.Dropdown(
                options=[m.value for m in SleepMode],
                value=config.sleep.value,
                description="sleeps",
                style=style,
            ),
            "cost_per_event_ms": widgets.FloatSlider(
                value=config.cost_per_event * 1000,
                min=0,
                max=5,
                step=0.01,
                description="cost / event (ms)",
                **common,
            ),
            "cost_per_batch_ms": widgets.FloatSlider(
                value=config.cost_per_batch * 1000,
                min=0,
                max=100,
                step=0.5,
                description="cost / batch (ms)",
                **common,
            ),
            "checkpoint_every": widgets.IntSlider(
                value=config.checkpoint_every or 0,
                min=0,
                max=1000,
                step=10,
                description="checkpoint every",
                tooltip="0: with each batch's rows (atomic); N: apart, every N events",
                **common,
            ),
            "outage": widgets.Dropdown(
                options=[_NO_OUTAGE, *(k.value for k in OutageKind)],
                value=outage.kind.value if outage else _NO_OUTAGE,
                description="outage",
                style=style,
            ),
            "outage_window": widgets.FloatRangeSlider(
                value=(outage.start, outage.end) if outage else (30.0, 35.0),
                min=0,
                max=base.duration,
                step=0.5,
                readout_format=".1f",
                description="outage window (s)",
                **common,
            ),
            "use_waiter": widgets.Checkbox(
                value=readers.timeout is not None,
                description="readers wait",
                indent=False,
            ),
            "waiter_timeout": widgets.FloatSlider(
                value=readers.timeout if readers.timeout is not None else 0.2,
                min=0,
                max=2,
                step=0.01,
                description="waiter timeout (s)",
                **common,
            ),
        }

    # -- callbacks: plain methods ------------------------------------------------------------

    def values(self) -> dict[str, Any]:
        """The controls' current values, by knob."""
        return {name: control.value for name, control in self.controls.items()}

    def scenario(self) -> Scenario:
        """The scenario the controls describe (raises InvalidArgumentError for nonsense)."""
        values = self.values()
        if not self.controls["rate"].disabled:
            return scenario_from_values(self.base, values)
        return scenario_from_values(self.base, {k: v for k, v in values.items() if k != "rate"})

    def on_change(self, change: object = None) -> None:
        """What every control calls when its value changes: :meth:`update`."""
        self.update()

    def update(self) -> SimulationResult | None:
        """Run the scenario the controls describe and redraw; a bad combination is reported."""
        try:
            scenario = self.scenario()
        except InvalidArgumentError as error:
            self.error = str(error)
            self.message.value = f"<b style='color:#b00'>{html.escape(self.error)}</b>"
            return None
        self.error = None
        self.message.value = ""
        self.result = simulate(scenario, seed=self.seed)
        self.runs += 1
        self.redraw()
        return self.result

    def redraw(self) -> None:
        """Draw the last result: the dashboard into the image, the summary beside it."""
        result = self.result
        if result is None:
            return
        figure = self.figure
        figure.clear()
        plot_dashboard(result, figure, panels=self.panels)
        buffer = io.BytesIO()
        with matplotlib.rc_context({"text.hinting": "none"}):  # a third faster, a little softer
            figure.savefig(buffer, format="png")
        self.image.value = buffer.getvalue()
        self.summary.value = summary_html(result)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        # Beside the widget, its chart as a PNG and one line of text: JupyterLab renders no
        # widget in a notebook it has not run (nor does a code host); nbval ignores the PNG.
        bundle = self.widget._repr_mimebundle_(**kwargs)
        if self.image.value:
            bundle["image/png"] = base64.b64encode(bytes(self.image.value)).decode("ascii")
        bundle["text/plain"] = _RUN_ME
        return bundle

    def __repr__(self) -> str:
        return f"LagExplorer(runs={self.runs}, seed={self.seed})"


def summary_html(result: SimulationResult) -> str:
    """The summary of the first projection as a small HTML table."""
    row = result.summary.iloc[0]
    cells = []
    for column, (label, fmt) in _SUMMARY_ROWS.items():
        value = row[column]
        if value != value:  # NaN: nothing to report
            text = "-"
        elif column == "drain_time" and math.isinf(value):
            text = "never, at this rate"
        else:
            text = fmt.format(value)
        cells.append(f"<tr><td>{label}</td><td style='{_VALUE}'>{text}</td></tr>")
    title = f"{result.events:,} events, {result.until:g} s"
    return _TABLE.format(caption=html.escape(title), rows="".join(cells))
