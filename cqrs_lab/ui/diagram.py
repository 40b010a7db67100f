"""The playbook's CQRS architecture diagram, with the active part highlighted, and traces beside it.

A :class:`Diagram` displays as a picture in every viewer: it carries a PNG (which JupyterLab shows
before a notebook is trusted, and which every notebook viewer shows) beside its SVG (shown once
the notebook is trusted; compared by nbval). A :class:`TraceView` is HTML: a table of steps
beside the diagram, embedded as an ``<img>`` of the SVG, which survives the HTML sanitizer of an
untrusted notebook where inline ``<svg>`` does not.

>>> from cqrs_lab.ui.trace import Component
>>> svg = Diagram(Component.EVENTS, "order_views applied OrderCreated").to_svg()
>>> svg.startswith("<svg") and 'data-component="events"' in svg
True
>>> Diagram(Component.EVENTS)
Diagram(active='events', caption='')
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from cqrs_lab.errors import InvalidArgumentError
from cqrs_lab.ui.architecture import (
    PALETTE,
    WIDTH,
    as_component,
    caption_lines,
    diagram_height,
    diagram_svg,
    tag,
)
from cqrs_lab.ui.trace import Component, TraceStep
from cqrs_lab.ui.tracer import Tracer

__all__ = [
    "PALETTE",
    "WIDTH",
    "Diagram",
    "TraceView",
    "diagram_svg",
    "render_steps",
    "render_trace",
    "steps_table",
    "svg_image",
]


@dataclass(frozen=True, slots=True)
class Diagram:
    """The architecture diagram with ``active`` highlighted and ``caption`` below it.

    Displays itself as a PNG beside the SVG (see the module's docstring); :meth:`to_svg`,
    :meth:`to_png` and :meth:`to_html` give each form.
    """

    active: Component | None = None
    caption: str = ""

    def __post_init__(self) -> None:
        if self.active is not None and not isinstance(self.active, Component):
            object.__setattr__(self, "active", as_component(self.active))

    @classmethod
    def for_step(cls, step: TraceStep | None) -> Diagram:
        """The diagram for a trace step: its component lit, ``seq. description`` as caption."""
        if step is None:
            return cls()
        return cls(step.component, f"{step.seq}. {step.description}")

    def to_svg(self) -> str:
        """The SVG text: the same bytes for the same diagram, on every run."""
        return diagram_svg(self.active, self.caption)

    def to_png(self) -> bytes:
        """The same picture as PNG bytes (drawn by matplotlib, at twice the SVG's pixels)."""
        from cqrs_lab.ui.architecture_png import diagram_png

        return diagram_png(self.active, self.caption)

    def to_html(self) -> str:
        """An ``<img>`` of the SVG: HTML that survives the sanitizer of an untrusted notebook."""
        return svg_image(self.to_svg(), self._title())

    def _title(self) -> str:
        active = "" if self.active is None else f": {self.active.label} active"
        return f"CQRS architecture diagram{active}. {self.caption}".strip()

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        height = diagram_height(caption_lines(self.caption))
        data = {
            "image/png": base64.b64encode(self.to_png()).decode("ascii"),
            "image/svg+xml": self.to_svg(),
            "text/plain": repr(self),
        }
        # the PNG has SCALE times the pixels: show it at the SVG's size
        return data, {"image/png": {"width": WIDTH, "height": height}}

    def __repr__(self) -> str:
        active = None if self.active is None else self.active.value
        return f"Diagram(active={active!r}, caption={self.caption!r})"


def svg_image(svg: str, alt: str) -> str:
    """``svg`` as an ``<img>`` with a data URI: shown by sanitized (untrusted) HTML too."""
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return tag("img", {"alt": alt, "src": f"data:image/svg+xml;base64,{data}"})


# -- a trace as a table beside the diagram -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TraceView:
    """A trace as HTML: a table of steps beside the diagram of the latest; shows in JupyterLab."""

    html: str
    steps: int
    active: Component | None

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        active = None if self.active is None else self.active.value
        return f"TraceView(steps={self.steps}, active={active!r})"


_CELL = "border:1px solid #cbd5e1;padding:3px 8px;text-align:left;vertical-align:top"


def steps_table(steps: Sequence[TraceStep], *, current: int | None = None) -> str:
    """An HTML table of ``steps``; the row whose ``seq`` is ``current`` is highlighted."""
    head = "".join(
        tag("th", {"scope": "col", "style": _CELL + ";background:#e2e8f0"}, name)
        for name in ("#", "step", "component", "description")
    )
    rows = []
    for step in steps:
        is_current = step.seq == current
        row_style = "background:#fef3c7;font-weight:bold" if is_current else ""
        cells = "".join(
            tag("td", {"style": _CELL}, escape(str(value), quote=False))
            for value in (step.seq, step.kind.value, step.component.label, step.description)
        )
        attributes: dict[str, object] = {"data-seq": step.seq}
        if is_current:
            attributes["aria-current"] = "step"
        if row_style:
            attributes["style"] = row_style
        rows.append(tag("tr", attributes, cells))
    return tag(
        "table",
        {"class": "cqrs-trace", "style": "border-collapse:collapse;font-size:13px"},
        tag("thead", {}, tag("tr", {}, head)) + tag("tbody", {}, "".join(rows)),
    )


def render_trace(tracer: Tracer, *, limit: int | None = None) -> TraceView:
    """The tracer's steps as a table (the latest ``limit``, default all) beside the diagram.

    The diagram shows the latest step's component lit and its description as caption; the
    HTML is the same on every run for the same steps.
    """
    return render_steps(tracer.steps, limit=limit)


def render_steps(steps: Sequence[TraceStep], *, limit: int | None = None) -> TraceView:
    """Like :func:`render_trace`, for a list of steps (e.g. those a player has shown so far)."""
    if limit is not None and limit < 1:
        raise InvalidArgumentError(f"limit must be >= 1 or None, found {limit}")
    shown = list(steps) if limit is None else list(steps[-limit:])
    latest = steps[-1] if steps else None
    diagram = Diagram.for_step(latest) if latest else Diagram(caption="No steps recorded yet.")
    table = (
        steps_table(shown, current=latest.seq if latest else None)
        if shown
        else "<p>No steps recorded yet.</p>"
    )
    html = tag(
        "div",
        {
            "class": "cqrs-trace-view",
            "style": "display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start",
        },
        tag("div", {"style": "flex:1 1 420px;overflow-x:auto"}, table)
        + tag("div", {"style": f"flex:0 0 {WIDTH}px"}, diagram.to_html()),
    )
    return TraceView(html, len(steps), latest.component if latest else None)
