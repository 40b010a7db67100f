"""cqrs_lab: a small, real, in-memory CQRS and event-sourcing kit for teaching and simulation.

Importing it has no side effects and pulls in neither matplotlib nor ipywidgets; pandas is
imported only by the functions that build DataFrames. The worked Order example lives in
:mod:`cqrs_lab.examples.orders`.
"""

from cqrs_lab.aggregate import Aggregate, Repository
from cqrs_lab.clock import DEFAULT_START, Clock, ManualClock, SystemClock
from cqrs_lab.codec import EncodedEvent, EventCodec
from cqrs_lab.command_bus import CommandBus
from cqrs_lab.consistency import ConsistencyWaiter, OnTimeout, ReadResult, WaitResult
from cqrs_lab.errors import (
    AggregateNotFoundError,
    ConcurrencyError,
    ConsistencyTimeoutError,
    CqrsLabError,
    DomainError,
    DuplicateHandlerError,
    HandlerNotFoundError,
    HandlerResultError,
    InvalidArgumentError,
    InvalidProjectionError,
    InvalidQueryError,
    ProjectionFailedError,
    ProjectionResultError,
    ProjectorCrashedError,
    ProjectorStoppedError,
    SubscriberError,
    UnknownEventTypeError,
    UpcastError,
    parse_choice,
)
from cqrs_lab.event_store import (
    ANY_VERSION,
    NO_STREAM,
    EventStore,
    InMemoryEventStore,
    Receipt,
    log_frame,
)
from cqrs_lab.failures import DeadLetter, FailurePolicy
from cqrs_lab.handlers import MessageBus, Middleware
from cqrs_lab.ids import IdFactory, SequentialIds, UuidIds
from cqrs_lab.lag import LagReport, lag_frame, measure_lag
from cqrs_lab.messages import Command, CommandEnvelope, Event, Metadata, Query, RecordedEvent
from cqrs_lab.projection import (
    Changes,
    ConsistencySLA,
    InMemoryReadModel,
    Projection,
    ReadModel,
    RowReader,
)
from cqrs_lab.projector import Projector
from cqrs_lab.query_bus import QueryBus
from cqrs_lab.read_your_writes import Consistency, Dispatched, dispatch
from cqrs_lab.rebuild import Rebuild, RebuildMode
from cqrs_lab.upcasting import EventRegistry, Upcaster

__all__ = [
    "ANY_VERSION",
    "DEFAULT_START",
    "NO_STREAM",
    "Aggregate",
    "AggregateNotFoundError",
    "Changes",
    "Clock",
    "Command",
    "CommandBus",
    "CommandEnvelope",
    "ConcurrencyError",
    "Consistency",
    "ConsistencySLA",
    "ConsistencyTimeoutError",
    "ConsistencyWaiter",
    "CqrsLabError",
    "DeadLetter",
    "Dispatched",
    "DomainError",
    "DuplicateHandlerError",
    "EncodedEvent",
    "Event",
    "EventCodec",
    "EventRegistry",
    "EventStore",
    "FailurePolicy",
    "HandlerNotFoundError",
    "HandlerResultError",
    "IdFactory",
    "InMemoryEventStore",
    "InMemoryReadModel",
    "InvalidArgumentError",
    "InvalidProjectionError",
    "InvalidQueryError",
    "LagReport",
    "ManualClock",
    "MessageBus",
    "Metadata",
    "Middleware",
    "OnTimeout",
    "Projection",
    "ProjectionFailedError",
    "ProjectionResultError",
    "Projector",
    "ProjectorCrashedError",
    "ProjectorStoppedError",
    "Query",
    "QueryBus",
    "ReadModel",
    "ReadResult",
    "Rebuild",
    "RebuildMode",
    "Receipt",
    "RecordedEvent",
    "Repository",
    "RowReader",
    "SequentialIds",
    "SubscriberError",
    "SystemClock",
    "UnknownEventTypeError",
    "UpcastError",
    "Upcaster",
    "UuidIds",
    "WaitResult",
    "dispatch",
    "lag_frame",
    "log_frame",
    "measure_lag",
    "parse_choice",
]

__version__ = "0.1.0"
