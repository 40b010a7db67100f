"""The mechanism both buses share: one handler per message type, middleware around dispatch.

A handler is a plain function or an object with ``handle()``; either may be ``async def``.
``dispatch`` runs from a script; ``await adispatch`` runs from a notebook cell or any coroutine.
Nothing here calls :func:`asyncio.run` inside a running loop.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from cqrs_lab.errors import AsyncHandlerError, DuplicateHandlerError, HandlerNotFoundError

__all__ = ["Handler", "MessageBus", "Middleware", "NextStep"]

M = TypeVar("M")
H = TypeVar("H", bound=Callable[..., Any])

NextStep = Callable[[Any], Any]
"""The rest of the pipeline: call it with the message to go on."""


class Middleware(Protocol):
    """Wraps dispatch: ``middleware(message, next_step)`` returns ``next_step(message)``, or not."""

    def __call__(self, message: Any, next_step: NextStep, /) -> Any:
        """Run around the rest of the pipeline."""
        ...


class _HasHandle(Protocol):
    def handle(self, message: Any, /) -> Any: ...


Handler = Callable[[Any], Any] | _HasHandle
"""A function of one message, or an object whose ``handle`` method is one."""


class MessageBus(Generic[M]):
    """Maps each message type to exactly one handler, with middleware around every dispatch."""

    kind = "message"

    def __init__(self, *, middleware: tuple[Middleware, ...] = ()) -> None:
        self._handlers: dict[type, Callable[[Any], Any]] = {}
        # the handlers a dispatch may call straight away: sync ones, while there is no middleware
        self._direct: dict[type, Callable[[Any], Any]] = {}
        self._async_types: set[type] = set()
        self._middleware: tuple[Middleware, ...] = ()
        self._pipeline: NextStep = self._call_handler
        for item in middleware:
            self.use(item)

    def register(self, message_type: type[M], handler: Handler) -> None:
        """Send messages of exactly ``message_type`` to ``handler``; one handler per type."""
        if not isinstance(message_type, type):
            raise TypeError(f"message_type must be a class, found {message_type!r}")
        if message_type in self._handlers:
            raise DuplicateHandlerError(
                f"{message_type.__name__} already has a handler "
                f"({_name(self._handlers[message_type])}); a {self.kind} type has exactly one"
            )
        function = getattr(handler, "handle", handler)
        if not callable(function):
            raise TypeError(f"a handler must be callable or have handle(), found {handler!r}")
        self._handlers[message_type] = function
        if inspect.iscoroutinefunction(function):
            self._async_types.add(message_type)
        elif not self._middleware:
            self._direct[message_type] = function

    def handles(self, message_type: type[M]) -> Callable[[H], H]:
        """Decorator form of :meth:`register`: ``@bus.handles(CreateOrder)``."""

        def decorate(handler: H) -> H:
            self.register(message_type, handler)
            return handler

        return decorate

    def use(self, middleware: Middleware) -> None:
        """Add middleware; the first added is the outermost."""
        self._middleware = (*self._middleware, middleware)
        self._direct.clear()  # every dispatch goes through the middleware now
        pipeline: NextStep = self._call_handler
        for outer in reversed(self._middleware):
            pipeline = _wrap(outer, pipeline)
        self._pipeline = pipeline

    @property
    def registered(self) -> list[str]:
        """Names of the message types with a handler, sorted."""
        return sorted(t.__name__ for t in self._handlers)

    def has_handler(self, message_type: type) -> bool:
        """Whether ``message_type`` has a handler."""
        return message_type in self._handlers

    def _call_handler(self, message: Any) -> Any:
        message_type = type(message)
        handler = self._handlers.get(message_type)
        if handler is None:
            raise HandlerNotFoundError(
                f"no handler for {message_type.__name__}; registered {self.kind} types: "
                f"{self.registered or 'none'}; register one with {type(self).__name__}.register"
            )
        if message_type in self._async_types:
            return _run_to_completion(handler(message), message_type.__name__)
        return handler(message)

    def _run(self, message: Any) -> Any:
        handler = self._direct.get(type(message))
        return handler(message) if handler is not None else self._pipeline(message)

    async def _arun(self, message: Any, run: Callable[[Any], Any]) -> Any:
        # a worker thread has no running loop, so async handlers can be run there to completion
        return await asyncio.to_thread(run, message)


def _wrap(middleware: Middleware, next_step: NextStep) -> NextStep:
    def step(message: Any) -> Any:
        return middleware(message, next_step)

    return step


def _run_to_completion(awaitable: Any, message_name: str) -> Any:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_await(awaitable))
    if inspect.iscoroutine(awaitable):
        awaitable.close()  # never started: closing it avoids a 'never awaited' warning
    raise AsyncHandlerError(
        f"the handler for {message_name} is async and an event loop is running here "
        "(a notebook cell or a coroutine); use `await bus.adispatch(message)` instead"
    )


async def _await(awaitable: Any) -> Any:
    return await awaitable


def _name(handler: Callable[..., Any]) -> str:
    return getattr(handler, "__qualname__", repr(handler))
