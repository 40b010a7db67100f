"""A trace: numbered steps through the pipeline, each one frozen data.

Each :class:`TraceStep` names the part of the playbook's architecture diagram that is active
(:class:`Component`), so :mod:`cqrs_lab.ui.diagram` can highlight it. A :class:`Trace` keeps the
steps in order; :class:`~cqrs_lab.ui.tracer.Tracer` is the trace that records them by itself.

>>> trace = Trace()
>>> step = trace.note("Client sends CreateOrder")
>>> step.seq, step.component.label, trace
(1, 'Client', Trace(steps=1, last='note'))
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from cqrs_lab.ui.trace_text import cut

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["STEP_COLUMNS", "Component", "StepKind", "Trace", "TraceStep"]


class Component(StrEnum):
    """A part of the playbook's architecture diagram, the one a trace step is in.

    In the order a write travels, then back out through the read side.
    """

    CLIENT = "client"
    COMMANDS_API = "commands_api"
    COMMAND_HANDLERS = "command_handlers"
    WRITE_MODEL = "write_model"
    EVENTS = "events"
    READ_MODEL = "read_model"
    QUERY_HANDLERS = "query_handlers"
    QUERIES_API = "queries_api"

    @property
    def label(self) -> str:
        """The name the playbook's diagram gives it: ``Component.EVENTS.label == 'Events'``."""
        return _LABELS[self]


_LABELS = {
    Component.CLIENT: "Client",
    Component.COMMANDS_API: "Commands API",
    Component.QUERIES_API: "Queries API",
    Component.COMMAND_HANDLERS: "Command Handlers",
    Component.QUERY_HANDLERS: "Query Handlers",
    Component.WRITE_MODEL: "Write Model",
    Component.EVENTS: "Events",
    Component.READ_MODEL: "Read Model",
}


class StepKind(StrEnum):
    """What happened in a trace step; each kind happens in one :class:`Component`."""

    NOTE = "note"
    """A step a caller recorded with :meth:`Tracer.note` (e.g. the client sending)."""
    COMMAND_RECEIVED = "command received"
    HANDLER_RAN = "handler ran"
    EVENT_APPENDED = "event appended"
    PROJECTOR_APPLIED = "projector applied"
    ROW_CHANGED = "row changed"
    QUERY_RECEIVED = "query received"
    QUERY_ANSWERED = "query answered"

    @property
    def component(self) -> Component:
        """Where this kind of step happens (a note says for itself; Client by default)."""
        return _COMPONENT_OF[self]


_COMPONENT_OF = {
    StepKind.NOTE: Component.CLIENT,
    StepKind.COMMAND_RECEIVED: Component.COMMANDS_API,
    StepKind.HANDLER_RAN: Component.COMMAND_HANDLERS,
    StepKind.EVENT_APPENDED: Component.WRITE_MODEL,
    StepKind.PROJECTOR_APPLIED: Component.EVENTS,
    StepKind.ROW_CHANGED: Component.READ_MODEL,
    StepKind.QUERY_RECEIVED: Component.QUERIES_API,
    StepKind.QUERY_ANSWERED: Component.QUERY_HANDLERS,
}


@dataclass(frozen=True, kw_only=True, slots=True)
class TraceStep:
    """One step through the pipeline: what happened, where, and the facts of it.

    Fields that do not apply to a kind of step are empty (``""``) or ``None``. ``outcome`` is
    ``receipt`` or ``error`` for a handler, ``answered`` or ``error`` for a query, ``inserted``,
    ``updated``, ``deleted`` or ``unchanged`` for a row. ``detail`` summarises the message, the
    receipt, the error, the row's change or the answer.
    """

    seq: int
    kind: StepKind
    component: Component
    description: str
    message_type: str = ""
    stream_id: str = ""
    version: int | None = None
    position: int | None = None
    projection: str = ""
    key: str = ""
    outcome: str = ""
    detail: str = ""


STEP_COLUMNS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(TraceStep))
"""The fields of :class:`TraceStep`, in order: the columns of :meth:`Trace.to_dataframe`."""


class Trace:
    """Numbered steps, recorded in order; a :class:`~cqrs_lab.ui.tracer.Tracer` records its own.

    Args:
        width: the longest a summary in ``detail`` or ``description`` grows before it is cut.
    """

    def __init__(self, *, width: int = 100) -> None:
        self.width = width
        self._steps: list[TraceStep] = []
        self._lock = threading.RLock()

    @property
    def steps(self) -> list[TraceStep]:
        """Every step recorded, in order (a copy)."""
        with self._lock:
            return list(self._steps)

    @property
    def last(self) -> TraceStep | None:
        """The latest step, or None before the first."""
        with self._lock:
            return self._steps[-1] if self._steps else None

    def __len__(self) -> int:
        return len(self._steps)

    def clear(self) -> None:
        """Forget every step; the next one is number 1 again (a tracer stays attached)."""
        with self._lock:
            self._steps.clear()

    def note(self, description: str, component: Component = Component.CLIENT) -> TraceStep:
        """Record a step of your own, e.g. ``tracer.note("Client sends CreateOrder")``."""
        return self._record(StepKind.NOTE, description, component=component)

    def to_dataframe(self) -> pd.DataFrame:
        """The steps as a table indexed by ``seq``, one column per :class:`TraceStep` field."""
        import pandas as pd

        rows = [
            {
                **{name: getattr(step, name) for name in STEP_COLUMNS},
                "kind": step.kind.value,
                "component": step.component.value,
            }
            for step in self.steps
        ]
        frame = pd.DataFrame(rows, columns=list(STEP_COLUMNS))
        return frame.astype({"seq": "int64", "version": "Int64", "position": "Int64"}).set_index(
            "seq"
        )

    def __repr__(self) -> str:
        last = self.last
        where = f", last={last.kind.value!r}" if last is not None else ""
        return f"{type(self).__name__}(steps={len(self)}{where})"

    def _record(
        self, kind: StepKind, description: str, *, component: Component | None = None, **facts: Any
    ) -> TraceStep:
        with self._lock:
            step = TraceStep(
                seq=len(self._steps) + 1,
                kind=kind,
                component=component or kind.component,
                description=cut(description, self.width),
                **facts,
            )
            self._steps.append(step)
            return step
