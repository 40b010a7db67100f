"""PostgreSQL for the tests: a fresh database per test module, skipped when no server is named.

Set ``CQRS_LAB_POSTGRES_URL`` to a ``postgresql://`` URL of a user who may create databases
(``.ci/run`` sets it). Unset, every test that needs PostgreSQL is skipped with :data:`SKIP_REASON`
and the session ends with a line saying so. Set but unreachable, those tests fail: a server
named and not answering is a broken set-up, not a reason to skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

URL_ENV = "CQRS_LAB_POSTGRES_URL"

HOW_TO_RUN = (
    f"set {URL_ENV}=postgresql://postgres@127.0.0.1:5432/postgres (a user who may create "
    "databases) and run again"
)

SKIP_REASON = f"PostgreSQL tests need a server: {HOW_TO_RUN}"


def server_url() -> str | None:
    """The URL named by the environment, or None."""
    return os.environ.get(URL_ENV) or None


def with_database(url: str, name: str) -> str:
    """``url`` pointing at the database ``name`` instead."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """The URL of a database created for this test module, dropped after it."""
    url = server_url()
    if url is None:
        pytest.skip(SKIP_REASON)
    psycopg = pytest.importorskip("psycopg", reason="the postgres extra is not installed")
    from psycopg import sql

    name = f"cqrs_lab_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        pytest.fail(f"{URL_ENV} names a server that does not answer: {error}")
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_database(url, name)
    finally:
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def make_postgres(postgres_url: str) -> Iterator[Callable[[], Any]]:
    """Builds a :class:`PostgresDatabase` on a new, empty schema of the module's database."""
    from cqrs_lab.adapters.postgres_database import PostgresDatabase

    opened: list[PostgresDatabase] = []

    def factory() -> PostgresDatabase:
        database = PostgresDatabase(postgres_url, schema=f"s_{uuid.uuid4().hex[:12]}")
        opened.append(database)
        return database

    yield factory
    for database in opened:
        database.close()


def count_postgres_skips(terminalreporter: Any) -> int:
    """How many tests of this session were skipped for want of a server."""
    return sum(
        1
        for report in terminalreporter.stats.get("skipped", [])
        if SKIP_REASON in str(getattr(report, "longrepr", ""))
    )


def report_postgres_skips(terminalreporter: Any) -> None:
    """End the session with a plain line when PostgreSQL tests were skipped."""
    skipped = count_postgres_skips(terminalreporter)
    if skipped:
        terminalreporter.write_line(
            f"PostgreSQL: {skipped} test(s) skipped, no server named. To run them, {HOW_TO_RUN}.",
            yellow=True,
            bold=True,
        )
