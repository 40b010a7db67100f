"""The playbook's CQRS architecture drawn as hand-written SVG, with the active part highlighted.

No matplotlib and nothing random: the same arguments give the same bytes on every run, so a
notebook's stored output compares equal under nbval. Arrowheads are drawn as polygons rather than
``<marker>`` elements, so the SVG needs no ``id`` attributes, and several diagrams on one page
cannot clash. The layout (boxes, rows, caption lines) is public so that
:mod:`cqrs_lab.ui.architecture_png` draws the same picture as a PNG.

>>> svg = diagram_svg("events", "order_views applied OrderCreated")
>>> svg.startswith("<svg") and 'data-component="events"' in svg
True
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from html import escape

from cqrs_lab.errors import InvalidArgumentError
from cqrs_lab.ui.trace import Component

__all__ = [
    "BOXES",
    "BOX_H",
    "BOX_W",
    "CAPTION_LINE",
    "CAPTION_TOP",
    "LEFT",
    "MIDDLE",
    "PALETTE",
    "RIGHT",
    "ROWS",
    "WIDTH",
    "as_component",
    "caption_lines",
    "diagram_height",
    "diagram_svg",
    "tag",
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

BOX_W, BOX_H = 176, 54
LEFT, RIGHT, MIDDLE = 32, 392, 212  # x of the left column, right column, client box
ROWS = {"client": 16, "api": 112, "handlers": 200, "models": 288}
_FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
CAPTION_TOP = 372
CAPTION_LINE = 18
_CAPTION_CHARS = 76
_CAPTION_MAX_LINES = 4

# component -> (x, y, tone): tone picks the fill and stroke from PALETTE
BOXES: dict[Component, tuple[int, int, str]] = {
    Component.CLIENT: (MIDDLE, ROWS["client"], "client"),
    Component.COMMANDS_API: (LEFT, ROWS["api"], "command"),
    Component.QUERIES_API: (RIGHT, ROWS["api"], "query"),
    Component.COMMAND_HANDLERS: (LEFT, ROWS["handlers"], "command"),
    Component.QUERY_HANDLERS: (RIGHT, ROWS["handlers"], "query"),
    Component.WRITE_MODEL: (LEFT, ROWS["models"], "command"),
    Component.READ_MODEL: (RIGHT, ROWS["models"], "query"),
}


def as_component(value: Component | str) -> Component:
    """``value`` as a Component; raises InvalidArgumentError naming the choices."""
    try:
        return Component(value)
    except ValueError:
        choices = ", ".join(c.value for c in Component)
        raise InvalidArgumentError(
            f"active must be a Component or one of {choices}; found {value!r}"
        ) from None


def tag(name: str, attributes: Mapping[str, object], content: str | None = None) -> str:
    """One element, attributes sorted by name, values escaped; self-closed without content."""
    attrs = "".join(
        f' {key}="{escape(str(attributes[key]), quote=True)}"' for key in sorted(attributes)
    )
    if content is None:
        return f"<{name}{attrs}/>"
    return f"<{name}{attrs}>{content}</{name}>"


def _text(x: int, y: int, label: str, *, size: int = 14, bold: bool = False) -> str:
    return tag(
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
    line = tag(
        "line",
        {"stroke": colour, "stroke-width": width, "x1": x1, "x2": x2, "y1": y1, "y2": y2},
    )
    size = 7 if width < 2 else 9
    if x1 == x2:  # vertical, pointing down
        points = f"{x2 - size},{y2 - size * 1.4:g} {x2 + size},{y2 - size * 1.4:g} {x2},{y2}"
    else:  # horizontal, pointing right
        points = f"{x2 - size * 1.4:g},{y2 - size} {x2 - size * 1.4:g},{y2 + size} {x2},{y2}"
    return line + tag("polygon", {"fill": colour, "points": points})


def _group(component: Component, active: bool, body: str) -> str:
    return tag(
        "g",
        {
            "class": "component active" if active else "component",
            "data-active": "true" if active else "false",
            "data-component": component.value,
        },
        tag("title", {}, escape(component.label + (" (active)" if active else ""), quote=False))
        + body,
    )


def _box(component: Component, active: bool) -> str:
    x, y, tone = BOXES[component]
    fill = PALETTE["active_fill"] if active else PALETTE[f"{tone}_fill"]
    stroke = PALETTE["active_stroke"] if active else PALETTE[f"{tone}_stroke"]
    rect = tag(
        "rect",
        {
            "fill": fill,
            "height": BOX_H,
            "rx": 8,
            "stroke": stroke,
            "stroke-width": 3.5 if active else 1.5,
            "width": BOX_W,
            "x": x,
            "y": y,
        },
    )
    label = _text(x + BOX_W // 2, y + BOX_H // 2 + 5, component.label, bold=active)
    return _group(component, active, rect + label)


def _events(active: bool) -> str:
    y = ROWS["models"] + BOX_H // 2
    x1, x2 = LEFT + BOX_W, RIGHT
    middle = (x1 + x2) // 2
    colour = PALETTE["active_stroke"] if active else PALETTE["line"]
    arrow = _arrow(x1 + 4, y, x2 - 3, y, colour=colour, width=3.5 if active else 1.5)
    pill = tag(
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
    left, right, middle = LEFT + BOX_W // 2, RIGHT + BOX_W // 2, MIDDLE + BOX_W // 2
    split = ROWS["client"] + BOX_H + 18
    parts = [
        tag(
            "polyline",
            {
                "fill": "none",
                "points": f"{middle},{ROWS['client'] + BOX_H} {middle},{split} "
                f"{left},{split} {left},{split + 4}",
                "stroke": colour,
                "stroke-width": 1.5,
            },
        ),
        tag(
            "polyline",
            {
                "fill": "none",
                "points": f"{middle},{split} {right},{split} {right},{split + 4}",
                "stroke": colour,
                "stroke-width": 1.5,
            },
        ),
        _arrow(left, split + 4, left, ROWS["api"], colour=colour),
        _arrow(right, split + 4, right, ROWS["api"], colour=colour),
    ]
    for x in (left, right):
        parts.append(_arrow(x, ROWS["api"] + BOX_H, x, ROWS["handlers"], colour=colour))
        parts.append(_arrow(x, ROWS["handlers"] + BOX_H, x, ROWS["models"], colour=colour))
    return tag("g", {"class": "connectors"}, "".join(parts))


def diagram_height(lines: list[str]) -> int:
    """The height in pixels of a diagram whose caption has ``lines``."""
    return CAPTION_TOP + (len(lines) * CAPTION_LINE + 8 if lines else -8)


def caption_lines(caption: str) -> list[str]:
    """The caption wrapped as the diagram shows it (at most four lines, the last cut with ...)."""
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
    lit = None if active is None else as_component(active)
    lines = caption_lines(caption)
    height = diagram_height(lines)
    title = "CQRS architecture" + (f": {lit.label} active" if lit is not None else "")
    body = [
        tag("title", {}, escape(title, quote=False)),
        tag(
            "desc",
            {},
            escape(
                "Client sends to the Commands API and the Queries API; commands go to Command "
                "Handlers and the Write Model, queries to Query Handlers and the Read Model; "
                "Events flow from the Write Model to the Read Model.",
                quote=False,
            ),
        ),
        tag("rect", {"fill": "#ffffff", "height": height, "width": WIDTH, "x": 0, "y": 0}),
        _connectors(),
    ]
    body += [_box(component, component is lit) for component in BOXES]
    body.append(_events(lit is Component.EVENTS))
    if lines:
        texts = "".join(
            tag(
                "tspan",
                {"x": 24, "y": CAPTION_TOP + 6 + index * CAPTION_LINE},
                escape(line, quote=False),
            )
            for index, line in enumerate(lines)
        )
        body.append(
            tag(
                "text",
                {"class": "caption", "fill": PALETTE["caption"], "font-size": 13},
                texts,
            )
        )
    return tag(
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
