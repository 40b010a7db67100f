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
from typing import TYPE_CHECKING, Any

from cqrs_lab.errors import CqrsLabError, InvalidArgumentError
from cqrs_lab.event_store import log_frame
from cqrs_lab.messages import Command, Query
from cqrs_lab.ui.diagram import Diagram, TraceView, render_steps
from cqrs_lab.ui.player_script import (
    PROJECT,
    Dispatcher,
    PlayerParts,
    PlayerState,
    ProjectStep,
    ScriptItem,
    order_parts,
)
from cqrs_lab.ui.player_widgets import PlayerWidgets, snapshot_html
from cqrs_lab.ui.trace import Component, StepKind, TraceStep
from cqrs_lab.ui.trace_text import fields_summary, summarize
from cqrs_lab.ui.tracer import Tracer

if TYPE_CHECKING:
    import ipywidgets
    import pandas as pd

    from cqrs_lab.projector import Projector

__all__ = ["PROJECT", "PlayerParts", "PlayerState", "ProjectStep", "StepPlayer", "order_parts"]


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
        self._widgets: PlayerWidgets | None = None
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
            bus: Dispatcher = parts.commands if isinstance(item, Command) else parts.queries
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
            self._widgets = PlayerWidgets(self)
            self._refresh()
        return self._widgets.box

    @property
    def widgets(self) -> PlayerWidgets:
        """The widgets (built on first use), for tests to click and read."""
        self.widget()
        assert self._widgets is not None
        return self._widgets

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        # Beside the widget, a still picture: JupyterLab renders no widget in a notebook it
        # has not run (nor does a code host), and falls back to the richest safe type.
        bundle: dict[str, Any] = self.widget()._repr_mimebundle_(**kwargs)
        bundle["text/html"] = snapshot_html(self)
        bundle["text/plain"] = repr(self)
        return bundle

    def _refresh(self) -> None:
        if self._widgets is not None:
            self._widgets.show(self)


def _rows(model: Any) -> dict[str, str]:
    return {key: summarize(model.get(key)) for key in model.keys()}  # noqa: SIM118 (a ReadModel)
