"""Notebook 10 needs a PostgreSQL server: without ``CQRS_LAB_POSTGRES_URL`` its cells are skipped.

Under ``make test`` on a machine with no server named, nbval collects the notebook and every cell
is reported skipped with the reason below (the session's last lines say so, with how to run
it); CI names a server, so there it runs and its outputs are compared like any other notebook's.
"""

from __future__ import annotations

import os

import pytest

NEEDS_POSTGRES = ("10_postgres_and_processes.ipynb",)

# Word for word the reason tests/postgres_support.py gives, so the session's summary counts both.
SKIP_REASON = (
    "PostgreSQL tests need a server: set CQRS_LAB_POSTGRES_URL=postgresql://postgres@127.0.0.1:"
    "5432/postgres (a user who may create databases) and run again"
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip the cells of the notebooks that need PostgreSQL when no server is named."""
    if os.environ.get("CQRS_LAB_POSTGRES_URL"):
        return
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if item.path.name in NEEDS_POSTGRES:
            item.add_marker(skip)
