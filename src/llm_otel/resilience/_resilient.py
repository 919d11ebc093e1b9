"""`resilient(...)`: routes tried in order, each with retries behind its circuit breaker.

The decisions (classify, retry or fall back, breaker bookkeeping, telemetry) live in `_Call`;
the sync and async loops around it differ only in how they call, read ahead and wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable
from contextvars import Token
from typing import Any, overload

from opentelemetry import context, trace
from opentelemetry.context import Context
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from llm_otel.telemetry import _names as n
from llm_otel.telemetry._record import error_type

from . import _stream
from ._breaker import BreakerPolicy, CircuitBreaker, Permit, State
from ._classify import CIRCUIT_OPEN, Classifier, Verdict, verdict_for
from ._hints import retry_hint
from ._registry import count_call, epoch, get_breaker
from ._retry import SYSTEM_CLOCK, Clock, RetryPolicy, SystemClock
from ._route import CircuitOpenError, Route
from ._telemetry import ResilienceTelemetry, exhausted, finish, rejected

_FAST_FALLBACK = frozenset({"rate_limited", "overloaded"})


class _Call:
    """One resilient call in progress: its span, breaker permits, hops and outcome."""

    __slots__ = ("attempts", "deadline_at", "hops", "last", "owner", "route", "span", "token")

    def __init__(self, owner: Resilient) -> None:
        self.owner = owner
        self.span = owner._telemetry.start(owner.name)
        self.token: Token[Context] | None = context.attach(trace.set_span_in_context(self.span))
        now = owner._now()
        self.deadline_at = None if owner.deadline is None else now + owner.deadline
        self.attempts = 0
        self.hops: list[str] = []
        self.last: BaseException | None = None
        self.route: str | None = None

    def remaining(self) -> float | None:
        return None if self.deadline_at is None else self.deadline_at - self.owner._now()

    def kwargs(self, route: Route, kwargs: dict[str, Any]) -> tuple[dict[str, Any], float | None]:
        """The route's keyword arguments, and the attempt's time limit."""
        merged = {**kwargs, **route.overrides} if route.overrides else dict(kwargs)
        limit = self.owner.attempt_timeout
        remaining = self.remaining()
        if remaining is not None:
            limit = remaining if limit is None else min(limit, remaining)
        if limit is not None and route.takes_timeout:
            given = merged.get("timeout")
            merged["timeout"] = min(given, limit) if isinstance(given, int | float) else limit
        return merged, limit

    def admit(self, index: int, breaker: CircuitBreaker) -> Permit | None:
        permit = breaker.acquire()
        if permit is None:
            route = self.owner.routes[index].name
            rejected(self.span, route)
            self.hops.append(f"{route}: circuit open")
        else:
            self.attempts += 1
        return permit

    def failed(
        self, index: int, attempt: int, breaker: CircuitBreaker, permit: Permit, exc: Exception, took: float
    ) -> tuple[float | None, int | None]:
        """After a failed attempt: (delay, None) retries the route, (None, index) falls back, (None, None) raises."""
        owner = self.owner
        route = owner.routes[index]
        verdict = verdict_for(exc, owner.classify)
        kind = error_type(exc)
        hint = retry_hint(exc, time.time()) if verdict.retry or verdict.failure else None
        breaker.record(
            permit, failed=verdict.failure, ignored=not verdict.failure, duration=took, error_type=kind, hint=hint
        )
        self.last = exc
        self.hops.append(f"{route.name}: {kind}")
        if verdict.retry:
            delay, cause = self._retry_delay(index, attempt, verdict, hint)
            if delay is not None:
                owner._telemetry.retry(self.span, route.name, attempt, delay, kind, verdict.reason)
                return delay, None
            exhausted(route.name, verdict.reason, attempt, cause)
        return None, self.fallback(index, verdict)

    def _retry_delay(self, index: int, attempt: int, verdict: Verdict, hint: float | None) -> tuple[float | None, str]:
        policy = self.owner.retry
        if attempt >= policy.attempts:
            return None, "attempts"
        if policy.prefer_fallback and verdict.reason in _FAST_FALLBACK and self._healthy(index + 1):
            return None, "fallback"
        delay = policy.delay(attempt, hint)
        if delay is None:
            return None, "hint"
        remaining = self.remaining()
        if remaining is not None and delay >= remaining:
            return None, "deadline"
        return delay, ""

    def _healthy(self, index: int) -> bool:
        routes = self.owner.routes
        return index < len(routes) and self.owner._breaker(routes[index]).state is State.CLOSED

    def fallback(self, index: int, verdict: Verdict) -> int | None:
        """The index of the route to fall back to (recording the fallback), or None."""
        routes = self.owner.routes
        target = None
        if verdict.fallback == "any" and index + 1 < len(routes):
            target = index + 1
        elif verdict.fallback == "marked":
            target = next((j for j in range(index + 1, len(routes)) if verdict.reason in routes[j].fallback_for), None)
        remaining = self.remaining()
        if target is None or (remaining is not None and remaining <= 0):
            return None
        self.owner._telemetry.fallback(self.span, routes[index].name, routes[target].name, verdict.reason)
        return target

    def succeeded(self, route: Route, breaker: CircuitBreaker, permit: Permit, took: float) -> None:
        breaker.record(permit, failed=False, duration=took)
        self.route = route.name
        self._end(n.OUTCOME_SUCCESS, None)

    def give_up(self) -> BaseException:
        """The exception for the caller: the last provider exception (with the hops as a note), or ours."""
        exc = self.last if self.last is not None else CircuitOpenError(r.name for r in self.owner.routes)
        if self.last is not None and hasattr(exc, "add_note"):
            exc.add_note("llm-otel resilient " + self.owner.name + ": " + "; ".join(self.hops))
        self._end(n.OUTCOME_FAILURE if self.last is not None else n.OUTCOME_REJECTED, exc)
        return exc

    def interrupted(self, exc: BaseException) -> None:
        self._end(n.OUTCOME_FAILURE, exc)

    def _end(self, outcome: str, exc: BaseException | None) -> None:
        if self.token is None:
            return  # already ended: an interruption after give_up or succeeded
        context.detach(self.token)
        self.token = None
        finish(self.span, self.route, outcome, self.attempts, exc, "" if exc is None else error_type(exc))
        count_call(self.owner.name, outcome)


class Resilient:
    """A callable trying its routes in order; built by `resilient`. Awaitable when its routes are async."""

    def __init__(
        self,
        routes: Iterable[Route | Callable[..., Any]],
        *,
        name: str | None,
        retry: RetryPolicy,
        breaker: BreakerPolicy,
        attempt_timeout: float | None,
        deadline: float | None,
        classify: Classifier | None,
        clock: Clock,
        tracer_provider: TracerProvider | None,
        meter_provider: MeterProvider | None,
    ) -> None:
        self.routes = tuple(
            r if isinstance(r, Route) else Route(getattr(r, "__qualname__", repr(r)), r) for r in routes
        )
        if not self.routes:
            raise ValueError("resilient() needs at least one route")
        if len({r.is_async for r in self.routes}) != 1:
            raise TypeError("the routes of one resilient() must be all sync or all async")
        self.name = name or self.routes[0].name
        self.retry = retry
        self.breaker_policy = breaker
        self.attempt_timeout = attempt_timeout
        self.deadline = deadline
        self.classify = classify
        self._clock = clock
        # The system clock's bound method costs a Python call per reading; the breakers and the
        # wrapper read the clock several times per call.
        self._now: Callable[[], float] = time.monotonic if isinstance(clock, SystemClock) else clock.now
        self._telemetry = ResilienceTelemetry(tracer_provider, meter_provider)
        self._async = self.routes[0].is_async
        self._epoch = -1
        self._breakers: dict[str, CircuitBreaker] = {}

    def _breaker(self, route: Route) -> CircuitBreaker:
        """The route's shared breaker, cached until the registry forgets one."""
        if self._epoch != epoch():
            self._epoch = epoch()
            self._breakers = {}
        found = self._breakers.get(route.name)
        if found is None:
            found = self._breakers[route.name] = get_breaker(route.name, self.breaker_policy, clock=self._now)
        return found

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._acall(args, kwargs) if self._async else self._call(args, kwargs)

    def _call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        call = _Call(self)
        index: int | None = 0
        try:
            while index is not None:
                route = self.routes[index]
                breaker = self._breaker(route)
                attempt = 0
                while True:
                    permit = call.admit(index, breaker)
                    if permit is None:
                        index = call.fallback(index, CIRCUIT_OPEN)
                        break
                    attempt += 1
                    merged, _limit = call.kwargs(route, kwargs)
                    started = self._now()
                    try:
                        result = _settled(route.call(*args, **merged))
                    except Exception as exc:
                        delay, target = call.failed(index, attempt, breaker, permit, exc, self._now() - started)
                        if delay is None:
                            index = target
                            break
                        self._clock.sleep(delay)
                        continue
                    except BaseException:
                        breaker.release(permit)
                        raise
                    call.succeeded(route, breaker, permit, self._now() - started)
                    return result
        except BaseException as exc:
            call.interrupted(exc)
            raise
        raise call.give_up()

    async def _acall(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        call = _Call(self)
        index: int | None = 0
        try:
            while index is not None:
                route = self.routes[index]
                breaker = self._breaker(route)
                attempt = 0
                while True:
                    permit = call.admit(index, breaker)
                    if permit is None:
                        index = call.fallback(index, CIRCUIT_OPEN)
                        break
                    attempt += 1
                    merged, limit = call.kwargs(route, kwargs)
                    started = self._now()
                    try:
                        result = await _within(limit, _asettled(route.call(*args, **merged)))
                    except Exception as exc:
                        delay, target = call.failed(index, attempt, breaker, permit, exc, self._now() - started)
                        if delay is None:
                            index = target
                            break
                        await self._clock.asleep(delay)
                        continue
                    except BaseException:
                        breaker.release(permit)
                        raise
                    call.succeeded(route, breaker, permit, self._now() - started)
                    return result
        except BaseException as exc:
            call.interrupted(exc)
            raise
        raise call.give_up()


def _settled(result: Any) -> Any:
    """A stream read ahead to its commit point (failing here may still retry), else the result."""
    if not _stream.is_stream(result):
        return result
    try:
        preface, ended = _stream.read_ahead(result)
    except BaseException:
        with contextlib.suppress(Exception):
            _stream.discard(result)
        raise
    return _stream.Replay(result, preface, ended)


async def _asettled(pending: Awaitable[Any]) -> Any:
    """Async twin of `_settled`."""
    result = await pending
    if not _stream.is_async_stream(result):
        return result
    try:
        preface, ended = await _stream.aread_ahead(result)
    except BaseException:
        with contextlib.suppress(Exception):
            await _stream.adiscard(result)
        raise
    return _stream.AsyncReplay(result, preface, ended)


async def _within(limit: float | None, attempt: Awaitable[Any]) -> Any:
    """The attempt, its call and read-ahead together, cut off after ``limit`` seconds."""
    if limit is None:
        return await attempt
    return await asyncio.wait_for(attempt, limit)


@overload
def resilient(
    *,
    name: str | None = None,
    retry: RetryPolicy = ...,
    breaker: BreakerPolicy = ...,
    attempt_timeout: float | None = None,
    deadline: float | None = None,
    classify: Classifier | None = None,
    clock: Clock = ...,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
) -> Callable[[Callable[..., Any]], Resilient]: ...


@overload
def resilient(
    route: Route | Callable[..., Any],
    /,
    *routes: Route | Callable[..., Any],
    name: str | None = None,
    retry: RetryPolicy = ...,
    breaker: BreakerPolicy = ...,
    attempt_timeout: float | None = None,
    deadline: float | None = None,
    classify: Classifier | None = None,
    clock: Clock = ...,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
) -> Resilient: ...


def resilient(
    *routes: Route | Callable[..., Any],
    name: str | None = None,
    retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, shared safely
    breaker: BreakerPolicy = BreakerPolicy(),  # noqa: B008 - frozen, shared safely
    attempt_timeout: float | None = None,
    deadline: float | None = None,
    classify: Classifier | None = None,
    clock: Clock = SYSTEM_CLOCK,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
) -> Any:
    """Call ``routes`` in order, each retried behind its circuit breaker, within one deadline.

    Calling the result calls the first route with the caller's arguments (plus the route's
    overrides); a retryable failure is retried per ``retry``; a fallback-worthy one, or an open
    breaker, moves on to the next route; the last provider exception reaches the caller unchanged
    (a note lists the hops). ``attempt_timeout`` bounds each attempt (the SDK's ``timeout=``, and
    ``asyncio`` for async routes); ``deadline`` bounds the whole call, retries and fallbacks
    included. ``classify`` may override the built-in error table. Async routes make an awaitable
    wrapper. Without routes, it is a decorator making the function its one route.

    Example::

        chat = llm_otel.resilient(
            Route("openai:gpt-4o-mini", client.chat.completions.create, model="gpt-4o-mini"),
            Route("openai:gpt-4o", client.chat.completions.create, model="gpt-4o"),
            deadline=30,
        )
        reply = chat(messages=[{"role": "user", "content": "hello"}])
    """
    options: dict[str, Any] = {
        "name": name,
        "retry": retry,
        "breaker": breaker,
        "attempt_timeout": attempt_timeout,
        "deadline": deadline,
        "classify": classify,
        "clock": clock,
        "tracer_provider": tracer_provider,
        "meter_provider": meter_provider,
    }
    if routes:
        return Resilient(routes, **options)

    def decorate(function: Callable[..., Any]) -> Resilient:
        return Resilient((function,), **options)

    return decorate
