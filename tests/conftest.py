"""Shared fixtures: a manual clock, an in-memory store knowing the Order events, the Order system.

``Noted`` is a test-only event for tests of the core that need an event but no domain.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from postgres_processes import reap_children
from postgres_support import SKIP_REASON, make_postgres, postgres_url, report_postgres_skips

from cqrs_lab.clock import ManualClock
from cqrs_lab.event_store import InMemoryEventStore
from cqrs_lab.examples.orders import OrderSystem, build_order_system, order_event_registry
from cqrs_lab.messages import Event

# fixtures for the PostgreSQL tests (reap_children is autouse: no child process outlives a test)
__all__ = ["make_postgres", "postgres_url", "reap_children"]


@dataclass(frozen=True, kw_only=True)
class Noted(Event):
    """A test-only event: a line of text was noted."""

    text: str


@pytest.fixture
def clock() -> ManualClock:
    """A clock at 2026-01-01 09:00 UTC that moves one second after each reading."""
    return ManualClock(step=1.0)


@pytest.fixture
def store(clock: ManualClock) -> InMemoryEventStore:
    """An empty in-memory store on ``clock`` whose registry knows every Order event and Noted."""
    registry = order_event_registry()
    registry.register(Noted)
    return InMemoryEventStore(clock=clock, registry=registry)


@pytest.fixture
def system() -> OrderSystem:
    """The Order example wired as notebooks use it: ids cmd-0001 and order-0001, 1 s per reading."""
    return build_order_system()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> Iterator[None]:
    """Say plainly, after the list of skips, when PostgreSQL tests were skipped and how to run
    them (the outermost wrapper runs last)."""
    yield
    report_postgres_skips(terminalreporter)


NEEDS_POSTGRES = ("10_postgres_and_processes.ipynb",)
"""Notebooks whose cells are skipped when no PostgreSQL server is named."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip the cells of the notebooks that need PostgreSQL when no server is named.

    Under ``make test`` with no ``CQRS_LAB_POSTGRES_URL``, nbval collects notebook 10 and each
    cell is reported skipped with the reason the PostgreSQL tests give (the session's last lines
    count both and say how to run them); CI names a server, so there it runs and its outputs are
    compared like any other notebook's. (Here rather than in notebooks/: two conftest modules
    would both be imported as ``conftest``.)
    """
    if os.environ.get("CQRS_LAB_POSTGRES_URL"):
        return
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if item.path.name in NEEDS_POSTGRES:
            item.add_marker(skip)
