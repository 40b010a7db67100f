"""The tracer: every step through the CQRS pipeline, recorded as data for step-through teaching.

Attach a :class:`Tracer` once, through the kit's own extension points (bus middleware, the store's
subscription, the projectors' listeners), and each step becomes a frozen :class:`TraceStep`: the
command received, the handler's outcome, each event appended, each projector commit, each
read-model row changed, each query received and answered. Every step names the part of the
playbook's architecture diagram that is active (:class:`Component`), so :mod:`cqrs_lab.ui.diagram`
can highlight it. With a manual clock and sequential ids the trace is the same on every run.

>>> from dataclasses import dataclass
>>> from cqrs_lab.clock import ManualClock
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
>>> bus.register(
...     Note, lambda envelope: store.append("notes", [Noted(text=envelope.command.text)])
... )
>>> tracer = Tracer().attach(command_bus=bus, store=store)
>>> _ = bus.dispatch(Note(text="hi"))
>>> for step in tracer.steps:
...     print(step.seq, step.component.label, "|", step.description)
1 Commands API | Note received (cmd-0001): text='hi'
2 Command Handlers | Note handled: appended to notes up to version 1, position 1
3 Write Model | Noted appended to notes as version 1 at position 1
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cqrs_lab.event_store import EventStore, Receipt
from cqrs_lab.handlers import MessageBus, NextStep
from cqrs_lab.messages import RecordedEvent
from cqrs_lab.ui.trace import STEP_COLUMNS, Component, StepKind, Trace, TraceStep
from cqrs_lab.ui.trace_text import (
    answer_summary,
    cut,
    fields_summary,
    row_change,
    row_outcome,
    summarize,
)

if TYPE_CHECKING:
    from cqrs_lab.projector import Projector

# The step types are named here too, so one import gives a notebook all it needs to trace.
__all__ = ["STEP_COLUMNS", "Component", "StepKind", "TraceStep", "Tracer"]


class Tracer(Trace):
    """Records each step through buses, store and projectors as a :class:`TraceStep`.

    Steps come in pipeline order: a command's events, seen while its handler runs, are recorded
    right after the handler's step. Drive projectors by hand (``step``, ``catch_up``) for a trace
    that is the same on every run; a projector running in its own thread records its steps
    whenever it commits. Reading the steps (``steps``, ``last``, ``note``, ``to_dataframe``) is
    :class:`~cqrs_lab.ui.trace.Trace`'s part.

    Args:
        width: the longest a summary in ``detail`` or ``description`` grows before it is cut.
    """

    def __init__(self, *, width: int = 100) -> None:
        super().__init__(width=width)
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
                on_checkpoint = functools.partial(self._on_checkpoint, projector)
                self._detachers.append(projector.on_checkpoint(on_checkpoint))
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
            text = cut(f"{type(error).__name__}: {error}", self.width)
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
                outcome = row_outcome(before, after)
                change = cut(row_change(before, after, self.width), self.width)
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
            text = cut(f"{type(error).__name__}: {error}", self.width)
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
