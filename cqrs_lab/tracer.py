"""The tracer: every step through the CQRS pipeline, recorded as data for step-through teaching.

Attach a :class:`Tracer` once, through the kit's own extension points (bus middleware, the store's
subscription, the projectors' listeners), and each step becomes a frozen :class:`TraceStep`: the
command received, the handler's outcome, each event appended, each projector commit, each
read-model row changed, each query received and answered. Every step names the part of the
playbook's architecture diagram that is active (:class:`Component`), so :mod:`cqrs_lab.ui.diagram`
can highlight it. With a manual clock and sequential ids the trace is the same on every run.

>>> from dataclasses import dataclass
>>> from cqrs_lab.command_bus import CommandBus
>>> from cqrs_lab.event_store import InMemoryEventStore
>>> from cqrs_lab.ids import SequentialIds
>>> from cqrs_lab.messages import Command, Event
>>> @dataclass(frozen=True, kw_only=True)
... class Note(Command):
...     text: str
>>> @dataclass(frozen=True, kw_only=True)
... class Noted(Event):
...     text: str
>>> store = InMemoryEventStore(clock=ManualClock())
>>> bus = CommandBus(clock=ManualClock(), ids=SequentialIds("cmd"))
>>> bus.register(Note, lambda c: store.append("notes", [Noted(text=c.text)]))
>>> tracer = Tracer().attach(command_bus=bus, store=store)
>>> _ = bus.dispatch(Note(text="hi"))
>>> for step in tracer.steps:
...     print(step.seq, step.component.label, "|", step.description)
1 Commands API | Note received (cmd-0001): text='hi'
2 Command Handlers | Note handled: appended to notes up to version 1, position 1
3 Write Model | Noted appended to notes as version 1 at position 1
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Any

from cqrs_lab.clock import ManualClock
from cqrs_lab.event_store import EventStore, Receipt
from cqrs_lab.handlers import MessageBus, NextStep
from cqrs_lab.messages import Command, RecordedEvent

if TYPE_CHECKING:
    import pandas as pd

    from cqrs_lab.projector import Projector

__all__ = [
    "STEP_COLUMNS",
    "Component",
    "StepKind",
    "TraceStep",
    "Tracer",
    "answer_summary",
    "fields_summary",
    "row_change",
    "summarize",
]

_ = ManualClock  # used by the doctest above


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
"""The fields of :class:`TraceStep`, in order: the columns of :meth:`Tracer.to_dataframe`."""


class Tracer:
    """Records each step through buses, store and projectors as a :class:`TraceStep`.

    Steps come in pipeline order: a command's events, seen while its handler runs, are recorded
    right after the handler's step. Drive projectors by hand (``step``, ``catch_up``) for a trace
    that is the same on every run; a projector running in its own thread records its steps
    whenever it commits.

    Args:
        width: the longest a summary in ``detail`` or ``description`` grows before it is cut.
    """

    def __init__(self, *, width: int = 100) -> None:
        self.width = width
        self._steps: list[TraceStep] = []
        self._lock = threading.RLock()
        self._local = threading.local()  # per thread: events held while a handler runs
        self._buses: list[MessageBus] = []
        self._detachers: list[Callable[[], None]] = []
        self._stores: dict[int, tuple[EventStore, list[int]]] = {}
        self._checkpoints: dict[str, int] = {}
        self._attached = False

    # -- attaching ---------------------------------------------------------------------------

    def attach(
        self,
        *,
        command_bus: MessageBus | None = None,
        query_bus: MessageBus | None = None,
        store: EventStore | None = None,
        projectors: Iterable[Projector[Any]] = (),
    ) -> Tracer:
        """Start tracing these parts; returns the tracer, so ``Tracer().attach(...)`` reads well.

        Buses get a middleware (once per bus: attaching the same bus again changes nothing), the
        store a subscriber that reads what was appended since the last notification, and each
        projector a checkpoint and a row-change listener.
        """
        with self._lock:
            self._attached = True
            if command_bus is not None:
                self._use(command_bus, self._trace_command)
            if query_bus is not None:
                self._use(query_bus, self._trace_query)
            if store is not None and id(store) not in self._stores:
                seen = [store.head]
                self._stores[id(store)] = (store, seen)
                self._detachers.append(
                    store.subscribe(lambda head: self._on_append(store, seen, head))
                )
            for projector in projectors:
                if projector.name in self._checkpoints:
                    continue
                self._checkpoints[projector.name] = projector.checkpoint
                self._detachers.append(projector.on_checkpoint(self._make_on_checkpoint(projector)))
                self._detachers.append(projector.on_changes(self._on_changes))
        return self

    def detach(self) -> None:
        """Stop tracing everything attached; the steps recorded so far stay."""
        with self._lock:
            self._attached = False  # bus middleware cannot be removed: it passes through now
            for detach in self._detachers:
                detach()
            self._detachers.clear()
            self._stores.clear()
            self._checkpoints.clear()

    def _use(self, bus: MessageBus, middleware: Callable[[Any, NextStep], Any]) -> None:
        if any(known is bus for known in self._buses):
            return
        self._buses.append(bus)
        bus.use(middleware)

    # -- the steps -----------------------------------------------------------------------------

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
        """Forget every step; the next one is number 1 again. Stays attached."""
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
        return f"Tracer(steps={len(self)}{where})"

    def _record(
        self, kind: StepKind, description: str, *, component: Component | None = None, **facts: Any
    ) -> TraceStep:
        with self._lock:
            step = TraceStep(
                seq=len(self._steps) + 1,
                kind=kind,
                component=component or kind.component,
                description=_cut(description, self.width),
                **facts,
            )
            self._steps.append(step)
            return step

    # -- commands ------------------------------------------------------------------------------

    def _trace_command(self, envelope: Any, next_step: NextStep) -> Any:
        if not self._attached:
            return next_step(envelope)
        command = envelope.command
        name = type(command).__name__
        fields = fields_summary(command, self.width)
        command_id = envelope.command_id
        said = f"{name} received ({command_id})" if command_id else f"{name} received"
        self._record(
            StepKind.COMMAND_RECEIVED,
            f"{said}: {fields}" if fields else said,
            message_type=name,
            detail=fields,
        )
        held: list[RecordedEvent] = []
        stack = self._held_stack()
        stack.append(held)
        try:
            result = next_step(envelope)
        except Exception as error:
            stack.pop()
            text = _cut(f"{type(error).__name__}: {error}", self.width)
            self._record(
                StepKind.HANDLER_RAN,
                f"{name} rejected: {text}",
                message_type=name,
                outcome="error",
                detail=text,
            )
            self._events_appended(held)
            raise
        stack.pop()
        if isinstance(result, Receipt):
            self._record(
                StepKind.HANDLER_RAN,
                f"{name} handled: appended to {result.stream_id} up to version "
                f"{result.stream_version}, position {result.position}",
                message_type=name,
                stream_id=result.stream_id,
                version=result.stream_version,
                position=result.position,
                outcome="receipt",
                detail=summarize(result, self.width),
            )
        else:  # the bus will reject it; say what came back
            shown = summarize(result, self.width)
            self._record(
                StepKind.HANDLER_RAN,
                f"{name} handled, returning {shown}",
                message_type=name,
                outcome="result",
                detail=shown,
            )
        self._events_appended(held)
        return result

    def _held_stack(self) -> list[list[RecordedEvent]]:
        stack: list[list[RecordedEvent]] | None = getattr(self._local, "held", None)
        if stack is None:
            stack = self._local.held = []
        return stack

    # -- events --------------------------------------------------------------------------------

    def _on_append(self, store: EventStore, seen: list[int], head: int) -> None:
        with self._lock:
            if not self._attached or head <= seen[0]:
                return
            records = store.read_all(seen[0])
            seen[0] = max(seen[0], head, records[-1].position if records else 0)
        stack = self._held_stack()
        if stack:  # inside a handler: recorded after its step, in pipeline order
            stack[-1].extend(records)
        else:
            self._events_appended(records)

    def _events_appended(self, records: Sequence[RecordedEvent]) -> None:
        for record in records:
            self._record(
                StepKind.EVENT_APPENDED,
                f"{record.event_type} appended to {record.stream_id} as version "
                f"{record.stream_version} at position {record.position}",
                message_type=record.event_type,
                stream_id=record.stream_id,
                version=record.stream_version,
                position=record.position,
                detail=fields_summary(record.event, self.width),
            )

    # -- projectors ----------------------------------------------------------------------------

    def _make_on_checkpoint(self, projector: Projector[Any]) -> Callable[[str, int], None]:
        def on_checkpoint(name: str, checkpoint: int) -> None:
            self._on_checkpoint(projector, name, checkpoint)

        return on_checkpoint

    def _on_checkpoint(self, projector: Projector[Any], name: str, checkpoint: int) -> None:
        with self._lock:
            if not self._attached:
                return
            before = self._checkpoints.get(name, 0)
            self._checkpoints[name] = checkpoint
            event_type = stream_id = ""
            if checkpoint == before + 1:
                records = projector.store.read_all(before, 1)
                if records:
                    event_type, stream_id = records[0].event_type, records[0].stream_id
            if event_type:
                said = f"{name} applied {event_type} at position {checkpoint}"
            elif checkpoint > before:
                said = f"{name} applied positions {before + 1} to {checkpoint}"
            else:  # a blue/green switch to a view that is at another place
                said = f"{name} switched to a view at position {checkpoint}"
            self._record(
                StepKind.PROJECTOR_APPLIED,
                f"{said}; checkpoint {before} -> {checkpoint}",
                message_type=event_type,
                stream_id=stream_id,
                position=checkpoint,
                projection=name,
                detail=f"checkpoint {before} -> {checkpoint}",
            )

    def _on_changes(self, name: str, checkpoint: int, rows: Mapping[str, tuple[Any, Any]]) -> None:
        with self._lock:
            if not self._attached:
                return
            for key in sorted(rows):
                before, after = rows[key]
                outcome = _row_outcome(before, after)
                change = _cut(row_change(before, after, self.width), self.width)
                self._record(
                    StepKind.ROW_CHANGED,
                    f"{name} row {key} {outcome}: {change}",
                    position=checkpoint,
                    projection=name,
                    key=key,
                    outcome=outcome,
                    detail=change,
                )

    # -- queries -------------------------------------------------------------------------------

    def _trace_query(self, query: Any, next_step: NextStep) -> Any:
        if not self._attached:
            return next_step(query)
        name = type(query).__name__
        fields = fields_summary(query, self.width)
        self._record(
            StepKind.QUERY_RECEIVED,
            f"{name} received: {fields}" if fields else f"{name} received",
            message_type=name,
            detail=fields,
        )
        try:
            result = next_step(query)
        except Exception as error:
            text = _cut(f"{type(error).__name__}: {error}", self.width)
            self._record(
                StepKind.QUERY_ANSWERED,
                f"{name} failed: {text}",
                message_type=name,
                outcome="error",
                detail=text,
            )
            raise
        shown = answer_summary(result, self.width)
        self._record(
            StepKind.QUERY_ANSWERED,
            f"{name} answered: {shown}",
            message_type=name,
            outcome="answered",
            detail=shown,
        )
        return result


# -- summaries: short, and the same on every run ------------------------------------------------

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_STAMP_FIELDS = frozenset(f.name for f in dataclasses.fields(Command))


def summarize(value: Any, width: int = 100) -> str:
    """A short text for ``value`` that is the same on every run (no memory addresses).

    >>> summarize(Receipt("order-1", 2, 5, "cmd-1"))
    "Receipt(stream_id='order-1', stream_version=2, position=5, command_id='cmd-1')"
    >>> summarize(list(range(50)), width=20)
    '[0, 1, 2, 3, 4, 5, …'
    """
    return _cut(_text(value), width)


def _text(value: Any) -> str:
    if value is None or isinstance(value, bool | int | float | str):
        return repr(value)
    if isinstance(value, Enum):
        return repr(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return f"{type(value).__name__}({_field_pairs(value)})"
    if isinstance(value, Mapping):
        items = sorted(value.items(), key=lambda item: repr(item[0]))
        return "{" + ", ".join(f"{_text(k)}: {_text(v)}" for k, v in items) + "}"
    if isinstance(value, tuple):
        inner = ", ".join(_text(item) for item in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(_text(item) for item in value) + "]"
    if isinstance(value, set | frozenset):
        return "{" + ", ".join(sorted(_text(item) for item in value)) + "}"
    return _ADDRESS.sub("", repr(value))


def _field_pairs(value: Any) -> str:
    skip = _STAMP_FIELDS if isinstance(value, Command) else frozenset()
    return ", ".join(
        f"{f.name}={_text(getattr(value, f.name))}"
        for f in dataclasses.fields(value)
        if f.repr and f.name not in skip
    )


def fields_summary(value: Any, width: int = 100) -> str:
    """``a=1, b='x'``: a message's own fields (a command's stamp left out), cut to ``width``.

    >>> fields_summary(Receipt("order-1", 2, 5), width=40)
    "stream_id='order-1', stream_version=2, …"
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _cut(_field_pairs(value), width)
    return summarize(value, width)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def _row_outcome(before: Any, after: Any) -> str:
    if before is None:
        return "deleted" if after is None else "inserted"
    if after is None:
        return "deleted"
    return "unchanged" if before == after else "updated"


def row_change(before: Any, after: Any, width: int = 100) -> str:
    """What changed in a row: the new row, ``deleted``, or ``field: old -> new`` for each field.

    >>> row_change(None, 3)
    '3'
    >>> row_change(2, 3)
    '2 -> 3'
    """
    if before is None:
        return summarize(after, width) if after is not None else "deleted"
    if after is None:
        return f"deleted (was {summarize(before, width)})"
    same_kind = type(before) is type(after) and dataclasses.is_dataclass(before)
    if not same_kind:
        return f"{summarize(before, width)} -> {summarize(after, width)}"
    changed = [
        f"{f.name}: {_text(getattr(before, f.name))} -> {_text(getattr(after, f.name))}"
        for f in dataclasses.fields(before)
        if getattr(before, f.name) != getattr(after, f.name)
    ]
    return _cut("; ".join(changed) if changed else "no field changed", width)


def answer_summary(result: Any, width: int = 100) -> str:
    """A query's answer in a few words: ``not found (None)``, ``3 results``, or the value.

    >>> answer_summary(None), answer_summary([1, 2, 3]), answer_summary("ok")
    ('not found (None)', '3 results: [1, 2, 3]', "'ok'")
    """
    if result is None:
        return "not found (None)"
    if isinstance(result, list | tuple) and not dataclasses.is_dataclass(result):
        count = f"{len(result)} result" + ("" if len(result) == 1 else "s")
        return _cut(f"{count}: {_text(list(result))}", width)
    return summarize(result, width)
