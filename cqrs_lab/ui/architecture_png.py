"""The architecture diagram as a PNG, drawn by matplotlib from the same layout as the SVG.

JupyterLab shows an ``image/svg+xml`` output only once the notebook is trusted (its cells run
here), and not every notebook viewer shows SVG at all; every viewer shows a PNG. So a
:class:`~cqrs_lab.ui.diagram.Diagram` carries this PNG beside its SVG. nbval does not compare
PNGs, so the exact bytes may vary between matplotlib versions; the picture does not.

>>> png = diagram_png("events", "order_views applied OrderCreated")
>>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
True
"""

from __future__ import annotations

import io

from cqrs_lab.ui.architecture import (
    BOX_H,
    BOX_W,
    BOXES,
    CAPTION_LINE,
    CAPTION_TOP,
    LEFT,
    MIDDLE,
    PALETTE,
    RIGHT,
    ROWS,
    WIDTH,
    as_component,
    caption_lines,
    diagram_height,
)
from cqrs_lab.ui.trace import Component

__all__ = ["SCALE", "diagram_png"]

SCALE = 2
"""The PNG has SCALE times the diagram's pixels (sharp on high-density screens)."""

_PT = 0.72  # points per pixel at the figure's 100 dpi


def diagram_png(active: Component | str | None = None, caption: str = "") -> bytes:
    """The diagram as PNG bytes, ``SCALE`` times the SVG's size in pixels."""
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyBboxPatch, Polygon

    lit = None if active is None else as_component(active)
    lines = caption_lines(caption)
    height = diagram_height(lines)
    figure = Figure(figsize=(WIDTH / 100, height / 100), dpi=100)
    ax = figure.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, WIDTH)
    ax.set_ylim(height, 0)  # y grows downwards, as in the SVG
    ax.set_axis_off()

    def line(xs: list[float], ys: list[float], colour: str, width: float = 1.5) -> None:
        ax.plot(xs, ys, color=colour, linewidth=width * _PT, solid_capstyle="butt")

    def arrow(x1: float, y1: float, x2: float, y2: float, colour: str, width: float = 1.5) -> None:
        line([x1, x2], [y1, y2], colour, width)
        size = 7 if width < 2 else 9
        if x1 == x2:  # vertical, pointing down
            head = [(x2 - size, y2 - size * 1.4), (x2 + size, y2 - size * 1.4), (x2, y2)]
        else:  # horizontal, pointing right
            head = [(x2 - size * 1.4, y2 - size), (x2 - size * 1.4, y2 + size), (x2, y2)]
        ax.add_patch(Polygon(head, closed=True, facecolor=colour, edgecolor="none"))

    def text(x: float, y: float, label: str, size: int = 14, bold: bool = False) -> None:
        ax.text(
            x,
            y,
            label,
            fontsize=size * _PT,
            fontweight="bold" if bold else "normal",
            color=PALETTE["text"],
            ha="center",
            va="baseline",
        )

    # connectors: client to both APIs, then down each column
    grey = PALETTE["line"]
    left, right, middle = LEFT + BOX_W // 2, RIGHT + BOX_W // 2, MIDDLE + BOX_W // 2
    split = ROWS["client"] + BOX_H + 18
    line([middle, middle], [ROWS["client"] + BOX_H, split], grey)
    line([left, right], [split, split], grey)
    for x in (left, right):
        arrow(x, split, x, ROWS["api"], grey)
        arrow(x, ROWS["api"] + BOX_H, x, ROWS["handlers"], grey)
        arrow(x, ROWS["handlers"] + BOX_H, x, ROWS["models"], grey)

    for component, (x, y, tone) in BOXES.items():
        on = component is lit
        ax.add_patch(
            FancyBboxPatch(
                (x, y),
                BOX_W,
                BOX_H,
                boxstyle="round,pad=0,rounding_size=8",
                facecolor=PALETTE["active_fill"] if on else PALETTE[f"{tone}_fill"],
                edgecolor=PALETTE["active_stroke"] if on else PALETTE[f"{tone}_stroke"],
                linewidth=(3.5 if on else 1.5) * _PT,
            )
        )
        text(x + BOX_W // 2, y + BOX_H // 2 + 5, component.label, bold=on)

    # the events arrow from the write model to the read model, with its label in a pill
    on = lit is Component.EVENTS
    y = ROWS["models"] + BOX_H // 2
    x1, x2 = LEFT + BOX_W, RIGHT
    colour = PALETTE["active_stroke"] if on else grey
    arrow(x1 + 4, y, x2 - 3, y, colour, 3.5 if on else 1.5)
    centre = (x1 + x2) // 2
    ax.add_patch(
        FancyBboxPatch(
            (centre - 46, y + 9),
            92,
            26,
            boxstyle="round,pad=0,rounding_size=13",
            facecolor=PALETTE["active_fill"] if on else "#ffffff",
            edgecolor=PALETTE["active_stroke"] if on else "none",
            linewidth=(2 if on else 0) * _PT,
        )
    )
    text(centre, y + 27, Component.EVENTS.label, size=13, bold=on)

    for index, caption_line in enumerate(lines):
        ax.text(
            24,
            CAPTION_TOP + 6 + index * CAPTION_LINE,
            caption_line,
            fontsize=13 * _PT,
            color=PALETTE["caption"],
            ha="left",
            va="baseline",
        )

    buffer = io.BytesIO()
    # no timestamp or version in the file: the same picture gives the same bytes here
    figure.savefig(
        buffer, format="png", dpi=100 * SCALE, facecolor="#ffffff", metadata={"Software": None}
    )
    return buffer.getvalue()
