"""The step-through player: a script of commands and queries, one pipeline step at a time.

At each step it shows the architecture diagram with the active part lit, the event log as far as
it has been written, each projector's checkpoint and the read model. Projectors are stepped by
hand, one event at a time, so the read model visibly trails the log until the projector's step.

Every step is a plain method -- :meth:`StepPlayer.next`, :meth:`StepPlayer.reset`,
:meth:`StepPlayer.seek`, :meth:`StepPlayer.state` -- so tests and nbval never need a browser;
:meth:`StepPlayer.widget` wraps them in ipywidgets (imported only then): Next, Reset, and a
``Play`` that animates in the browser.

>>> from cqrs_lab.examples.orders import CreateOrder, OrderLine
>>> tea = OrderLine(product_id="tea", quantity=1, price=2.0)
>>> player = StepPlayer([CreateOrder(customer_id="ada", items=(tea,))])
>>> player.next().component.label, player.next().component.label
('Client', 'Commands API')
>>> player
StepPlayer(step 2 of 6)
>>> player.run_to_end().rows["order_views"]["order-0001"][:50]
"OrderView(order_id='order-0001', customer_id='ada'"
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from cqrs_lab.errors import CqrsLabError, InvalidArgumentError
from cqrs_lab.event_store import EventStore, log_frame
from cqrs_lab.messages import Command, Query
from cqrs_lab.ui.diagram import Diagram, TraceView, render_steps, steps_table
from cqrs_lab.ui.trace import Component, StepKind, TraceStep
from cqrs_lab.ui.trace_text import fields_summary, summarize
from cqrs_lab.ui.tracer import Tracer

if TYPE_CHECKING:
    import ipywidgets
    import pandas as pd

    from cqrs_lab.projector import Projector

__all__ = ["PROJECT", "PlayerParts", "PlayerState", "ProjectStep", "StepPlayer", "order_parts"]


@dataclass(frozen=True, kw_only=True, slots=True)
class ProjectStep:
    """A script item: each projector behind the log (or only ``projection``) applies one event."""

    projection: str | None = None


PROJECT = ProjectStep()
"""The script item that steps every projector behind the log by one event."""

ScriptItem = Command | Query | ProjectStep


class _Dispatcher(Protocol):
    def dispatch(self, message: Any, /) -> Any: ...


@dataclass(frozen=True, slots=True)
class PlayerParts:
    """What the player drives: the buses, the store and the projectors (stepped by hand)."""

    store: EventStore
    commands: Any
    queries: Any
    projectors: tuple[Projector[Any], ...]


@dataclass(frozen=True, slots=True)
class PlayerState:
    """What the player shows after a step, as plain data.

    ``log`` holds ``(position, stream_id, version, event_type)`` for the events written so far;
    ``rows`` maps each projection to its rows (key -> summary); ``checkpoints`` each projection
    to its checkpoint.
    """

    index: int
    total: int
    finished: bool
    step: TraceStep | None
    active: Component | None
    caption: str
    log: tuple[tuple[int, str, int, str], ...]
    checkpoints: dict[str, int]
    rows: dict[str, dict[str, str]]


def order_parts() -> PlayerParts:
    """A fresh Order system (manual clock, sequential ids) and its OrderView projector."""
    from cqrs_lab.examples.orders import build_order_system

    system = build_order_system()
    return PlayerParts(system.store, system.commands, system.queries, (system.projector,))


_NOTHING_YET = "Press Next: the client is about to send the first message."


class StepPlayer:
    """Plays ``script`` against a fresh system, revealing one :class:`TraceStep` per :meth:`next`.

    Args:
        script: commands, queries and :data:`PROJECT` markers, in order.
        build: makes the parts to drive; called again on every :meth:`reset` (default: the
            Order example, :func:`order_parts`). Projectors running live are stopped.
        auto_project: after each command, step the projectors event by event until they reach
            the head. Turn it off to place :data:`PROJECT` by hand and show a stale read.
    """

    def __init__(
        self,
        script: Sequence[ScriptItem],
        *,
        build: Callable[[], PlayerParts] = order_parts,
        auto_project: bool = True,
    ) -> None:
        for number, item in enumerate(script, 1):
            if not isinstance(item, Command | Query | ProjectStep):
                raise InvalidArgumentError(
                    f"script item {number} must be a Command, a Query or PROJECT, "
                    f"found {type(item).__name__}"
                )
        self.script: tuple[ScriptItem, ...] = tuple(script)
        self.build = build
        self.auto_project = auto_project
        self._widgets: _Widgets | None = None
        self.total = self._count_steps()
        self.reset()

    # -- playing ---------------------------------------------------------------------------------

    def reset(self) -> PlayerState:
        """Start again from an empty system; nothing shown yet."""
        self.parts = self._fresh_parts()
        self.tracer = Tracer().attach(
            command_bus=self.parts.commands,
            query_bus=self.parts.queries,
            store=self.parts.store,
            projectors=self.parts.projectors,
        )
        self._actions = self._run(self.parts, self.tracer)
        self._pending: deque[TraceStep] = deque()
        self.shown: list[TraceStep] = []
        self._log_head = 0
        self._finished = False
        self._refresh()
        return self.state()

    def next(self) -> TraceStep | None:
        """Reveal the next step (running the next action when needed); None at the end."""
        step = self._advance()
        self._refresh()
        return step

    def seek(self, index: int) -> PlayerState:
        """Show the state after ``index`` steps (going back replays from the start)."""
        if index < 0:
            raise InvalidArgumentError(f"index must be >= 0, found {index}")
        if index < len(self.shown):
            self.reset()
        while len(self.shown) < index and self._advance() is not None:
            pass
        self._refresh()
        return self.state()

    def run_to_end(self) -> PlayerState:
        """Reveal every remaining step."""
        return self.seek(self.total)

    @property
    def finished(self) -> bool:
        """Whether every step has been shown."""
        return self._finished or len(self.shown) >= self.total

    def state(self) -> PlayerState:
        """What is shown now, as plain data."""
        step = self.shown[-1] if self.shown else None
        return PlayerState(
            index=len(self.shown),
            total=self.total,
            finished=self.finished,
            step=step,
            active=None if step is None else step.component,
            caption=self.caption,
            log=tuple(
                (r.position, r.stream_id, r.stream_version, r.event_type) for r in self._records()
            ),
            checkpoints={p.name: p.checkpoint for p in self.parts.projectors},
            rows={p.name: _rows(p.read_model) for p in self.parts.projectors},
        )

    @property
    def caption(self) -> str:
        """The latest step's number and description (or what to do first)."""
        if not self.shown:
            return _NOTHING_YET
        step = self.shown[-1]
        return f"Step {step.seq} of {self.total}: {step.description}"

    def diagram(self) -> Diagram:
        """The architecture diagram for the latest step."""
        step = self.shown[-1] if self.shown else None
        return Diagram(None if step is None else step.component, self.caption)

    def view(self, *, limit: int | None = None) -> TraceView:
        """The steps shown so far as a table beside the diagram (HTML for a notebook)."""
        return render_steps(self.shown, limit=limit)

    def __repr__(self) -> str:
        return f"StepPlayer(step {len(self.shown)} of {self.total})"

    # -- the script as actions, each one yield ---------------------------------------------------

    def _advance(self) -> TraceStep | None:
        while not self._pending:
            if self._finished:
                return None
            before = len(self.tracer)
            try:
                next(self._actions)
            except StopIteration:
                self._finished = True
                return None
            self._pending.extend(self.tracer.steps[before:])
        step = self._pending.popleft()
        self.shown.append(step)
        if step.kind is StepKind.EVENT_APPENDED and step.position is not None:
            self._log_head = max(self._log_head, step.position)
        return step

    def _run(self, parts: PlayerParts, tracer: Tracer) -> Iterator[None]:
        for item in self.script:
            if isinstance(item, ProjectStep):
                yield from self._project_once(parts, tracer, item.projection)
                continue
            tracer.note(f"Client sends {summarize(item, tracer.width)}")
            bus: _Dispatcher = parts.commands if isinstance(item, Command) else parts.queries
            with suppress(CqrsLabError):  # the tracer recorded it as the handler's outcome
                bus.dispatch(item)
            yield
            if isinstance(item, Command) and self.auto_project:
                while any(self._behind(p) for p in parts.projectors):
                    yield from self._project_once(parts, tracer, None)

    def _project_once(self, parts: PlayerParts, tracer: Tracer, name: str | None) -> Iterator[None]:
        chosen = [p for p in parts.projectors if name is None or p.name == name]
        if name is not None and not chosen:
            known = sorted(p.name for p in parts.projectors)
            raise InvalidArgumentError(f"no projector named {name!r}; the player has {known}")
        for projector in chosen:
            if not self._behind(projector):
                continue
            try:
                projector.step()
            except CqrsLabError as error:  # a stopped projector: say so, and leave it behind
                tracer.note(f"{projector.name} stopped: {error}", Component.EVENTS)
            yield

    @staticmethod
    def _behind(projector: Projector[Any]) -> bool:
        return projector.failure is None and projector.checkpoint < projector.store.head

    def _fresh_parts(self) -> PlayerParts:
        parts = self.build()
        for projector in parts.projectors:
            if projector.running:
                projector.stop()
        return parts

    def _count_steps(self) -> int:
        # a dry run on a fresh system: the same script gives the same steps every time
        parts = self._fresh_parts()
        tracer = Tracer().attach(
            command_bus=parts.commands,
            query_bus=parts.queries,
            store=parts.store,
            projectors=parts.projectors,
        )
        for _ in self._run(parts, tracer):
            pass
        tracer.detach()
        return len(tracer)

    # -- tables ----------------------------------------------------------------------------------

    def _records(self) -> list[Any]:
        if self._log_head == 0:
            return []
        return self.parts.store.read_all(0, self._log_head)

    def log_frame(self) -> pd.DataFrame:
        """The event log as far as the steps shown have written it."""
        return log_frame(self._records())

    def log_table(self) -> pd.DataFrame:
        """The log as shown beside the diagram: one short line of data per event."""
        import pandas as pd

        columns = ["stream_id", "version", "event_type", "recorded_at", "data"]
        records = self._records()
        rows = [
            (
                r.stream_id,
                r.stream_version,
                r.event_type,
                r.recorded_at,
                fields_summary(r.event, 60),
            )
            for r in records
        ]
        index = pd.Index([r.position for r in records], name="position")
        return pd.DataFrame(rows, columns=columns, index=index)

    def checkpoints_frame(self) -> pd.DataFrame:
        """Each projection's checkpoint beside the log's head (as shown), and how far behind."""
        import pandas as pd

        rows = [
            {
                "projection": p.name,
                "checkpoint": p.checkpoint,
                "log head": self._log_head,
                "behind": max(self._log_head - p.checkpoint, 0),
            }
            for p in self.parts.projectors
        ]
        columns = ["projection", "checkpoint", "log head", "behind"]
        return pd.DataFrame(rows, columns=columns).set_index("projection")

    def read_model_frame(self, projection: str | None = None) -> pd.DataFrame:
        """The rows of one read model (default: the first projector's)."""
        import pandas as pd

        projector = self._projector(projection)
        model: Any = projector.read_model
        if hasattr(model, "to_dataframe"):
            frame: pd.DataFrame = model.to_dataframe()
            return frame
        keys = model.keys()
        return pd.DataFrame(
            {"row": [summarize(model.get(k)) for k in keys]}, index=pd.Index(keys, name="key")
        )

    def _projector(self, projection: str | None) -> Projector[Any]:
        for projector in self.parts.projectors:
            if projection is None or projector.name == projection:
                return projector
        known = sorted(p.name for p in self.parts.projectors)
        raise InvalidArgumentError(f"no projector named {projection!r}; the player has {known}")

    # -- widgets ---------------------------------------------------------------------------------

    def widget(self) -> ipywidgets.VBox:
        """The player as widgets: Reset, Next, Play (animated by the browser) and the views."""
        if self._widgets is None:
            self._widgets = _Widgets(self)
            self._refresh()
        return self._widgets.box

    @property
    def widgets(self) -> _Widgets:
        """The widgets (built on first use), for tests to click and read."""
        self.widget()
        assert self._widgets is not None
        return self._widgets

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle: dict[str, Any] = self.widget()._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = repr(self)
        return bundle

    def _refresh(self) -> None:
        if self._widgets is not None:
            self._widgets.show(self)


class _Widgets:
    """The ipywidgets of one player; every callback only calls the player's plain methods."""

    def __init__(self, player: StepPlayer) -> None:
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
        widgets.jslink((self.play, "value"), (self.slider, "value"))  # animated in the browser
        self.status = widgets.HTML()
        self.diagram = widgets.HTML()
        self.log = widgets.HTML()
        self.checkpoints = widgets.HTML()
        self.read_model = widgets.HTML()
        self.recent = widgets.HTML()

        self.next_button.on_click(self._on_next)
        self.reset_button.on_click(self._on_reset)
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

    def _on_next(self, _button: Any) -> None:
        self.player.next()

    def _on_reset(self, _button: Any) -> None:
        self.player.reset()

    def _on_value(self, change: dict[str, Any]) -> None:
        if not self._syncing:
            self.player.seek(int(change["new"]))

    def show(self, player: StepPlayer) -> None:
        """Show the player's current state in every widget."""
        index = len(player.shown)
        self._syncing = True
        try:
            self.play.value = index
            self.slider.value = index
        finally:
            self._syncing = False
        self.next_button.disabled = player.finished
        self.status.value = f"<p><b>{_escape(player.caption)}</b></p>"
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


def _rows(model: Any) -> dict[str, str]:
    return {key: summarize(model.get(key)) for key in model.keys()}  # noqa: SIM118 (a ReadModel)


def _escape(text: str) -> str:
    from html import escape

    return escape(text, quote=False)


def _section(title: str, frame: pd.DataFrame, empty: str) -> str:
    body = f"<p><i>{_escape(empty)}</i></p>" if frame.empty else frame.to_html(border=0, na_rep="")
    return f"<h4>{_escape(title)}</h4>{body}"
