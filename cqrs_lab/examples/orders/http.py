"""The playbook's Template 3 as a working FastAPI app over the Order example.

Needs the optional ``api`` extra (``pip install -e '.[api]'``); nothing else in the kit imports
this module. :func:`create_app` takes a wired system -- the in-memory
:func:`~cqrs_lab.examples.orders.app.build_order_system` or the SQLite
:func:`~cqrs_lab.examples.orders.sqlite_app.build_sqlite_order_system` -- or :class:`ApiSettings`
naming a SQLite file or a PostgreSQL database. On SQLite its lifespan runs the projector in a
background thread; on PostgreSQL the projector is a process of its own
(``python -m cqrs_lab project --database URL``, ``make project``), and several uvicorn workers
can serve one database: a strong write waits for the checkpoint PostgreSQL announces.

Every write answers with the receipt's global ``position``, the read-your-writes token; with
``?consistency=strong&timeout=2`` it also waits for the read model and says in ``consistent``
whether it caught up in time. The write has succeeded either way.

The app is split by concept: the endpoints are in
:mod:`~cqrs_lab.examples.orders.http_routes`, what they read and write in
:mod:`~cqrs_lab.examples.orders.http_models`, and how a refused request is answered (422 naming
the field, 404, 409 -- never a 500) in :mod:`~cqrs_lab.examples.orders.http_errors`. Template
3's shapes work unchanged: ``shipping_address`` may be an object, and an item may be added with
the query parameters ``product_id``, ``quantity`` and ``price`` instead of a JSON body.

Serve it for real with ``make api``, i.e.
``uvicorn cqrs_lab.examples.orders.http:create_default_app --factory --host 127.0.0.1``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import FastAPI

from cqrs_lab.adapters.sqlite_database import Synchronous
from cqrs_lab.examples.orders.http_errors import install_error_handlers
from cqrs_lab.examples.orders.http_routes import MAX_TIMEOUT, OrderBackend, router
from cqrs_lab.examples.orders.sqlite_app import SqliteOrderSystem, build_sqlite_order_system

if TYPE_CHECKING:  # imported when needed: PostgreSQL needs the ``postgres`` extra
    from cqrs_lab.examples.orders.postgres_app import PostgresOrderSystem

__all__ = [
    "DATABASE_ENV",
    "DEFAULT_DATABASE",
    "MAX_TIMEOUT",
    "ApiSettings",
    "OrderBackend",
    "create_app",
    "create_default_app",
]

DEFAULT_DATABASE = "orders.sqlite3"
"""The SQLite file the app uses when told nothing else."""

DATABASE_ENV = "CQRS_LAB_API_DB"
"""The environment variable :func:`create_default_app` reads the SQLite file name from."""


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """How to build the app's own system: the SQLite file (or ``postgresql://`` URL), and how
    often SQLite waits for the disk."""

    database: str = DEFAULT_DATABASE
    synchronous: Synchronous = "FULL"

    @property
    def on_postgres(self) -> bool:
        """Whether ``database`` is a PostgreSQL URL rather than a SQLite file."""
        return self.database.lower().startswith(("postgresql://", "postgres://"))

    @classmethod
    def from_env(cls) -> ApiSettings:
        """Settings from ``CQRS_LAB_API_DB``: a file or a URL (read when called, not at import)."""
        return cls(database=os.environ.get(DATABASE_ENV, DEFAULT_DATABASE))


def create_app(system_or_settings: OrderBackend | ApiSettings | None = None) -> FastAPI:
    """The Order API over ``system_or_settings``: a wired system, or settings to build one.

    With settings (or nothing: :class:`ApiSettings` defaults) the app builds a SQLite or a
    PostgreSQL system and closes it on shutdown. Its lifespan starts the projector thread,
    unless it is running already or the system was built on PostgreSQL (``python -m cqrs_lab
    project`` projects there, in a process of its own), and stops what it started.
    """
    backend: OrderBackend | None = None
    settings: ApiSettings | None = None
    if system_or_settings is None or isinstance(system_or_settings, ApiSettings):
        settings = system_or_settings or ApiSettings()
    else:
        backend = system_or_settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        close: Callable[[], None] | None = None
        if settings is not None:
            built = _build(settings)
            app.state.backend, close = built, built.close
        projector = app.state.backend.projector
        # on PostgreSQL from settings, `python -m cqrs_lab project` projects, in its own process
        started_here = not projector.running and not (settings and settings.on_postgres)
        if started_here:
            projector.start()
        try:
            yield
        finally:
            if started_here:
                projector.stop()
            if close is not None:
                close()
                app.state.backend = None

    app = FastAPI(
        title="cqrs-lab Order API",
        summary="The CQRS playbook's Template 3, working: commands write events, queries read "
        "a projected view, and a write's position lets a client read its own write.",
        version="0.1.0",
        lifespan=lifespan,
    )
    install_error_handlers(app)

    app.state.backend = backend  # None until the lifespan builds it from settings
    app.include_router(router)
    return app


def _build(settings: ApiSettings) -> SqliteOrderSystem | PostgresOrderSystem:
    """The Order system ``settings`` name (PostgreSQL's needs the ``postgres`` extra)."""
    if settings.on_postgres:
        from cqrs_lab.examples.orders.postgres_app import build_postgres_order_system

        return build_postgres_order_system(settings.database)
    return build_sqlite_order_system(settings.database, synchronous=settings.synchronous)


def create_default_app() -> FastAPI:
    """The app on the SQLite file or PostgreSQL URL named by ``CQRS_LAB_API_DB`` (default
    ``orders.sqlite3``).

    The factory ``make api`` hands to uvicorn (``--factory``).
    """
    return create_app(ApiSettings.from_env())
