"""The command bus: one handler per command type, middleware around it, receipts out."""

from __future__ import annotations

import asyncio
import gc
import warnings
from collections.abc import Callable
from dataclasses import FrozenInstanceError, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cqrs_lab.clock import DEFAULT_START, ManualClock
from cqrs_lab.command_bus import CommandBus
from cqrs_lab.errors import (
    AsyncHandlerError,
    DomainError,
    DuplicateHandlerError,
    HandlerNotFoundError,
    HandlerResultError,
    InvalidArgumentError,
)
from cqrs_lab.event_store import Receipt
from cqrs_lab.handlers import NextStep
from cqrs_lab.ids import SequentialIds
from cqrs_lab.messages import Command, Query


@dataclass(frozen=True, kw_only=True)
class Ping(Command):
    text: str = "ping"


@dataclass(frozen=True, kw_only=True)
class Pong(Command):
    pass


@dataclass(frozen=True, kw_only=True, slots=True)
class SlottedPing(Command):
    text: str


@dataclass(frozen=True, kw_only=True)
class CheckedPing(Command):
    text: str
    seen_in_post_init: list[str] = field(default_factory=list, compare=False)

    def __post_init__(self) -> None:
        self.seen_in_post_init.append(self.command_id)


@dataclass(frozen=True, kw_only=True)
class AskTime(Query):
    pass


class Recorder:
    """A handler object: keeps every command it handles and answers with a receipt."""

    def __init__(self) -> None:
        self.handled: list[Command] = []

    def handle(self, command: Command) -> Receipt:
        self.handled.append(command)
        return Receipt("pings", len(self.handled), len(self.handled), command.command_id)


@pytest.fixture
def bus() -> CommandBus:
    return CommandBus(clock=ManualClock(step=1.0), ids=SequentialIds("cmd"))


def receipt_for(command: Command) -> Receipt:
    return Receipt("pings", 1, 1, command.command_id)


# --- registration ------------------------------------------------------------------------------


def test_a_registered_function_handles_its_command_type(bus: CommandBus) -> None:
    bus.register(Ping, receipt_for)

    receipt = bus.dispatch(Ping())

    assert receipt == Receipt("pings", 1, 1, "cmd-0001")
    assert bus.registered == ["Ping"]
    assert bus.has_handler(Ping)
    assert not bus.has_handler(Pong)


def test_the_decorator_registers_and_returns_the_function_unchanged(bus: CommandBus) -> None:
    @bus.handles(Ping)
    def handle_ping(command: Ping) -> Receipt:
        return receipt_for(command)

    assert handle_ping(Ping(command_id="direct")).command_id == "direct"
    assert bus.dispatch(Ping()).command_id == "cmd-0001"


def test_an_object_with_handle_is_a_handler(bus: CommandBus) -> None:
    recorder = Recorder()
    bus.register(Ping, recorder)

    bus.dispatch(Ping(text="a"))
    bus.dispatch(Ping(text="b"))

    assert [c.text for c in recorder.handled] == ["a", "b"]  # type: ignore[attr-defined]


def test_a_second_handler_for_a_command_type_is_refused(bus: CommandBus) -> None:
    bus.register(Ping, receipt_for)

    with pytest.raises(DuplicateHandlerError, match=r"Ping already has a handler \(receipt_for\)"):
        bus.register(Ping, Recorder())

    assert bus.dispatch(Ping()).stream_id == "pings"


def test_a_duplicate_handler_error_is_a_value_error() -> None:
    assert issubclass(DuplicateHandlerError, ValueError)


def test_a_command_without_handler_names_its_type_and_the_registered_ones(bus: CommandBus) -> None:
    bus.register(Ping, receipt_for)
    bus.register(SlottedPing, receipt_for)

    with pytest.raises(HandlerNotFoundError) as caught:
        bus.dispatch(Pong())

    message = str(caught.value)
    assert "no handler for Pong" in message
    assert "['Ping', 'SlottedPing']" in message
    assert isinstance(caught.value, LookupError)


def test_a_bus_with_no_handlers_says_none_are_registered(bus: CommandBus) -> None:
    with pytest.raises(HandlerNotFoundError, match="registered command types: none"):
        bus.dispatch(Pong())


def test_only_classes_and_callables_can_be_registered(bus: CommandBus) -> None:
    with pytest.raises(TypeError, match="message_type must be a class"):
        bus.register(Ping(), receipt_for)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="a handler must be callable"):
        bus.register(Ping, 42)  # type: ignore[arg-type]


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
    def handle(command: Ping) -> Receipt:
        trace.append("handler")
        return receipt_for(command)

    bus.dispatch(Ping())

    assert trace == ["outer>", "inner>", "handler", "<inner", "<outer"]


def test_middleware_added_after_a_handler_still_runs_around_it(bus: CommandBus) -> None:
    trace: list[str] = []
    bus.register(Ping, receipt_for)
    bus.dispatch(Ping())  # straight to the handler while there is no middleware

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


def test_middleware_sees_the_stamped_command(bus: CommandBus) -> None:
    seen: list[str] = []

    def spy(message: Any, next_step: NextStep) -> Any:
        seen.append(message.command_id)
        return next_step(message)

    bus.use(spy)
    bus.register(Ping, receipt_for)

    bus.dispatch(Ping())

    assert seen == ["cmd-0001"]


def test_validating_middleware_stops_a_bad_command_before_its_handler(bus: CommandBus) -> None:
    recorder = Recorder()

    def reject_blank_text(message: Any, next_step: NextStep) -> Any:
        if isinstance(message, Ping) and not message.text.strip():
            raise DomainError(f"{type(message).__name__}.text must not be blank")
        return next_step(message)

    bus.use(reject_blank_text)
    bus.register(Ping, recorder)

    with pytest.raises(DomainError, match=r"Ping\.text must not be blank"):
        bus.dispatch(Ping(text="  "))
    bus.dispatch(Ping(text="fine"))

    assert [c.text for c in recorder.handled] == ["fine"]  # type: ignore[attr-defined]


def test_middleware_can_answer_without_calling_the_handler(bus: CommandBus) -> None:
    # Idempotency: a command id seen before gets the receipt it got the first time.
    receipts: dict[str, Receipt] = {}
    recorder = Recorder()

    def idempotent(message: Any, next_step: NextStep) -> Any:
        if message.command_id not in receipts:
            receipts[message.command_id] = next_step(message)
        return receipts[message.command_id]

    bus.use(idempotent)
    bus.register(Ping, recorder)

    first = bus.dispatch(Ping(command_id="client-1"))
    again = bus.dispatch(Ping(command_id="client-1"))
    other = bus.dispatch(Ping(command_id="client-2"))

    assert again == first
    assert len(recorder.handled) == 2
    assert other.stream_version == 2


def test_timing_middleware_measures_the_handler_on_the_injected_clock() -> None:
    clock = ManualClock()
    durations: dict[str, float] = {}

    def timing(message: Any, next_step: NextStep) -> Any:
        start = clock.peek()
        try:
            return next_step(message)
        finally:
            durations[type(message).__name__] = (clock.peek() - start).total_seconds()

    bus = CommandBus(clock=clock, ids=SequentialIds("cmd"), middleware=(timing,))

    @bus.handles(Ping)
    def slow(command: Ping) -> Receipt:
        clock.advance(0.25)  # the handler's work, in virtual time
        return receipt_for(command)

    bus.dispatch(Ping())

    assert durations == {"Ping": 0.25}


# --- stamping ----------------------------------------------------------------------------------


def test_dispatch_stamps_id_time_and_correlation_from_the_injected_factories(
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
    assert (second.command_id, second.issued_at) == (
        "cmd-0002",
        DEFAULT_START + timedelta(seconds=1),
    )


def test_stamping_copies_the_command_and_leaves_the_original_as_it_was(bus: CommandBus) -> None:
    recorder = Recorder()
    bus.register(Ping, recorder)
    original = Ping(text="hi")

    bus.dispatch(original)

    (stamped,) = recorder.handled
    assert stamped is not original
    assert stamped == Ping(
        text="hi", command_id="cmd-0001", issued_at=DEFAULT_START, correlation_id="cmd-0001"
    )
    assert (original.command_id, original.issued_at, original.correlation_id) == ("", None, "")
    with pytest.raises(FrozenInstanceError):
        stamped.command_id = "changed"  # type: ignore[misc]


def test_a_client_provided_command_id_and_correlation_are_kept(bus: CommandBus) -> None:
    recorder = Recorder()
    bus.register(Ping, recorder)

    receipt = bus.dispatch(Ping(command_id="client-7", correlation_id="req-3"))

    (stamped,) = recorder.handled
    assert (stamped.command_id, stamped.correlation_id) == ("client-7", "req-3")
    assert stamped.issued_at == DEFAULT_START
    assert receipt.command_id == "client-7"
    assert bus.ids() == "cmd-0001"  # no id was drawn for the client's command


def test_a_client_provided_id_is_also_the_correlation_id_when_none_is_given(
    bus: CommandBus,
) -> None:
    recorder = Recorder()
    bus.register(Ping, recorder)

    bus.dispatch(Ping(command_id="client-7"))

    assert recorder.handled[0].correlation_id == "client-7"


def test_a_fully_stamped_command_is_dispatched_as_it_is(bus: CommandBus) -> None:
    recorder = Recorder()
    bus.register(Ping, recorder)
    issued = datetime(2025, 12, 31, tzinfo=UTC)
    command = Ping(command_id="c-1", issued_at=issued, correlation_id="r-1")

    bus.dispatch(command)

    assert recorder.handled[0] is command


def test_a_command_class_with_slots_is_stamped_with_every_field_kept(bus: CommandBus) -> None:
    recorder = Recorder()
    bus.register(SlottedPing, recorder)

    bus.dispatch(SlottedPing(text="slotted"))

    (stamped,) = recorder.handled
    assert stamped == SlottedPing(
        text="slotted", command_id="cmd-0001", issued_at=DEFAULT_START, correlation_id="cmd-0001"
    )


def test_a_command_with_post_init_sees_the_stamped_values(bus: CommandBus) -> None:
    recorder = Recorder()
    bus.register(CheckedPing, recorder)

    bus.dispatch(CheckedPing(text="x"))

    (stamped,) = recorder.handled
    assert stamped.command_id == "cmd-0001"
    assert stamped.seen_in_post_init[-1] == "cmd-0001"  # type: ignore[attr-defined]


# --- results and errors ------------------------------------------------------------------------


def test_a_handler_that_returns_no_receipt_is_a_handler_result_error(bus: CommandBus) -> None:
    bus.register(Ping, lambda command: "done")

    with pytest.raises(HandlerResultError, match="handler for Ping returned str") as caught:
        bus.dispatch(Ping())

    assert isinstance(caught.value, TypeError)


def test_a_domain_error_from_the_handler_propagates_unchanged(bus: CommandBus) -> None:
    refusal = DomainError("no pings on Sundays")

    def refuse(command: Ping) -> Receipt:
        raise refusal

    bus.register(Ping, refuse)

    with pytest.raises(DomainError) as caught:
        bus.dispatch(Ping())

    assert caught.value is refusal


def test_dispatching_a_query_on_the_command_bus_is_refused(bus: CommandBus) -> None:
    # even a handler registered for it does not make a query valid on the command bus
    bus.register(AskTime, receipt_for)  # type: ignore[arg-type]

    with pytest.raises(InvalidArgumentError, match="found AskTime; queries go to the QueryBus"):
        bus.dispatch(AskTime())  # type: ignore[arg-type]


def test_dispatching_something_that_is_no_command_is_refused(bus: CommandBus) -> None:
    with pytest.raises(InvalidArgumentError, match="dispatch takes a Command, found dict"):
        bus.dispatch({"type": "Ping"})  # type: ignore[arg-type]


# --- async handlers ----------------------------------------------------------------------------


async def async_receipt(command: Command) -> Receipt:
    await asyncio.sleep(0)  # yields to the loop once: a real coroutine, not a timed wait
    return Receipt("async", 1, 1, command.command_id)


def test_dispatch_from_plain_code_runs_an_async_handler_to_completion(bus: CommandBus) -> None:
    bus.register(Ping, async_receipt)

    receipt = bus.dispatch(Ping())

    assert receipt == Receipt("async", 1, 1, "cmd-0001")


def test_an_async_handle_method_is_awaited_too(bus: CommandBus) -> None:
    class AsyncHandler:
        async def handle(self, command: Ping) -> Receipt:
            return await async_receipt(command)

    bus.register(Ping, AsyncHandler())

    assert bus.dispatch(Ping()).stream_id == "async"


def test_adispatch_inside_a_running_loop_awaits_an_async_handler(bus: CommandBus) -> None:
    bus.register(Ping, async_receipt)

    async def main() -> Receipt:
        return await bus.adispatch(Ping())

    assert asyncio.run(main()) == Receipt("async", 1, 1, "cmd-0001")


def test_adispatch_runs_a_sync_handler_too(bus: CommandBus) -> None:
    bus.register(Ping, receipt_for)

    async def main() -> Receipt:
        return await bus.adispatch(Ping())

    assert asyncio.run(main()).command_id == "cmd-0001"


def test_adispatch_checks_the_receipt(bus: CommandBus) -> None:
    bus.register(Ping, lambda command: None)

    async def main() -> Receipt:
        return await bus.adispatch(Ping())

    with pytest.raises(HandlerResultError, match="returned NoneType"):
        asyncio.run(main())


def test_sync_dispatch_of_an_async_handler_inside_a_loop_says_to_await_adispatch(
    bus: CommandBus,
) -> None:
    bus.register(Ping, async_receipt)
    messages: list[str] = []

    async def main() -> None:
        try:
            bus.dispatch(Ping())
        except AsyncHandlerError as error:
            messages.append(str(error))
            assert isinstance(error, RuntimeError)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(main())
        gc.collect()  # an unawaited coroutine warns when it is collected

    assert len(messages) == 1
    assert "handler for Ping is async" in messages[0]
    assert "await bus.adispatch(message)" in messages[0]
    assert [str(w.message) for w in caught if "never awaited" in str(w.message)] == []
