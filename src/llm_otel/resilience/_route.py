"""Routes: what a resilient wrapper calls, and the SDK clients behind them."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from llm_otel._log import warn_once


class CircuitOpenError(Exception):
    """Raised when every route's circuit breaker rejected the call and no provider was called."""

    def __init__(self, routes: Iterable[str]) -> None:
        self.routes = tuple(routes)
        super().__init__(f"circuit open for every route: {', '.join(self.routes)}")


class Route:
    """One way to answer: a name (its breaker's key), a callable, and keyword overrides.

    ``fallback_for`` names the verdict reasons this route accepts a fallback for beyond the
    ordinary ones, e.g. ``{"context_length"}`` for a larger-context model.

    Example::

        Route("openai:gpt-4o", client.chat.completions.create, model="gpt-4o")
    """

    __slots__ = ("call", "fallback_for", "is_async", "name", "overrides", "takes_timeout")

    def __init__(
        self, name: str, call: Callable[..., Any], /, *, fallback_for: Iterable[str] = (), **overrides: Any
    ) -> None:
        self.name = name
        self.call = call
        self.overrides: Mapping[str, Any] = overrides
        self.fallback_for = frozenset(fallback_for)
        self.is_async = _is_async(call)
        try:
            self.takes_timeout = "timeout" in inspect.signature(call).parameters
        except (TypeError, ValueError):
            self.takes_timeout = False
        retries = getattr(getattr(getattr(call, "__self__", None), "_client", None), "max_retries", 0)
        if isinstance(retries, int) and retries > 0:
            warn_once(
                f"resilience-sdk-retries:{name}",
                "llm-otel: route %r calls an SDK client with max_retries=%d: every attempt of ours is up to %d "
                "HTTP calls. Build the client with llm_otel.without_sdk_retries(client).",
                name,
                retries,
                retries + 1,
            )


def without_sdk_retries(client: Any) -> Any:
    """A copy of an openai/anthropic client with the SDK's own retries off (the wrapper retries).

    Build it once per client: ``with_options`` makes a new client object each time (it shares the
    HTTP connection pool).

    Example::

        client = llm_otel.without_sdk_retries(openai.OpenAI())
    """
    return client.with_options(max_retries=0)


def _is_async(call: Callable[..., Any]) -> bool:
    """Whether calling returns an awaitable: SDKs decorate ``async def`` methods with plain wrappers."""
    for candidate in (call, getattr(call, "__call__", None)):  # noqa: B004 - an object with an async __call__
        if candidate is not None and inspect.iscoroutinefunction(inspect.unwrap(candidate)):
            return True
    return False
