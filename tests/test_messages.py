"""Commands, events and queries are frozen keyword-only dataclasses; the envelope holds the rest."""

from __future__ import annotations

import dataclasses
from dataclasses import FrozenInstanceError, dataclass
from datetime import UTC, datetime

import pytest
from conftest import Noted

from cqrs_lab.messages import (
    Command,
    CommandEnvelope,
    Event,
    Metadata,
    Query,
    Receipt,
    RecordedEvent,
)


@dataclass(frozen=True, kw_only=True)
class OpenAccount(Command):
    owner: str
    overdraft_cents: int = 0


@dataclass(frozen=True, kw_only=True)
class GetBalance(Query):
    account_id: str


@dataclass(frozen=True, kw_only=True)
class Renamed(Event):
    type_name = "AccountRenamed"
    new_name: str


@dataclass(frozen=True, kw_only=True)
class RenamedAgain(Renamed):
    reason: str


def test_a_command_subclass_has_only_the_fields_it_declares() -> None:
    command = OpenAccount(owner="ada")

    assert dataclasses.fields(Command) == ()
    assert [f.name for f in dataclasses.fields(OpenAccount)] == ["owner", "overdraft_cents"]
    assert command == OpenAccount(owner="ada", overdraft_cents=0)
    assert repr(command) == "OpenAccount(owner='ada', overdraft_cents=0)"


def test_a_command_subclass_can_declare_required_fields_after_defaulted_ones() -> None:
    @dataclass(frozen=True, kw_only=True)
    class Transfer(OpenAccount):
        to_account: str  # required, after the parent's defaulted overdraft_cents

    assert Transfer(owner="ada", to_account="acc-2").overdraft_cents == 0


def test_the_playbook_style_base_with_defaults_breaks_subclasses_with_required_fields() -> None:
    # Template 1's shape: a plain (not keyword-only) base whose fields have defaults.
    @dataclass
    class PlaybookCommand:
        command_id: str | None = None
        timestamp: datetime | None = None

    with pytest.raises(TypeError, match="non-default argument 'customer_id' follows default"):

        @dataclass
        class PlaybookCreateOrder(PlaybookCommand):
            customer_id: str  # type: ignore[misc]  # mypy sees the same mistake


def test_commands_are_frozen() -> None:
    command = OpenAccount(owner="ada")

    with pytest.raises(FrozenInstanceError):
        command.owner = "bob"  # type: ignore[misc]


def test_messages_take_keyword_arguments_only() -> None:
    with pytest.raises(TypeError, match="positional"):
        OpenAccount("ada")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="positional"):
        GetBalance("acc-1")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="positional"):
        Noted("hello")  # type: ignore[call-arg]


def test_queries_and_events_are_frozen() -> None:
    query = GetBalance(account_id="acc-1")
    event = Noted(text="hi")

    with pytest.raises(FrozenInstanceError):
        query.account_id = "acc-2"  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        event.text = "bye"  # type: ignore[misc]


def test_an_event_is_stored_under_its_class_name_at_schema_version_one_by_default() -> None:
    assert Noted.type_name == "Noted"
    assert Noted.schema_version == 1
    assert [f.name for f in dataclasses.fields(Noted)] == ["text"]


def test_an_event_keeps_a_type_name_it_declares_and_its_subclasses_get_their_own() -> None:
    assert Renamed.type_name == "AccountRenamed"
    assert RenamedAgain.type_name == "RenamedAgain"


def envelope_of(
    command: Command, command_id: str, correlation_id: str = ""
) -> CommandEnvelope[Command]:
    return CommandEnvelope(
        command=command,
        command_id=command_id,
        correlation_id=correlation_id or command_id,
        issued_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_a_command_envelope_holds_the_command_beside_its_ids_and_time() -> None:
    command = OpenAccount(owner="ada")
    envelope: CommandEnvelope[OpenAccount] = CommandEnvelope(
        command=command,
        command_id="cmd-1",
        correlation_id="req-1",
        issued_at=datetime(2026, 1, 1, tzinfo=UTC),
    )

    assert envelope.command is command
    assert (envelope.command_id, envelope.correlation_id) == ("cmd-1", "req-1")
    assert envelope.issued_at == datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(AttributeError):
        envelope.command_id = "cmd-2"  # type: ignore[misc]


def test_metadata_caused_by_an_envelope_takes_its_command_id_as_causation_and_correlation() -> None:
    envelope = envelope_of(OpenAccount(owner="ada"), "cmd-7")

    assert Metadata.caused_by(envelope) == Metadata(correlation_id="cmd-7", causation_id="cmd-7")


def test_metadata_caused_by_an_envelope_keeps_the_conversation_it_belongs_to() -> None:
    envelope = envelope_of(OpenAccount(owner="ada"), "cmd-8", correlation_id="req-1")

    assert Metadata.caused_by(envelope) == Metadata(correlation_id="req-1", causation_id="cmd-8")


def test_metadata_caused_by_on_a_subclass_builds_the_subclass() -> None:
    @dataclass(frozen=True, slots=True)
    class TracedMetadata(Metadata):
        trace_id: str = "none"

    metadata = TracedMetadata.caused_by(envelope_of(OpenAccount(owner="ada"), "cmd-9"))

    assert metadata == TracedMetadata(correlation_id="cmd-9", causation_id="cmd-9")
    assert metadata.trace_id == "none"


def test_metadata_without_a_cause_is_empty() -> None:
    assert Metadata() == Metadata(correlation_id="", causation_id="")


def test_a_receipt_says_what_an_append_wrote_and_nothing_about_read_models() -> None:
    receipt = Receipt("acc-1", 2, 5, "cmd-1")

    assert list(Receipt._fields) == [
        "stream_id",
        "stream_version",
        "position",
        "command_id",
    ]
    assert Receipt("acc-1", 2, 5).command_id == ""
    assert not hasattr(receipt, "wait")
    assert not hasattr(receipt, "caught_up")
    with pytest.raises(AttributeError):
        receipt.position = 6  # type: ignore[misc]


def test_a_recorded_event_exposes_its_correlation_and_causation_ids() -> None:
    recorded = RecordedEvent(
        position=3,
        stream_id="note-1",
        stream_version=2,
        recorded_at=datetime(2026, 1, 1, tzinfo=UTC),
        event_type="Noted",
        schema_version=1,
        event=Noted(text="hi"),
        correlation_id="req-1",
        causation_id="cmd-2",
    )

    assert recorded.correlation_id == "req-1"
    assert recorded.causation_id == "cmd-2"
    assert recorded.metadata == Metadata(correlation_id="req-1", causation_id="cmd-2")
    with pytest.raises(AttributeError):
        recorded.position = 4  # type: ignore[misc]
