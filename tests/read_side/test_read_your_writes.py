"""Read-your-writes one layer above the bus: dispatch, then (for "strong") wait for read models.

Nothing here sleeps or measures wall time: a live projector's commit ends a wait, and a wait
that must time out is given ``timeout=0``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest
from readside_support import (
    OtherCounts,
    PoisonAware,
    TagCounts,
    Tagged,
)

from cqrs_lab.clock import ManualClock
from cqrs_lab.command_bus import CommandBus
from cqrs_lab.consistency import ConsistencyWaiter, WaitResult
from cqrs_lab.errors import DomainError, InvalidArgumentError, ProjectionFailedError
from cqrs_lab.event_store import InMemoryEventStore
from cqrs_lab.examples.orders import CreateOrder, GetOrderById, OrderLine, build_order_system
from cqrs_lab.ids import SequentialIds
from cqrs_lab.messages import Command, CommandEnvelope, Receipt
from cqrs_lab.projector import Projector
from cqrs_lab.read_your_writes import Consistency, Dispatched, dispatch

GENEROUS = 5.0  # only bounds a wait that would otherwise hang; a wait that works ends sooner


@dataclass(frozen=True, kw_only=True)
class AddTag(Command):
    tag: str


@pytest.fixture
def bus(store: InMemoryEventStore, clock: ManualClock) -> CommandBus:
    """A command bus whose one handler appends a Tagged event caused by the envelope."""
    bus = CommandBus(clock=clock, ids=SequentialIds("cmd"))

    def add_tag(envelope: CommandEnvelope[AddTag]) -> Receipt:
        if not envelope.command.tag:
            raise DomainError("a tag must not be empty")
        return store.append("tags", [Tagged(tag=envelope.command.tag)], cause=envelope)

    bus.register(AddTag, add_tag)
    return bus


# -- eventual: return as soon as the events are stored ----------------------------------------


def test_an_eventual_dispatch_returns_the_receipt_without_waiting(
    bus: CommandBus, projector: Projector[int], waiter: ConsistencyWaiter
) -> None:
    result = dispatch(bus, waiter, AddTag(tag="a"))

    assert result == Dispatched(Receipt("tags", 1, 1, "cmd-0001"))
    assert (result.caught_up, result.wait, result.position) == (None, None, 1)
    assert projector.checkpoint == 0  # nothing waited for the read model


def test_an_eventual_dispatch_needs_no_waiter(bus: CommandBus, store: InMemoryEventStore) -> None:
    result = dispatch(bus, None, AddTag(tag="a"), consistency=Consistency.EVENTUAL)

    assert (result.caught_up, result.position, store.head) == (None, 1, 1)


# -- strong: also wait for the read models ----------------------------------------------------


def test_a_strong_dispatch_returns_once_a_live_projector_has_applied_the_command(
    bus: CommandBus, projector: Projector[int], waiter: ConsistencyWaiter
) -> None:
    projector.start()

    result = dispatch(bus, waiter, AddTag(tag="a"), consistency="strong", timeout=GENEROUS)

    assert result.caught_up is True
    assert result.wait is not None and result.wait.checkpoints["tag_counts"] >= result.position
    assert projector.read_model.get("a") == 1, "read your own write"


def test_a_strong_dispatch_that_times_out_still_stored_the_command(
    bus: CommandBus, store: InMemoryEventStore, waiter: ConsistencyWaiter
) -> None:
    result = dispatch(bus, waiter, AddTag(tag="a"), consistency="strong", timeout=0)

    assert result.caught_up is False
    assert type(result.wait) is WaitResult
    assert (result.wait.reached, result.wait.events_behind) == (False, 1)
    assert [r.causation_id for r in store.read_all()] == [result.receipt.command_id] == ["cmd-0001"]


def test_a_strong_dispatch_waits_only_for_the_projections_named(
    bus: CommandBus, store: InMemoryEventStore, clock: ManualClock
) -> None:
    fast, slow = Projector(store, TagCounts()), Projector(store, OtherCounts())
    waiter = ConsistencyWaiter(store, [fast, slow], clock=clock)
    fast.start()
    try:
        result = dispatch(
            bus,
            waiter,
            AddTag(tag="a"),
            consistency="strong",
            projections=["tag_counts"],
            timeout=GENEROUS,
        )
    finally:
        fast.stop()

    assert result.caught_up is True
    assert result.wait is not None and result.wait.checkpoints == {"tag_counts": 1}
    assert slow.checkpoint == 0


def test_a_strong_dispatch_by_default_waits_for_every_watched_projection(
    bus: CommandBus, store: InMemoryEventStore, clock: ManualClock
) -> None:
    fast, slow = Projector(store, TagCounts()), Projector(store, OtherCounts())
    waiter = ConsistencyWaiter(store, [fast, slow], clock=clock)

    result = dispatch(bus, waiter, AddTag(tag="a"), consistency="strong", timeout=0)

    assert result.caught_up is False
    assert result.wait is not None
    assert result.wait.checkpoints == {"other_counts": 0, "tag_counts": 0}


def test_a_domain_error_in_a_strong_dispatch_propagates_and_nothing_is_waited_for(
    bus: CommandBus, store: InMemoryEventStore, waiter: ConsistencyWaiter
) -> None:
    with pytest.raises(DomainError, match="must not be empty"):
        dispatch(bus, waiter, AddTag(tag=""), consistency="strong", timeout=GENEROUS)

    assert store.head == 0


def test_a_strong_dispatch_meeting_a_stopped_projector_says_why_and_kept_the_command(
    bus: CommandBus, store: InMemoryEventStore, clock: ManualClock
) -> None:
    projector = Projector(store, PoisonAware())
    waiter = ConsistencyWaiter(store, [projector], clock=clock)
    dispatch(bus, waiter, AddTag(tag="poison"))
    with pytest.raises(ProjectionFailedError):
        projector.catch_up()  # stops on the poison event, at checkpoint 0

    result = dispatch(bus, waiter, AddTag(tag="a"), consistency="strong", timeout=GENEROUS)

    assert store.head == 2, "the command was committed: the caller must not send it again"
    assert result.caught_up is False and result.wait is None
    assert result.stopped is not None and result.stopped.projector == "tag_counts"
    assert "cannot wait for position 2" in str(result.stopped)
    assert isinstance(result.stopped.__cause__, ProjectionFailedError)


# -- mistakes are refused before anything is appended -----------------------------------------


def test_a_strong_dispatch_without_a_waiter_is_refused_before_anything_is_stored(
    bus: CommandBus, store: InMemoryEventStore
) -> None:
    with pytest.raises(InvalidArgumentError, match=r"needs a ConsistencyWaiter.*found none"):
        dispatch(bus, None, AddTag(tag="a"), consistency="strong")

    assert store.head == 0, "a caller told of an error must be able to assume nothing happened"


def test_a_strong_dispatch_naming_an_unknown_projection_is_refused_before_anything_is_stored(
    bus: CommandBus, store: InMemoryEventStore, waiter: ConsistencyWaiter
) -> None:
    with pytest.raises(InvalidArgumentError, match=r"unknown projection\(s\) \['orders'\]"):
        dispatch(bus, waiter, AddTag(tag="a"), consistency="strong", projections=["orders"])

    assert store.head == 0


def test_a_strong_dispatch_with_a_negative_timeout_is_refused_before_anything_is_stored(
    bus: CommandBus, store: InMemoryEventStore, waiter: ConsistencyWaiter
) -> None:
    with pytest.raises(InvalidArgumentError, match="timeout must be >= 0 seconds, found -1"):
        dispatch(bus, waiter, AddTag(tag="a"), consistency="strong", timeout=-1)

    assert store.head == 0


def test_an_unknown_consistency_is_refused_before_anything_is_stored(
    bus: CommandBus, store: InMemoryEventStore, waiter: ConsistencyWaiter
) -> None:
    with pytest.raises(
        InvalidArgumentError,
        match=r"consistency must be one of \['eventual', 'strong'\], found 'sometimes'",
    ):
        dispatch(bus, waiter, AddTag(tag="a"), consistency="sometimes")

    assert store.head == 0


# -- the result -------------------------------------------------------------------------------


def test_dispatched_is_a_frozen_pair_of_receipt_and_wait() -> None:
    receipt = Receipt("tags", 1, 7, "cmd-0001")
    stale = WaitResult(7, False, {"tag_counts": 5}, 2, 0.0, 0.0)
    fresh = WaitResult(7, True, {"tag_counts": 7}, 0, 0.0, 0.0)

    assert Dispatched(receipt).caught_up is None
    assert Dispatched(receipt, stale).caught_up is False
    assert Dispatched(receipt, fresh).caught_up is True
    assert Dispatched(receipt, fresh).position == 7
    assert repr(Dispatched(receipt, fresh)) == f"Dispatched(receipt={receipt!r})"
    with pytest.raises(dataclasses.FrozenInstanceError):
        Dispatched(receipt).receipt = receipt  # type: ignore[misc]


def test_consistency_takes_its_members_or_their_values() -> None:
    assert [c.value for c in Consistency] == ["eventual", "strong"]
    assert Consistency("strong") is Consistency.STRONG


# -- the Order example ------------------------------------------------------------------------

TEA = OrderLine(product_id="tea", quantity=1, price=2.5)


def test_the_order_system_dispatches_eventually_by_default() -> None:
    system = build_order_system()

    result = system.dispatch(CreateOrder(customer_id="ada", items=(TEA,)))

    assert result == Dispatched(Receipt("order-0001", 1, 1, "cmd-0001"))
    assert result.caught_up is None
    assert system.queries.dispatch(GetOrderById(order_id="order-0001")) is None  # not projected
    assert type(system.commands.dispatch(CreateOrder(customer_id="bob", items=(TEA,)))) is Receipt


def test_a_strong_order_dispatch_reads_its_own_write() -> None:
    system = build_order_system()
    system.projector.start()
    try:
        result = system.dispatch(
            CreateOrder(customer_id="ada", items=(TEA,)), consistency="strong", timeout=GENEROUS
        )
    finally:
        system.projector.stop()

    assert result.caught_up is True
    assert system.queries.dispatch(GetOrderById(order_id=result.receipt.stream_id)) is not None


def test_a_strong_order_dispatch_that_times_out_says_so_and_kept_the_order() -> None:
    system = build_order_system()

    result = system.dispatch(
        CreateOrder(customer_id="ada", items=(TEA,)), consistency="strong", timeout=0
    )

    assert result.caught_up is False
    assert system.store.stream_ids() == ["order-0001"]


def test_a_strong_order_dispatch_naming_an_unknown_projection_appends_nothing() -> None:
    system = build_order_system()

    with pytest.raises(InvalidArgumentError, match="unknown projection"):
        system.dispatch(
            CreateOrder(customer_id="ada", items=(TEA,)),
            consistency="strong",
            projections=["order_views", "invoices"],
        )

    assert system.store.head == 0
