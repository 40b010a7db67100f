"""The step-through player's widgets, and its picture for a page where widgets cannot run.

Every callback calls one of the player's plain methods. Play and the step slider are each
observed by the kernel and are *not* linked in the browser: a browser-side link sends every
value the kernel sets back to the kernel a moment later, and by then the kernel may have moved
on, so the echo would rewind the player (notebook 04 run cell by cell, or Run All).

ipywidgets is imported only when a :class:`PlayerWidgets` is built.
"""

from __future__ import annotations

from html import escape as _escape
from typing import TYPE_CHECKING, Any, Protocol

from cqrs_lab.ui.diagram import Diagram, steps_table
from cqrs_lab.ui.player_script import PlayerParts
from cqrs_lab.ui.trace import TraceStep

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Player", "PlayerWidgets", "frame_html", "snapshot_html"]


class Player(Protocol):
    """What the widgets need of a player: :class:`cqrs_lab.ui.player.StepPlayer` is one.

    A protocol rather than an import of that class, which imports this module.
    """

    parts: PlayerParts
    shown: list[TraceStep]
    total: int

    @property
    def finished(self) -> bool:
        """Whether every step has been shown."""
        ...

    @property
    def caption(self) -> str:
        """The latest step's number and description."""
        ...

    def diagram(self) -> Diagram:
        """The architecture diagram for the latest step."""
        ...

    def log_table(self) -> pd.DataFrame:
        """The log as shown beside the diagram."""
        ...

    def checkpoints_frame(self) -> pd.DataFrame:
        """Each projection's checkpoint beside the log's head."""
        ...

    def read_model_frame(self, projection: str | None = None) -> pd.DataFrame:
        """The rows of one read model."""
        ...

    def next(self) -> TraceStep | None:
        """Reveal the next step."""
        ...

    def reset(self) -> Any:
        """Start again."""
        ...

    def seek(self, index: int) -> Any:
        """Show the state after ``index`` steps."""
        ...


_CELL = "border:1px solid #cbd5e1;padding:3px 8px;text-align:left;vertical-align:top"
_HEAD = _CELL + ";background:#e2e8f0"
_RUN_ME = "Run this cell to step through it with Next, Reset and Play."


class PlayerWidgets:
    """The ipywidgets of one player, for the notebook and for tests to click and read."""

    def __init__(self, player: Player) -> None:
        import ipywidgets as widgets

        self.player = player
        self._syncing = False
        self.reset_button = widgets.Button(description="Reset", icon="undo", tooltip="Start again")
        self.next_button = widgets.Button(
            description="Next", icon="step-forward", button_style="primary", tooltip="One step"
        )
        self.play = widgets.Play(
            value=0, min=0, max=player.total, step=1, interval=1500, description="Play"
        )
        self.slider = widgets.IntSlider(
            value=0, min=0, max=player.total, description="Step", continuous_update=False
        )
        self.status = widgets.HTML()
        self.diagram = widgets.HTML()
        self.log = widgets.HTML()
        self.checkpoints = widgets.HTML()
        self.read_model = widgets.HTML()
        self.recent = widgets.HTML()

        self.next_button.on_click(self._on_next)
        self.reset_button.on_click(self._on_reset)
        # no jslink between them (see the module's docstring): the kernel moves the other one
        self.play.observe(self._on_value, names="value")
        self.slider.observe(self._on_value, names="value")

        tables = widgets.VBox(
            [self.log, self.checkpoints, self.read_model],
            layout=widgets.Layout(flex="1 1 420px", overflow="auto"),
        )
        self.box = widgets.VBox(
            [
                widgets.HBox([self.reset_button, self.next_button, self.play, self.slider]),
                self.status,
                widgets.HBox([self.diagram, tables], layout=widgets.Layout(flex_flow="row wrap")),
                self.recent,
            ]
        )
        self.box.add_class("cqrs-player")

    def _on_next(self, _button: Any) -> None:
        self.player.next()

    def _on_reset(self, _button: Any) -> None:
        self.player.reset()

    def _on_value(self, change: dict[str, Any]) -> None:
        if not self._syncing:  # a value the kernel sets itself is not a request to move
            self.player.seek(int(change["new"]))

    def show(self, player: Player) -> None:
        """Show the player's current state in every widget."""
        index = len(player.shown)
        self._syncing = True
        try:
            self.play.value = index
            self.slider.value = index
        finally:
            self._syncing = False
        self.next_button.disabled = player.finished
        self.status.value = _status(player)
        self.diagram.value = player.diagram().to_svg()
        self.log.value = _section("Event log (write model)", player.log_table(), "no events yet")
        self.checkpoints.value = _section("Checkpoints", player.checkpoints_frame(), "none")
        sections = [
            _section(f"Read model: {p.name}", player.read_model_frame(p.name), "no rows yet")
            for p in player.parts.projectors
        ]
        self.read_model.value = "".join(sections)
        recent = player.shown[-6:]
        self.recent.value = (
            "<h4>Latest steps</h4>"
            + steps_table(recent, current=recent[-1].seq if recent else None)
            if recent
            else ""
        )


def snapshot_html(player: Player) -> str:
    """The player as still HTML: what a page that cannot run widgets shows in their place.

    It survives the sanitizer of an untrusted notebook (the diagram is an ``<img>``), and is
    the same on every run for the same steps, so nbval can compare it.
    """
    return (
        '<div class="cqrs-player-snapshot">'
        f"<p><i>{_html_text(_RUN_ME)}</i></p>"
        f"{_status(player)}"
        f"{player.diagram().to_html()}"
        "</div>"
    )


def frame_html(frame: pd.DataFrame) -> str:
    """``frame`` as an HTML table whose cells are padded and ruled (widgets get no table CSS)."""
    names = [str(frame.index.name or ""), *map(str, frame.columns)]
    head = "".join(f'<th scope="col" style="{_HEAD}">{_html_text(name)}</th>' for name in names)
    rows = []
    for key, values in zip(frame.index, frame.itertuples(index=False), strict=True):
        cells = f'<th scope="row" style="{_HEAD}">{_html_text(str(key))}</th>' + "".join(
            f'<td style="{_CELL}">{_html_text(_text(value))}</td>' for value in values
        )
        rows.append(f"<tr>{cells}</tr>")
    return (
        '<table style="border-collapse:collapse;font-size:13px">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _html_text(text: str) -> str:
    """``text`` for an HTML element's content (quotes stay as they are, readable)."""
    return _escape(text, quote=False)


def _text(value: object) -> str:
    return "" if value is None or value != value else str(value)  # NaN: empty


def _status(player: Player) -> str:
    return f'<p class="cqrs-player-status"><b>{_html_text(player.caption)}</b></p>'


def _section(title: str, frame: pd.DataFrame, empty: str) -> str:
    body = f"<p><i>{_html_text(empty)}</i></p>" if frame.empty else frame_html(frame)
    return f"<h4>{_html_text(title)}</h4>{body}"
