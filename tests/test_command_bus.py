"""The command bus: one handler per command type, each command in an envelope, receipts out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from cqrs_lab.clock import DEFAULT_START, ManualClock
from cqrs_lab.command_bus import CommandBus
from cqrs_lab.errors import (
    DomainError,
    DuplicateHandlerError,
    HandlerNotFoundError,
    HandlerResultError,
    InvalidArgumentError,
)
from cqrs_lab.event_store import Receipt
from cqrs_lab.handlers import NextStep
from cqrs_lab.ids import SequentialIds
from cqrs_lab.messages import Command, CommandEnvelope, Query


@dataclass(frozen=True, kw_only=True)
class Ping(Command):
    text: str = "ping"


@dataclass(frozen=True, kw_only=True)
class Pong(Command):
    pass


@dataclass(frozen=True, kw_only=True)
class Echo(Command):
    text: str


@dataclass(frozen=True, kw_only=True)
class CheckedPing(Command):
    text: str
    post_inits: list[str] = field(default_factory=list, compare=False)

    def __post_init__(self) -> None:
        self.post_inits.append(self.text)


@dataclass(frozen=True, kw_only=True)
class AskTime(Query):
    pass


class Recorder:
    """A handler object: keeps every envelope it handles and answers with a receipt."""

    def __init__(self) -> None:
        self.handled: list[CommandEnvelope[Any]] = []

    def handle(self, envelope: CommandEnvelope[Any]) -> Receipt:
        self.handled.append(envelope)
        return Receipt("pings", len(self.handled), len(self.handled), envelope.command_id)


@pytest.fixture
def bus() -> CommandBus:
    return CommandBus(clock=ManualClock(step=1.0), ids=SequentialIds("cmd"))


def receipt_for(envelope: CommandEnvelope[Any]) -> Receipt:
    return Receipt("pings", 1, 1, envelope.command_id)


# --- registration ------------------------------------------------------------------------------


def test_a_registered_function_handles_its_command_type(bus: CommandBus) -> None:
    bus.register(Ping, receipt_for)

    receipt = bus.dispatch(Ping())

    assert receipt == Receipt("pings", 1, 1, "cmd-0001")
    assert bus.registered == ["Ping"]


def test_the_decorator_registers_and_returns_the_function_unchanged(bus: CommandBus) -> None:
    @bus.handles(Ping)
    def handle_ping(envelope: CommandEnvelope[Ping]) -> Receipt:
        return receipt_for(envelope)

    direct = CommandEnvelope(
        command=Ping(), command_id="direct", correlation_id="direct", issued_at=DEFAULT_START
    )
    assert handle_ping(direct).command_id == "direct"
    assert bus.dispatch(Ping()).command_id == "cmd-0001"


def test_an_object_with_handle_is_a_handler(bus: CommandBus) -> None:
    recorder = Recorder()
    bus.register(Ping, recorder)

    bus.dispatch(Ping(text="a"))
    bus.dispatch(Ping(text="b"))

    assert [e.command.text for e in recorder.handled] == ["a", "b"]


def test_a_second_handler_for_a_command_type_is_refused(bus: CommandBus) -> None:
    bus.register(Ping, receipt_for)

    with pytest.raises(DuplicateHandlerError, match=r"Ping already has a handler \(receipt_for\)"):
        bus.register(Ping, Recorder())

    assert bus.dispatch(Ping()).stream_id == "pings"


def test_a_duplicate_handler_error_is_a_value_error() -> None:
    assert issubclass(DuplicateHandlerError, ValueError)


def test_a_command_without_handler_names_its_type_and_the_registered_ones(bus: CommandBus) -> None:
    bus.register(Ping, receipt_for)
    bus.register(Echo, receipt_for)

    with pytest.raises(HandlerNotFoundError) as caught:
        bus.dispatch(Pong())

    message = str(caught.value)
    assert "no handler for Pong" in message
    assert "['Echo', 'Ping']" in message
    assert isinstance(caught.value, LookupError)


def test_a_bus_with_no_handlers_says_none_are_registered(bus: CommandBus) -> None:
    with pytest.raises(HandlerNotFoundError, match="registered command types: none"):
        bus.dispatch(Pong())


def test_only_classes_and_callables_can_be_registered(bus: CommandBus) -> None:
    with pytest.raises(InvalidArgumentError, match=r"message_type must be a class, found Ping\("):
        bus.register(Ping(), receipt_for)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match=r"a handler must be callable.*found 42"):
        bus.register(Ping, 42)

    assert bus.registered == []


async def async_receipt(envelope: CommandEnvelope[Any]) -> Receipt:
    return receipt_for(envelope)


class AsyncHandler:
    async def handle(self, envelope: CommandEnvelope[Any]) -> Receipt:
        return receipt_for(envelope)


@pytest.mark.parametrize(
    ("handler", "named"),
    [(async_receipt, "async_receipt"), (AsyncHandler(), "AsyncHandler.handle")],
    ids=["function", "handle-method"],
)
def test_an_async_handler_is_refused_at_registration(
    bus: CommandBus, handler: object, named: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=rf"handler for Ping is async \({named}\)"):
        bus.register(Ping, handler)

    assert bus.registered == []
    with pytest.raises(HandlerNotFoundError):
        bus.dispatch(Ping())


# --- middleware --------------------------------------------------------------------------------


def tracing(name: str, trace: list[str]) -> Callable[[Any, NextStep], Any]:
    def middleware(message: Any, next_step: NextStep) -> Any:
        trace.append(f"{name}>")
        result = next_step(message)
        trace.append(f"<{name}")
        return result

    return middleware


def test_the_first_middleware_added_is_the_outermost(bus: CommandBus) -> None:
    trace: list[str] = []
    bus.use(tracing("outer", trace))
    bus.use(tracing("inner", trace))

    @bus.handles(Ping)
    def handle(envelope: CommandEnvelope[Ping]) -> Receipt:
        trace.append("handler")
        return receipt_for(envelope)

    bus.dispatch(Ping())

    assert trace == ["outer>", "inner>", "handler", "<inner", "<outer"]


def test_middleware_added_after_a_handler_still_runs_around_it(bus: CommandBus) -> None:
    trace: list[str] = []
    bus.register(Ping, receipt_for)
    bus.dispatch(Ping())  # no middleware yet

    bus.use(tracing("late", trace))
    bus.dispatch(Ping())

    assert trace == ["late>", "<late"]


def test_middleware_given_to_the_constructor_runs_in_the_order_given() -> None:
    trace: list[str] = []
    bus = CommandBus(
        clock=ManualClock(),
        ids=SequentialIds("cmd"),
        middleware=(tracing("first", trace), tracing("second", trace)),
    )
    bus.register(Ping, receipt_for)

    bus.dispatch(Ping())

    assert trace == ["first>", "second>", "<second", "<first"]


def test_middleware_receives_the_envelope_the_handler_receives(bus: CommandBus) -> None:
    seen: list[Any] = []
    recorder = Recorder()

    def spy(message: Any, next_step: NextStep) -> Any:
        seen.append(message)
        return next_step(message)

    bus.use(spy)
    bus.register(Ping, recorder)
    command = Ping(text="hi")

    bus.dispatch(command)

    (envelope,) = seen
    assert type(envelope) is CommandEnvelope
    assert envelope.command is command
    assert envelope.command_id == "cmd-0001"
    assert recorder.handled == [envelope]


def test_validating_middleware_stops_a_bad_command_before_its_handler(bus: CommandBus) -> None:
    recorder = Recorder()

    def reject_blank_text(envelope: Any, next_step: NextStep) -> Any:
        command = envelope.command
        if isinstance(command, Ping) and not command.text.strip():
            raise DomainError(f"{type(command).__name__}.text must not be blank")
        return next_step(envelope)

    bus.use(reject_blank_text)
    bus.register(Ping, recorder)

    with pytest.raises(DomainError, match=r"Ping\.text must not be blank"):
        bus.dispatch(Ping(text="  "))
    bus.dispatch(Ping(text="fine"))

    assert [e.command.text for e in recorder.handled] == ["fine"]


def test_middleware_can_answer_without_calling_the_handler(bus: CommandBus) -> None:
    # Idempotency: a command id seen before gets the receipt it got the first time.
    receipts: dict[str, Receipt] = {}
    recorder = Recorder()

    def idempotent(envelope: Any, next_step: NextStep) -> Any:
        if envelope.command_id not in receipts:
            receipts[envelope.command_id] = next_step(envelope)
        return receipts[envelope.command_id]

    bus.use(idempotent)
    bus.register(Ping, recorder)

    first = bus.dispatch(Ping(), command_id="client-1")
    again = bus.dispatch(Ping(), command_id="client-1")
    other = bus.dispatch(Ping(), command_id="client-2")

    assert again == first
    assert len(recorder.handled) == 2
    assert other.stream_version == 2


def test_timing_middleware_measures_the_handler_on_the_injected_clock() -> None:
    clock = ManualClock()
    durations: dict[str, float] = {}

    def timing(envelope: Any, next_step: NextStep) -> Any:
        start = clock.peek()
        try:
            return next_step(envelope)
        finally:
            durations[type(envelope.command).__name__] = (clock.peek() - start).total_seconds()

    bus = CommandBus(clock=clock, ids=SequentialIds("cmd"), middleware=(timing,))

    @bus.handles(Ping)
    def slow(envelope: CommandEnvelope[Ping]) -> Receipt:
        clock.advance(0.25)  # the handler's work, in virtual time
        return receipt_for(envelope)

    bus.dispatch(Ping())

    assert durations == {"Ping": 0.25}


# --- the envelope ------------------------------------------------------------------------------


def test_each_dispatch_gets_an_envelope_with_id_time_and_correlation_from_the_injected_factories(
    bus: CommandBus,
) -> None:
    recorder = Recorder()
    bus.register(Ping, recorder)

    bus.dispatch(Ping())
    bus.dispatch(Ping())

    first, second = recorder.handled
    assert (first.command_id, first.issued_at, first.correlation_id) == (
        "cmd-0001",
        DEFAULT_START,
        "cmd-0001",
    )
    assert (second.command_id, second.issued_at, second.correlation_id) == (
        "cmd-0002",
        DEFAULT_START + timedelta(seconds=1),
        "cmd-0002",
    )


def test_the_handler_gets_the_very_command_dispatched_not_a_copy(bus: CommandBus) -> None:
    recorder = Recorder()
    bus.register(Ping, recorder)
    original = Ping(text="hi")

    bus.dispatch(original)
    bus.dispatch(original)

    first, second = recorder.handled
    assert first.command is original
    assert second.command is original
    assert first.command_id != second.command_id
    assert original == Ping(text="hi")
    with pytest.raises(AttributeError):
        first.command_id = "changed"  # type: ignore[misc]


def test_a_command_is_built_once_by_its_sender_and_never_again_by_the_bus(
    bus: CommandBus,
) -> None:
    recorder = Recorder()
    bus.register(CheckedPing, recorder)
    command = CheckedPing(text="x")

    bus.dispatch(command)

    assert command.post_inits == ["x"]  # __post_init__ ran when the sender built it, only then
    assert recorder.handled[0].command is command


def test_a_client_provided_command_id_and_correlation_are_kept(bus: CommandBus) -> None:
    recorder = Recorder()
    bus.register(Ping, recorder)

    receipt = bus.dispatch(Ping(), command_id="client-7", correlation_id="req-3")

    (envelope,) = recorder.handled
    assert (envelope.command_id, envelope.correlation_id) == ("client-7", "req-3")
    assert envelope.issued_at == DEFAULT_START
    assert receipt.command_id == "client-7"
    assert bus.ids() == "cmd-0001"  # no id was drawn for the client's command


def test_a_client_provided_id_is_also_the_correlation_id_when_none_is_given(
    bus: CommandBus,
) -> None:
    recorder = Recorder()
    bus.register(Ping, recorder)

    bus.dispatch(Ping(), command_id="client-7")

    assert recorder.handled[0].correlation_id == "client-7"


def test_a_correlation_id_alone_joins_the_conversation_under_a_new_command_id(
    bus: CommandBus,
) -> None:
    recorder = Recorder()
    bus.register(Ping, recorder)

    bus.dispatch(Ping(), correlation_id="req-3")

    (envelope,) = recorder.handled
    assert (envelope.command_id, envelope.correlation_id) == ("cmd-0001", "req-3")


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("command_id", "", "''"),
        ("command_id", 7, "7"),
        ("correlation_id", "", "''"),
        ("correlation_id", ["req-1"], r"\['req-1'\]"),
    ],
)
def test_a_client_id_that_is_no_non_empty_string_is_refused_before_the_handler_runs(
    bus: CommandBus, name: str, value: object, shown: str
) -> None:
    recorder = Recorder()
    bus.register(Ping, recorder)

    with pytest.raises(
        InvalidArgumentError, match=rf"^{name} must be a non-empty string, found {shown}$"
    ):
        bus.dispatch(Ping(), **{name: value})  # type: ignore[arg-type]

    assert recorder.handled == []
    assert bus.ids() == "cmd-0001"  # no id was drawn either


# --- results and errors ------------------------------------------------------------------------


def test_a_handler_that_returns_no_receipt_is_a_handler_result_error(bus: CommandBus) -> None:
    bus.register(Ping, lambda envelope: "done")

    with pytest.raises(HandlerResultError, match="handler for Ping returned str") as caught:
        bus.dispatch(Ping())

    assert isinstance(caught.value, TypeError)


def test_a_domain_error_from_the_handler_propagates_unchanged(bus: CommandBus) -> None:
    refusal = DomainError("no pings on Sundays")

    def refuse(envelope: CommandEnvelope[Ping]) -> Receipt:
        raise refusal

    bus.register(Ping, refuse)

    with pytest.raises(DomainError) as caught:
        bus.dispatch(Ping())

    assert caught.value is refusal


def test_dispatching_a_query_on_the_command_bus_is_refused(bus: CommandBus) -> None:
    # even a handler registered for it does not make a query valid on the command bus
    bus.register(AskTime, receipt_for)

    with pytest.raises(InvalidArgumentError, match="found AskTime; queries go to the QueryBus"):
        bus.dispatch(AskTime())  # type: ignore[arg-type]


def test_dispatching_something_that_is_no_command_is_refused(bus: CommandBus) -> None:
    with pytest.raises(InvalidArgumentError, match="dispatch takes a Command, found dict"):
        bus.dispatch({"type": "Ping"})  # type: ignore[arg-type]
