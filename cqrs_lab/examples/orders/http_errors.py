"""How the Order API answers a refused request: 422 naming the field, 404, 409 -- never a 500.

FastAPI's own 422 handler echoes each refused value back in the error's ``input``. Some values
a request can carry cannot be written back as strict JSON: ``NaN``, ``Infinity`` or ``1e400``
(a float too large, read as infinity), or a string holding a lone surrogate (``"\\ud800"``).
The echo then fails and the client gets a 500 for a request that was correctly refused.
:func:`validation_failed` answers the same 422 with every refused value made JSON-safe first
(:func:`json_safe`). And a body FastAPI cannot even parse as JSON -- bytes that are not UTF-8,
a number of 5,000 digits, lists nested past the recursion limit -- is its ordinary 422
``json_invalid`` too, rather than a 400 without a field (:class:`JsonBodyRoute`).

>>> json_safe({"price": float("nan"), "name": "a\\ud800", "lines": (1, float("-inf"))})
{'price': 'nan', 'name': 'a\\\\ud800', 'lines': [1, '-inf']}
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi import status as http
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from cqrs_lab.errors import ConcurrencyError, DomainError, InvalidQueryError
from cqrs_lab.examples.orders.handlers import OrderNotFoundError

__all__ = [
    "JsonBodyRoute",
    "JsonRequest",
    "install_error_handlers",
    "json_safe",
    "validation_failed",
]

UNPROCESSABLE = 422  # the constant's name changed between Starlette versions


def json_safe(value: object) -> Any:
    """``value`` with every part strict JSON cannot hold turned into text that shows it.

    A non-finite float becomes its ``repr`` (``'nan'``, ``'inf'``), a lone surrogate its
    ``\\udXXX`` escape, bytes their UTF-8 text (bad bytes escaped), anything else its ``str``.
    """
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if isinstance(value, dict):
        return {json_safe(str(key)): json_safe(part) for key, part in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(part) for part in value]
    return json_safe(str(value))


def _error(error: dict[str, Any]) -> dict[str, Any]:
    shown = {
        "loc": [json_safe(part) for part in error["loc"]],
        "msg": json_safe(error["msg"]),
        "type": json_safe(error["type"]),
    }
    if "input" in error:
        shown["input"] = json_safe(error["input"])
    if isinstance(error.get("ctx"), dict):
        shown["ctx"] = json_safe(error["ctx"])
    return shown


def validation_failed(request: Request, error: Exception) -> JSONResponse:
    """422 listing each refused field: where (``loc``), why (``msg``) and what came (``input``)."""
    errors = error.errors() if isinstance(error, RequestValidationError) else []
    return JSONResponse(status_code=UNPROCESSABLE, content={"detail": [_error(e) for e in errors]})


class JsonRequest(Request):
    """A request whose body, if it is not JSON text, fails as JSON does (FastAPI answers 422).

    FastAPI turns only a ``json.JSONDecodeError`` into its 422 ``json_invalid``; any other
    failure to read the body (``UnicodeDecodeError``, a ``ValueError`` for a number too long to
    convert, ``RecursionError``) it answers with a bare 400.
    """

    async def json(self) -> Any:
        """The body parsed as UTF-8 JSON text; anything else raises ``json.JSONDecodeError``."""
        body = await self.body()
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as error:
            problem = f"expected UTF-8 text, found byte {body[error.start]:#04x}"
            raise json.JSONDecodeError(problem, "", error.start) from error
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise
        except (ValueError, RecursionError) as error:
            raise json.JSONDecodeError(
                f"expected JSON Python can read: {error}", text, 0
            ) from error


class JsonBodyRoute(APIRoute):
    """A route that reads its body through :class:`JsonRequest` (FastAPI's custom route class)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """FastAPI's handler, given the request as a :class:`JsonRequest`."""
        handler = super().get_route_handler()

        async def read_json_strictly(request: Request) -> Response:
            return await handler(JsonRequest(request.scope, request.receive))

        return read_json_strictly


def _invalid_query(request: Request, error: Exception) -> JSONResponse:
    message = json_safe(str(error))
    field = message.split(" ", 1)[0]  # the query's messages open with the argument's name
    location = ["query", field] if field.isidentifier() else ["query"]
    return JSONResponse(
        status_code=UNPROCESSABLE,
        content={"detail": [{"loc": location, "msg": message, "type": "invalid_query"}]},
    )


def _conflict(request: Request, error: Exception) -> JSONResponse:
    return JSONResponse(
        status_code=http.HTTP_409_CONFLICT, content={"detail": json_safe(str(error))}
    )


def _not_found(request: Request, error: Exception) -> JSONResponse:
    return JSONResponse(
        status_code=http.HTTP_404_NOT_FOUND, content={"detail": json_safe(str(error))}
    )


def install_error_handlers(app: FastAPI) -> None:
    """Answer refused requests on ``app``: 422 (fields, query arguments), 404, 409."""
    app.add_exception_handler(RequestValidationError, validation_failed)
    app.add_exception_handler(InvalidQueryError, _invalid_query)
    app.add_exception_handler(OrderNotFoundError, _not_found)
    app.add_exception_handler(DomainError, _conflict)
    app.add_exception_handler(ConcurrencyError, _conflict)
