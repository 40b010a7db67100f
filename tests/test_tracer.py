"""The tracer records each pipeline step as data, in order, the same on every run."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from cqrs_lab.clock import ManualClock
from cqrs_lab.command_bus import CommandBus
from cqrs_lab.errors import DomainError
from cqrs_lab.event_store import InMemoryEventStore, Receipt
from cqrs_lab.ids import SequentialIds
from cqrs_lab.messages import Command, CommandEnvelope, Event, Query, RecordedEvent
from cqrs_lab.projection import Changes, InMemoryReadModel, Projection, RowReader
from cqrs_lab.projector import Projector
from cqrs_lab.query_bus import QueryBus
from cqrs_lab.rebuild import RebuildMode
from cqrs_lab.ui.trace_text import summarize
from cqrs_lab.ui.tracer import STEP_COLUMNS, Component, StepKind, Tracer, TraceStep

ROOT = Path(__file__).resolve().parent.parent

# -- a tiny domain of its own: tags counted per name ---------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AddTags(Command):
    tags: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class RemoveTag(Command):
    tag: str


@dataclass(frozen=True, kw_only=True)
class Tagged(Event):
    tag: str


@dataclass(frozen=True, kw_only=True)
class Untagged(Event):
    tag: str


@dataclass(frozen=True, kw_only=True)
class Noted(Event):
    text: str


@dataclass(frozen=True, kw_only=True)
class CountOf(Query):
    tag: str


@dataclass(frozen=True, kw_only=True)
class AllTags(Query):
    pass


@dataclass(frozen=True, slots=True)
class TagRow:
    tag: str
    count: int


class TagCounts(Projection[TagRow]):
    name = "tag_counts"
    handles = frozenset({"Tagged", "Untagged"})

    def project(self, record: RecordedEvent, view: RowReader[TagRow]) -> Changes:
        event = record.event
        assert isinstance(event, Tagged | Untagged)
        row = view.get(event.tag)
        count = (row.count if row else 0) + (1 if isinstance(event, Tagged) else -1)
        return {event.tag: TagRow(event.tag, count) if count > 0 else None}


class EmptyTagError(DomainError):
    """Raised when a tag is blank."""


@dataclass
class TagSystem:
    store: InMemoryEventStore
    commands: CommandBus
    queries: QueryBus
    projector: Projector[TagRow]
    tracer: Tracer


def tag_system() -> TagSystem:
    clock = ManualClock(step=1.0)
    store = InMemoryEventStore(clock=clock)
    commands = CommandBus(clock=clock, ids=SequentialIds("cmd"))
    queries = QueryBus()
    model: InMemoryReadModel[TagRow] = InMemoryReadModel("tag_counts")
    projector = Projector(store, TagCounts(), model, clock=clock)

    def add_tags(envelope: CommandEnvelope[AddTags]) -> Receipt:
        command = envelope.command
        if any(not tag.strip() for tag in command.tags):
            raise EmptyTagError(f"tags must be non-blank, found {command.tags!r}")
        return store.append("tags", [Tagged(tag=tag) for tag in command.tags])

    def remove_tag(envelope: CommandEnvelope[RemoveTag]) -> Receipt:
        return store.append("tags", [Untagged(tag=envelope.command.tag)])

    def count_of(query: CountOf) -> TagRow | None:
        return model.get(query.tag)

    def all_tags(query: AllTags) -> list[str]:
        return model.keys()

    commands.register(AddTags, add_tags)
    commands.register(RemoveTag, remove_tag)
    queries.register(CountOf, count_of)
    queries.register(AllTags, all_tags)
    tracer = Tracer().attach(
        command_bus=commands, query_bus=queries, store=store, projectors=[projector]
    )
    return TagSystem(store, commands, queries, projector, tracer)


def kinds(steps: list[TraceStep]) -> list[str]:
    return [step.kind.value for step in steps]


def run_scenario(system: TagSystem) -> None:
    system.commands.dispatch(AddTags(tags=("cqrs", "es")))
    with pytest.raises(EmptyTagError):
        system.commands.dispatch(AddTags(tags=(" ",)))
    system.projector.step()
    system.queries.dispatch(CountOf(tag="es"))  # not applied yet: the view lags
    system.projector.catch_up()
    system.commands.dispatch(RemoveTag(tag="cqrs"))
    system.projector.catch_up()
    system.queries.dispatch(CountOf(tag="es"))
    system.queries.dispatch(AllTags())


# -- each kind of step ------------------------------------------------------------------------


def test_each_step_is_recorded_in_pipeline_order_in_its_component() -> None:
    system = tag_system()
    system.commands.dispatch(AddTags(tags=("cqrs",)))
    system.projector.step()
    system.queries.dispatch(CountOf(tag="cqrs"))

    steps = system.tracer.steps
    assert [(s.seq, s.kind, s.component) for s in steps] == [
        (1, StepKind.COMMAND_RECEIVED, Component.COMMANDS_API),
        (2, StepKind.HANDLER_RAN, Component.COMMAND_HANDLERS),
        (3, StepKind.EVENT_APPENDED, Component.WRITE_MODEL),
        (4, StepKind.PROJECTOR_APPLIED, Component.EVENTS),
        (5, StepKind.ROW_CHANGED, Component.READ_MODEL),
        (6, StepKind.QUERY_RECEIVED, Component.QUERIES_API),
        (7, StepKind.QUERY_ANSWERED, Component.QUERY_HANDLERS),
    ]


def test_command_received_shows_the_command_and_the_id_of_its_envelope() -> None:
    system = tag_system()
    system.commands.dispatch(AddTags(tags=("cqrs",)))

    received = system.tracer.steps[0]
    assert received.message_type == "AddTags"
    assert received.description == "AddTags received (cmd-0001): tags=('cqrs',)"
    assert received.detail == "tags=('cqrs',)"  # the envelope's id and time are no fields of it


def test_command_received_shows_a_client_provided_command_id() -> None:
    system = tag_system()
    system.commands.dispatch(AddTags(tags=("cqrs",)), command_id="web-42")

    received = system.tracer.steps[0]
    assert received.description == "AddTags received (web-42): tags=('cqrs',)"


def test_handler_outcome_is_the_receipt() -> None:
    system = tag_system()
    system.commands.dispatch(AddTags(tags=("a", "b")))

    handled = system.tracer.steps[1]
    assert handled.kind is StepKind.HANDLER_RAN
    assert handled.outcome == "receipt"
    assert (handled.stream_id, handled.version, handled.position) == ("tags", 2, 2)
    assert handled.detail.startswith("Receipt(stream_id='tags', stream_version=2, position=2")


def test_one_step_per_event_appended_with_position_stream_version_and_type() -> None:
    system = tag_system()
    system.commands.dispatch(AddTags(tags=("a",)))
    system.commands.dispatch(AddTags(tags=("b", "c")))

    appended = [s for s in system.tracer.steps if s.kind is StepKind.EVENT_APPENDED]
    assert [(s.position, s.stream_id, s.version, s.message_type) for s in appended] == [
        (1, "tags", 1, "Tagged"),
        (2, "tags", 2, "Tagged"),
        (3, "tags", 3, "Tagged"),
    ]
    assert appended[2].description == "Tagged appended to tags as version 3 at position 3"
    assert appended[2].detail == "tag='c'"


def test_a_rejected_command_is_recorded_as_the_handlers_error_and_still_raised() -> None:
    system = tag_system()
    with pytest.raises(EmptyTagError, match="non-blank"):
        system.commands.dispatch(AddTags(tags=("",)))

    steps = system.tracer.steps
    assert kinds(steps) == ["command received", "handler ran"]  # nothing appended
    failed = steps[1]
    assert failed.outcome == "error"
    assert failed.detail == "EmptyTagError: tags must be non-blank, found ('',)"
    assert failed.description.startswith("AddTags rejected: EmptyTagError")


def test_a_command_without_handler_is_recorded_as_an_error() -> None:
    system = tag_system()

    @dataclass(frozen=True, kw_only=True)
    class Unknown(Command):
        pass

    with pytest.raises(LookupError):
        system.commands.dispatch(Unknown())
    assert system.tracer.steps[-1].outcome == "error"
    assert "HandlerNotFoundError" in system.tracer.steps[-1].detail


def test_events_appended_outside_a_command_are_recorded_at_once() -> None:
    system = tag_system()
    system.store.append("notes", [Noted(text="by hand")])

    (step,) = system.tracer.steps
    assert step.kind is StepKind.EVENT_APPENDED
    assert (step.stream_id, step.position, step.message_type) == ("notes", 1, "Noted")


def test_projector_applied_names_the_projection_event_and_checkpoint() -> None:
    system = tag_system()
    system.commands.dispatch(AddTags(tags=("a",)))
    system.tracer.clear()
    system.projector.step()

    applied = system.tracer.steps[0]
    assert applied.kind is StepKind.PROJECTOR_APPLIED
    assert (applied.projection, applied.position, applied.message_type) == (
        "tag_counts",
        1,
        "Tagged",
    )
    assert applied.description == ("tag_counts applied Tagged at position 1; checkpoint 0 -> 1")


def test_a_batch_is_one_applied_step_covering_its_positions() -> None:
    system = tag_system()
    system.commands.dispatch(AddTags(tags=("a", "b", "a")))
    system.tracer.clear()
    system.projector.catch_up()

    steps = system.tracer.steps
    assert kinds(steps) == ["projector applied", "row changed", "row changed"]
    assert steps[0].description == "tag_counts applied positions 1 to 3; checkpoint 0 -> 3"
    assert [(s.key, s.detail) for s in steps[1:]] == [
        ("a", "TagRow(tag='a', count=2)"),
        ("b", "TagRow(tag='b', count=1)"),
    ]


def test_row_changed_says_what_the_row_was_and_became() -> None:
    system = tag_system()
    system.commands.dispatch(AddTags(tags=("a",)))
    system.projector.catch_up()
    system.commands.dispatch(AddTags(tags=("a",)))
    system.projector.catch_up()
    system.commands.dispatch(RemoveTag(tag="a"))
    system.commands.dispatch(RemoveTag(tag="a"))
    system.projector.step()
    system.projector.step()

    rows = [s for s in system.tracer.steps if s.kind is StepKind.ROW_CHANGED]
    assert [(r.key, r.outcome, r.detail) for r in rows] == [
        ("a", "inserted", "TagRow(tag='a', count=1)"),
        ("a", "updated", "count: 1 -> 2"),
        ("a", "updated", "count: 2 -> 1"),
        ("a", "deleted", "deleted (was TagRow(tag='a', count=1))"),
    ]
    assert rows[1].description == "tag_counts row a updated: count: 1 -> 2"
    assert rows[1].position == 2


def test_an_event_the_projection_ignores_moves_the_checkpoint_without_a_row_step() -> None:
    system = tag_system()
    system.store.append("notes", [Noted(text="not a tag")])
    system.tracer.clear()
    system.projector.step()

    assert kinds(system.tracer.steps) == ["projector applied"]


def test_query_answered_summarises_the_result() -> None:
    system = tag_system()
    system.commands.dispatch(AddTags(tags=("b", "a")))
    system.tracer.clear()
    system.queries.dispatch(CountOf(tag="a"))  # before the projector: not found
    system.projector.catch_up()
    system.queries.dispatch(CountOf(tag="a"))
    system.queries.dispatch(AllTags())

    answers = [s for s in system.tracer.steps if s.kind is StepKind.QUERY_ANSWERED]
    assert [(a.message_type, a.outcome, a.detail) for a in answers] == [
        ("CountOf", "answered", "not found (None)"),
        ("CountOf", "answered", "TagRow(tag='a', count=1)"),
        ("AllTags", "answered", "2 results: ['a', 'b']"),
    ]
    received = system.tracer.steps[0]
    assert received.description == "CountOf received: tag='a'"


def test_a_failing_query_is_recorded_and_still_raised() -> None:
    system = tag_system()

    @dataclass(frozen=True, kw_only=True)
    class Broken(Query):
        pass

    def broken(query: Broken) -> None:
        raise ValueError("page must be >= 1, found 0")

    system.queries.register(Broken, broken)
    with pytest.raises(ValueError, match="page must be"):
        system.queries.dispatch(Broken())

    last = system.tracer.steps[-1]
    assert (last.kind, last.outcome) == (StepKind.QUERY_ANSWERED, "error")
    assert last.detail == "ValueError: page must be >= 1, found 0"


def test_note_records_a_step_in_the_client_by_default() -> None:
    tracer = Tracer()
    step = tracer.note("Client sends AddTags")
    other = tracer.note("Read model checked", Component.READ_MODEL)

    assert (step.seq, step.kind, step.component) == (1, StepKind.NOTE, Component.CLIENT)
    assert other.component is Component.READ_MODEL


# -- the whole trace --------------------------------------------------------------------------


def test_to_dataframe_has_one_row_per_step_indexed_by_seq() -> None:
    system = tag_system()
    system.commands.dispatch(AddTags(tags=("a",)))

    frame = system.tracer.to_dataframe()
    assert frame.index.name == "seq"
    assert list(frame.index) == [1, 2, 3]
    assert list(frame.columns) == list(STEP_COLUMNS[1:])
    assert list(frame["component"]) == ["commands_api", "command_handlers", "write_model"]
    assert str(frame["position"].dtype) == "Int64"
    assert frame["position"].isna().tolist() == [True, False, False]


def test_an_empty_trace_is_an_empty_frame_with_the_columns() -> None:
    frame = Tracer().to_dataframe()
    assert frame.empty
    assert list(frame.columns) == list(STEP_COLUMNS[1:])


def test_the_trace_is_the_same_on_every_run() -> None:
    first, second = tag_system(), tag_system()
    run_scenario(first)
    run_scenario(second)

    pd.testing.assert_frame_equal(first.tracer.to_dataframe(), second.tracer.to_dataframe())
    assert first.tracer.steps == second.tracer.steps
    assert len(first.tracer) == 21
    text = first.tracer.to_dataframe().to_string()
    assert "0x" not in text


def test_the_trace_is_the_same_in_another_process() -> None:
    # a new process has another hash seed and other memory addresses
    code = (
        "import sys; sys.path.insert(0, 'tests'); import test_tracer as t; "
        "s = t.tag_system(); t.run_scenario(s); print(s.tracer.to_dataframe().to_csv())"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
        ).stdout
        for _ in range(2)
    ]
    system = tag_system()
    run_scenario(system)
    assert runs[0] == runs[1] == system.tracer.to_dataframe().to_csv() + "\n"


def test_clear_forgets_the_steps_and_numbers_from_one_again() -> None:
    system = tag_system()
    system.commands.dispatch(AddTags(tags=("a",)))
    system.tracer.clear()
    system.commands.dispatch(AddTags(tags=("b",)))

    assert [s.seq for s in system.tracer.steps] == [1, 2, 3]
    assert system.tracer.steps[2].position == 2


def test_detach_stops_recording_and_keeps_the_steps() -> None:
    system = tag_system()
    system.commands.dispatch(AddTags(tags=("a",)))
    system.tracer.detach()
    system.commands.dispatch(AddTags(tags=("b",)))
    system.projector.catch_up()
    system.queries.dispatch(AllTags())

    assert len(system.tracer) == 3


def test_attaching_the_same_parts_twice_records_each_step_once() -> None:
    system = tag_system()
    system.tracer.attach(
        command_bus=system.commands,
        query_bus=system.queries,
        store=system.store,
        projectors=[system.projector],
    )
    system.commands.dispatch(AddTags(tags=("a",)))
    system.projector.step()

    assert kinds(system.tracer.steps) == [
        "command received",
        "handler ran",
        "event appended",
        "projector applied",
        "row changed",
    ]


def test_repr_is_stable() -> None:
    tracer = Tracer()
    assert repr(tracer) == "Tracer(steps=0)"
    tracer.note("hello")
    assert repr(tracer) == "Tracer(steps=1, last='note')"


def test_summaries_have_no_memory_addresses_and_are_cut_to_width() -> None:
    class Opaque:
        pass

    assert "0x" not in summarize(Opaque())
    assert summarize("x" * 50, width=10) == "'xxxxxxxx…"
    assert summarize({"b": 1, "a": 2}) == "{'a': 2, 'b': 1}"


def test_importing_the_tracer_imports_neither_pandas_nor_widgets_nor_matplotlib() -> None:
    code = (
        "import sys, cqrs_lab.ui.tracer; "
        "print(sorted(m for m in ('pandas', 'ipywidgets', 'matplotlib') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr


# -- Projector.on_changes, the hook the row steps come from -----------------------------------


def test_on_changes_gives_rows_before_and_after_each_commit() -> None:
    system = tag_system()
    seen: list[tuple[str, int, dict[str, tuple[object, object]]]] = []
    unsubscribe = system.projector.on_changes(lambda n, c, rows: seen.append((n, c, rows)))
    system.commands.dispatch(AddTags(tags=("a", "a")))
    system.projector.catch_up()
    unsubscribe()
    system.commands.dispatch(AddTags(tags=("a",)))
    system.projector.catch_up()

    assert seen == [("tag_counts", 2, {"a": (None, TagRow("a", 2))})]


def test_on_changes_is_not_called_for_a_blue_green_switch() -> None:
    system = tag_system()
    system.commands.dispatch(AddTags(tags=("a",)))
    system.projector.catch_up()
    seen: list[object] = []
    system.projector.on_changes(lambda *args: seen.append(args))
    system.projector.rebuild(RebuildMode.BLUE_GREEN)

    assert seen == []
    assert system.projector.read_model.get("a") == TagRow("a", 1)
