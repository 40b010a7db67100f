"""The query bus: one handler per query type, returning whatever the query asks for.

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True, kw_only=True)
... class Echo(Query):
...     text: str
>>> bus = QueryBus()
>>> bus.register(Echo, lambda query: query.text.upper())
>>> bus.dispatch(Echo(text="hi"))
'HI'
"""

from __future__ import annotations

from typing import Any

from cqrs_lab.errors import InvalidArgumentError
from cqrs_lab.handlers import MessageBus
from cqrs_lab.messages import Query

__all__ = ["QueryBus"]


class QueryBus(MessageBus):
    """Dispatches each query to its one handler and returns the handler's answer."""

    kind = "query"

    def dispatch(self, query: Query) -> Any:
        """Answer ``query`` from its handler (a missing result is the handler's ``None``)."""
        if not isinstance(query, Query):
            raise InvalidArgumentError(
                f"dispatch takes a Query, found {type(query).__name__}; "
                "commands go to the CommandBus"
            )
        return self.run(query, self._handle)

    def _handle(self, query: Query) -> Any:
        # looked up inside the middleware, so that it sees an unknown query's error too
        return self.handler_for(type(query))(query)
