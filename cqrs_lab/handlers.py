"""What both buses share: one handler per message type, and middleware around each dispatch.

A handler is a function of one message, or an object whose ``handle`` method is one. Every
dispatch takes the same path: the handler, wrapped in the middleware.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from cqrs_lab.errors import DuplicateHandlerError, HandlerNotFoundError, InvalidArgumentError

__all__ = ["Handler", "MessageBus", "Middleware", "NextStep"]

H = TypeVar("H")

NextStep = Callable[[Any], Any]
"""The rest of the pipeline: call it with the message to go on."""


Middleware = Callable[[Any, NextStep], Any]
"""Wraps dispatch: ``middleware(message, next_step)`` returns ``next_step(message)``, or not."""


Handler = Callable[[Any], Any]
"""A function of one message, or the ``handle`` method of an object."""


class MessageBus:
    """Maps each message type to exactly one handler, with middleware around every dispatch."""

    kind = "message"

    def __init__(self, *, middleware: tuple[Middleware, ...] = ()) -> None:
        self._handlers: dict[type, Handler] = {}
        self._middleware: list[Middleware] = list(middleware)

    def register(self, message_type: type, handler: Any) -> None:
        """Send messages of exactly ``message_type`` to ``handler``; one handler per type."""
        if not isinstance(message_type, type):
            raise InvalidArgumentError(f"message_type must be a class, found {message_type!r}")
        if message_type in self._handlers:
            raise DuplicateHandlerError(
                f"{message_type.__name__} already has a handler "
                f"({_name(self._handlers[message_type])}); a {self.kind} type has exactly one"
            )
        function = getattr(handler, "handle", handler)
        if not callable(function):
            raise InvalidArgumentError(
                f"a handler must be callable or have handle(), found {handler!r}"
            )
        call = type(function).__call__  # an object whose own __call__ is async is refused too
        if inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(call):
            raise InvalidArgumentError(
                f"the handler for {message_type.__name__} is async ({_name(function)}); "
                "the buses call handlers synchronously: write it as a plain def"
            )
        self._handlers[message_type] = function

    def handles(self, message_type: type) -> Callable[[H], H]:
        """Decorator form of :meth:`register`: ``@bus.handles(CreateOrder)``."""

        def decorate(handler: H) -> H:
            self.register(message_type, handler)
            return handler

        return decorate

    def use(self, middleware: Middleware) -> None:
        """Add middleware; the first added is the outermost."""
        self._middleware.append(middleware)

    @property
    def registered(self) -> list[str]:
        """Names of the message types with a handler, sorted."""
        return sorted(t.__name__ for t in self._handlers)

    def handler_for(self, message_type: type) -> Handler:
        """The handler of ``message_type``; :class:`HandlerNotFoundError` if there is none."""
        handler = self._handlers.get(message_type)
        if handler is None:
            raise HandlerNotFoundError(
                f"no handler for {message_type.__name__}; registered {self.kind} types: "
                f"{self.registered or 'none'}; register one with {type(self).__name__}.register"
            )
        return handler

    def run(self, message: Any, handler: Handler) -> Any:
        """Call ``handler(message)`` inside every middleware, the first added outermost."""
        next_step: NextStep = handler
        for middleware in reversed(self._middleware):
            next_step = _wrap(middleware, next_step)
        return next_step(message)


def _wrap(middleware: Middleware, next_step: NextStep) -> NextStep:
    def step(message: Any) -> Any:
        return middleware(message, next_step)

    return step


def _name(handler: object) -> str:
    return getattr(handler, "__qualname__", repr(handler))
