"""Adapters beside the core: SQLite persistence here, and the Order example's HTTP app elsewhere.

They implement the core's protocols (:class:`~cqrs_lab.event_store.EventStore`,
:class:`~cqrs_lab.projection.ReadModel`) and pass the same contract tests as the in-memory parts.
Only the standard library's :mod:`sqlite3` is needed; importing this package starts nothing.
The PostgreSQL adapters (``postgres_store``, ``postgres_read_model``, ``postgres_listener``,
``postgres_runner``) need the ``postgres`` extra and are imported by their module names.
What the SQLite and PostgreSQL adapters share, and nothing database-specific, lives in
``sql_events`` (the event stores' append checks and row decoding) and ``sql_read_model`` (the
read models' statements and plain reads).
"""

from cqrs_lab.adapters.sqlite_database import SqliteDatabase, check_identifier
from cqrs_lab.adapters.sqlite_read_model import SqliteReadModel
from cqrs_lab.adapters.sqlite_same_transaction import SameTransactionStore
from cqrs_lab.adapters.sqlite_store import SqliteEventStore

__all__ = [
    "SameTransactionStore",
    "SqliteDatabase",
    "SqliteEventStore",
    "SqliteReadModel",
    "check_identifier",
]
