"""The playbook's CQRS architecture diagram as hand-written SVG, with the active part highlighted.

No matplotlib and nothing random: the same arguments give the same bytes on every run, so a
notebook's stored output compares equal under nbval. Arrowheads are drawn as polygons rather than
``<marker>`` elements, so the SVG needs no ``id`` attributes, and several diagrams on one page
cannot clash.

>>> from cqrs_lab.ui.trace import Component
>>> svg = Diagram(Component.EVENTS, "order_views applied OrderCreated").to_svg()
>>> svg.startswith("<svg") and 'data-component="events"' in svg
True
>>> Diagram(Component.EVENTS)
Diagram(active='events', caption='')
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

from cqrs_lab.errors import InvalidArgumentError
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
]

PALETTE: Mapping[str, str] = {
    "text": "#0f172a",
    "line": "#475569",
    "client_fill": "#f1f5f9",
    "client_stroke": "#334155",
    "command_fill": "#dbeafe",
    "command_stroke": "#1e40af",
    "query_fill": "#dcfce7",
    "query_stroke": "#166534",
    "active_fill": "#fbbf24",
    "active_stroke": "#78350f",
    "caption": "#1f2937",
}
"""The colours: dark text on light fills (contrast >= 7:1); the active part amber, thick-edged."""

WIDTH = 600
"""Width of the diagram in pixels (fixed, so the SVG's size never varies)."""

_BOX_W, _BOX_H = 176, 54
_LEFT, _RIGHT, _MIDDLE = 32, 392, 212  # x of the left column, right column, client box
_ROWS = {"client": 16, "api": 112, "handlers": 200, "models": 288}
_FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
_CAPTION_TOP = 372
_CAPTION_LINE = 18
_CAPTION_CHARS = 76
_CAPTION_MAX_LINES = 4

# component -> (x, y, tone): tone picks the fill and stroke from PALETTE
_BOXES: dict[Component, tuple[int, int, str]] = {
    Component.CLIENT: (_MIDDLE, _ROWS["client"], "client"),
    Component.COMMANDS_API: (_LEFT, _ROWS["api"], "command"),
    Component.QUERIES_API: (_RIGHT, _ROWS["api"], "query"),
    Component.COMMAND_HANDLERS: (_LEFT, _ROWS["handlers"], "command"),
    Component.QUERY_HANDLERS: (_RIGHT, _ROWS["handlers"], "query"),
    Component.WRITE_MODEL: (_LEFT, _ROWS["models"], "command"),
    Component.READ_MODEL: (_RIGHT, _ROWS["models"], "query"),
}


@dataclass(frozen=True, slots=True)
class Diagram:
    """The architecture diagram with ``active`` highlighted and ``caption`` below it.

    Displays itself in JupyterLab (``_repr_svg_``); :meth:`to_svg` gives the text.
    """

    active: Component | None = None
    caption: str = ""

    def __post_init__(self) -> None:
        if self.active is not None and not isinstance(self.active, Component):
            object.__setattr__(self, "active", _component(self.active))

    @classmethod
    def for_step(cls, step: TraceStep | None) -> Diagram:
        """The diagram for a trace step: its component lit, ``seq. description`` as caption."""
        if step is None:
            return cls()
        return cls(step.component, f"{step.seq}. {step.description}")

    def to_svg(self) -> str:
        """The SVG text: the same bytes for the same diagram, on every run."""
        return diagram_svg(self.active, self.caption)

    def _repr_svg_(self) -> str:
        return self.to_svg()

    def __repr__(self) -> str:
        active = None if self.active is None else self.active.value
        return f"Diagram(active={active!r}, caption={self.caption!r})"


def _component(value: Component | str) -> Component:
    try:
        return Component(value)
    except ValueError:
        choices = ", ".join(c.value for c in Component)
        raise InvalidArgumentError(
            f"active must be a Component or one of {choices}; found {value!r}"
        ) from None


def _tag(name: str, attributes: Mapping[str, object], content: str | None = None) -> str:
    """One element, attributes sorted by name, values escaped; self-closed without content."""
    attrs = "".join(
        f' {key}="{escape(str(attributes[key]), quote=True)}"' for key in sorted(attributes)
    )
    if content is None:
        return f"<{name}{attrs}/>"
    return f"<{name}{attrs}>{content}</{name}>"


def _text(x: int, y: int, label: str, *, size: int = 14, bold: bool = False) -> str:
    return _tag(
        "text",
        {
            "fill": PALETTE["text"],
            "font-size": size,
            "font-weight": "bold" if bold else "normal",
            "text-anchor": "middle",
            "x": x,
            "y": y,
        },
        escape(label, quote=False),
    )


def _arrow(x1: int, y1: int, x2: int, y2: int, *, colour: str, width: float = 1.5) -> str:
    """A straight line from (x1, y1) to (x2, y2) with a filled head at the end (axis-aligned)."""
    line = _tag(
        "line",
        {"stroke": colour, "stroke-width": width, "x1": x1, "x2": x2, "y1": y1, "y2": y2},
    )
    size = 7 if width < 2 else 9
    if x1 == x2:  # vertical, pointing down
        points = f"{x2 - size},{y2 - size * 1.4:g} {x2 + size},{y2 - size * 1.4:g} {x2},{y2}"
    else:  # horizontal, pointing right
        points = f"{x2 - size * 1.4:g},{y2 - size} {x2 - size * 1.4:g},{y2 + size} {x2},{y2}"
    return line + _tag("polygon", {"fill": colour, "points": points})


def _group(component: Component, active: bool, body: str) -> str:
    return _tag(
        "g",
        {
            "class": "component active" if active else "component",
            "data-active": "true" if active else "false",
            "data-component": component.value,
        },
        _tag("title", {}, escape(component.label + (" (active)" if active else ""), quote=False))
        + body,
    )


def _box(component: Component, active: bool) -> str:
    x, y, tone = _BOXES[component]
    fill = PALETTE["active_fill"] if active else PALETTE[f"{tone}_fill"]
    stroke = PALETTE["active_stroke"] if active else PALETTE[f"{tone}_stroke"]
    rect = _tag(
        "rect",
        {
            "fill": fill,
            "height": _BOX_H,
            "rx": 8,
            "stroke": stroke,
            "stroke-width": 3.5 if active else 1.5,
            "width": _BOX_W,
            "x": x,
            "y": y,
        },
    )
    label = _text(x + _BOX_W // 2, y + _BOX_H // 2 + 5, component.label, bold=active)
    return _group(component, active, rect + label)


def _events(active: bool) -> str:
    y = _ROWS["models"] + _BOX_H // 2
    x1, x2 = _LEFT + _BOX_W, _RIGHT
    middle = (x1 + x2) // 2
    colour = PALETTE["active_stroke"] if active else PALETTE["line"]
    arrow = _arrow(x1 + 4, y, x2 - 3, y, colour=colour, width=3.5 if active else 1.5)
    pill = _tag(
        "rect",
        {
            "fill": PALETTE["active_fill"] if active else "#ffffff",
            "height": 26,
            "rx": 13,
            "stroke": PALETTE["active_stroke"] if active else "none",
            "stroke-width": 2 if active else 0,
            "width": 92,
            "x": middle - 46,
            "y": y + 9,
        },
    )
    label = _text(middle, y + 27, Component.EVENTS.label, size=13, bold=active)
    return _group(Component.EVENTS, active, arrow + pill + label)


def _connectors() -> str:
    colour = PALETTE["line"]
    left, right, middle = _LEFT + _BOX_W // 2, _RIGHT + _BOX_W // 2, _MIDDLE + _BOX_W // 2
    split = _ROWS["client"] + _BOX_H + 18
    parts = [
        _tag(
            "polyline",
            {
                "fill": "none",
                "points": f"{middle},{_ROWS['client'] + _BOX_H} {middle},{split} "
                f"{left},{split} {left},{split + 4}",
                "stroke": colour,
                "stroke-width": 1.5,
            },
        ),
        _tag(
            "polyline",
            {
                "fill": "none",
                "points": f"{middle},{split} {right},{split} {right},{split + 4}",
                "stroke": colour,
                "stroke-width": 1.5,
            },
        ),
        _arrow(left, split + 4, left, _ROWS["api"], colour=colour),
        _arrow(right, split + 4, right, _ROWS["api"], colour=colour),
    ]
    for x in (left, right):
        parts.append(_arrow(x, _ROWS["api"] + _BOX_H, x, _ROWS["handlers"], colour=colour))
        parts.append(_arrow(x, _ROWS["handlers"] + _BOX_H, x, _ROWS["models"], colour=colour))
    return _tag("g", {"class": "connectors"}, "".join(parts))


def _caption_lines(caption: str) -> list[str]:
    if not caption:
        return []
    lines = textwrap.wrap(caption, _CAPTION_CHARS, break_long_words=True) or [""]
    if len(lines) > _CAPTION_MAX_LINES:
        lines = lines[:_CAPTION_MAX_LINES]
        lines[-1] = lines[-1][: _CAPTION_CHARS - 1] + "…"
    return lines


def diagram_svg(active: Component | str | None = None, caption: str = "") -> str:
    """The diagram as SVG text, ``active`` highlighted (None: nothing), ``caption`` below.

    >>> import xml.etree.ElementTree as ET
    >>> root = ET.fromstring(diagram_svg("read_model", "a row changed"))
    >>> [g.get("data-component") for g in root.iter("{http://www.w3.org/2000/svg}g")
    ...  if g.get("data-active") == "true"]
    ['read_model']
    """
    lit = None if active is None else _component(active)
    lines = _caption_lines(caption)
    height = _CAPTION_TOP + (len(lines) * _CAPTION_LINE + 8 if lines else -8)
    title = "CQRS architecture" + (f": {lit.label} active" if lit is not None else "")
    body = [
        _tag("title", {}, escape(title, quote=False)),
        _tag(
            "desc",
            {},
            escape(
                "Client sends to the Commands API and the Queries API; commands go to Command "
                "Handlers and the Write Model, queries to Query Handlers and the Read Model; "
                "Events flow from the Write Model to the Read Model.",
                quote=False,
            ),
        ),
        _tag("rect", {"fill": "#ffffff", "height": height, "width": WIDTH, "x": 0, "y": 0}),
        _connectors(),
    ]
    body += [_box(component, component is lit) for component in _BOXES]
    body.append(_events(lit is Component.EVENTS))
    if lines:
        texts = "".join(
            _tag(
                "tspan",
                {"x": 24, "y": _CAPTION_TOP + 6 + index * _CAPTION_LINE},
                escape(line, quote=False),
            )
            for index, line in enumerate(lines)
        )
        body.append(
            _tag(
                "text",
                {"class": "caption", "fill": PALETTE["caption"], "font-size": 13},
                texts,
            )
        )
    return _tag(
        "svg",
        {
            "font-family": _FONT,
            "height": height,
            "role": "img",
            "viewBox": f"0 0 {WIDTH} {height}",
            "width": WIDTH,
            "xmlns": "http://www.w3.org/2000/svg",
        },
        "".join(body),
    )


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
        _tag("th", {"scope": "col", "style": _CELL + ";background:#e2e8f0"}, name)
        for name in ("#", "step", "component", "description")
    )
    rows = []
    for step in steps:
        is_current = step.seq == current
        row_style = "background:#fef3c7;font-weight:bold" if is_current else ""
        cells = "".join(
            _tag("td", {"style": _CELL}, escape(str(value), quote=False))
            for value in (step.seq, step.kind.value, step.component.label, step.description)
        )
        attributes: dict[str, object] = {"data-seq": step.seq}
        if is_current:
            attributes["aria-current"] = "step"
        if row_style:
            attributes["style"] = row_style
        rows.append(_tag("tr", attributes, cells))
    return _tag(
        "table",
        {"class": "cqrs-trace", "style": "border-collapse:collapse;font-size:13px"},
        _tag("thead", {}, _tag("tr", {}, head)) + _tag("tbody", {}, "".join(rows)),
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
    html = _tag(
        "div",
        {
            "class": "cqrs-trace-view",
            "style": "display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start",
        },
        _tag("div", {"style": "flex:1 1 420px;overflow-x:auto"}, table)
        + _tag("div", {"style": f"flex:0 0 {WIDTH}px"}, diagram.to_svg()),
    )
    return TraceView(html, len(steps), latest.component if latest else None)
