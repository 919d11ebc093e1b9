"""Resilience signals: the wrapper's span and its events, the metrics, and the structured log events.

What changes on every call (attempts, breaker outcomes, wrapper outcomes, breaker state) is kept as
plain integers under a lock and read by observable instruments at collection; a synchronous
``Counter.add`` costs ~20 µs on a small machine, more than the rest of the wrapper. Only the rare
events (retries, fallbacks, transitions) are recorded as they happen.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

from opentelemetry import metrics, trace
from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider

from llm_otel._log import event, internal_error
from llm_otel._version import __version__
from llm_otel.telemetry import _names as n
from llm_otel.telemetry._instruments import PerMeterProvider

from ._breaker import CircuitBreaker, State, add_global_listener
from ._registry import all_breakers, call_counts

_F = TypeVar("_F", bound=Callable[..., Any])


def _contained(function: _F) -> _F:
    """Our telemetry failing must not fail the caller's call: log once and carry on."""

    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except Exception as err:
            internal_error(f"resilience {function.__name__}", err)
            return None

    return cast(_F, guarded)


def _observe_states(_options: CallbackOptions) -> Iterable[Observation]:
    for breaker in all_breakers():
        yield Observation(breaker.state.value, {n.BREAKER_NAME: breaker.name})


def _observe_breaker_calls(_options: CallbackOptions) -> Iterable[Observation]:
    for breaker in all_breakers():
        with breaker._lock:
            outcomes = list(breaker.outcomes.items())
        for outcome, count in outcomes:
            if count:
                yield Observation(count, {n.BREAKER_NAME: breaker.name, n.BREAKER_OUTCOME: outcome})


def _observe_attempts(_options: CallbackOptions) -> Iterable[Observation]:
    for breaker in all_breakers():
        with breaker._lock:
            attempts = list(breaker.attempts.items())
        for kind, count in attempts:
            attrs = {n.RESILIENCE_ROUTE: breaker.name}
            if kind:
                attrs[n.ERROR_TYPE] = kind
            yield Observation(count, attrs)


def _observe_calls(_options: CallbackOptions) -> Iterable[Observation]:
    for (name, outcome), count in call_counts().items():
        yield Observation(count, {n.RESILIENCE_NAME: name, n.RESILIENCE_OUTCOME: outcome})


class _Instruments:
    """The instruments of one MeterProvider, registered once (observable callbacks must not repeat)."""

    def __init__(self, meter_provider: MeterProvider) -> None:
        meter = metrics.get_meter(n.INSTRUMENTATION_SCOPE, __version__, meter_provider)
        self.retries = meter.create_counter(
            n.RESILIENCE_RETRIES, unit="{retry}", description="Retries scheduled, by route and error.type."
        )
        self.fallbacks = meter.create_counter(
            n.RESILIENCE_FALLBACKS, unit="{fallback}", description="Fallbacks from one route to another, by reason."
        )
        self.transitions = meter.create_counter(
            n.BREAKER_TRANSITIONS, unit="{transition}", description="Circuit breaker state transitions."
        )
        meter.create_observable_gauge(
            n.BREAKER_STATE,
            callbacks=[_observe_states],
            unit="1",
            description="Circuit breaker state: 0 closed, 1 open, 2 half-open.",
        )
        meter.create_observable_counter(
            n.BREAKER_CALLS,
            callbacks=[_observe_breaker_calls],
            unit="{call}",
            description="Calls seen by a circuit breaker, by outcome (success, failure, ignored, rejected, slow).",
        )
        meter.create_observable_counter(
            n.RESILIENCE_ATTEMPTS,
            callbacks=[_observe_attempts],
            unit="{attempt}",
            description="Provider calls made by resilient wrappers, by route and error.type (absent on success).",
        )
        meter.create_observable_counter(
            n.RESILIENCE_CALLS,
            callbacks=[_observe_calls],
            unit="{call}",
            description="Resilient calls, by wrapper name and outcome (success, failure, rejected).",
        )


_instruments_for = PerMeterProvider(_Instruments)


class ResilienceTelemetry:
    """What a resilient wrapper records into: a tracer and its MeterProvider's instruments."""

    __slots__ = ("instruments", "tracer")

    def __init__(self, tracer_provider: TracerProvider | None, meter_provider: MeterProvider | None) -> None:
        self.tracer = trace.get_tracer(n.INSTRUMENTATION_SCOPE, __version__, tracer_provider)
        self.instruments = _instruments_for(meter_provider)

    def start(self, name: str) -> Span:
        try:
            return self.tracer.start_span(
                f"{n.RESILIENT_SPAN} {name}", kind=SpanKind.INTERNAL, attributes={n.RESILIENCE_NAME: name}
            )
        except Exception as err:
            internal_error("resilience start", err)
            return trace.INVALID_SPAN

    @_contained
    def retry(self, span: Span, route: str, attempt: int, delay: float, kind: str, reason: str) -> None:
        span.add_event(n.EVENT_RETRY, {n.RESILIENCE_ATTEMPT: attempt, n.RESILIENCE_DELAY: delay, n.ERROR_TYPE: kind})
        self.instruments.retries.add(1, {n.RESILIENCE_ROUTE: route, n.ERROR_TYPE: kind})
        event(n.LOG_RETRY_SCHEDULED, route=route, reason=reason, attempt=attempt, delay=delay, error_type=kind)

    @_contained
    def fallback(self, span: Span, source: str, target: str, reason: str) -> None:
        span.add_event(
            n.EVENT_FALLBACK, {n.RESILIENCE_FROM: source, n.RESILIENCE_TO: target, n.RESILIENCE_REASON: reason}
        )
        self.instruments.fallbacks.add(
            1, {n.RESILIENCE_FROM: source, n.RESILIENCE_TO: target, n.RESILIENCE_REASON: reason}
        )
        event(n.LOG_FALLBACK_ACTIVATED, route=source, to=target, reason=reason)


@_contained
def exhausted(route: str, reason: str, attempts: int, cause: str) -> None:
    """Log that a route stopped being retried: ``cause`` is attempts, deadline, hint or fallback."""
    event(n.LOG_RETRY_EXHAUSTED, route=route, reason=reason, attempts=attempts, cause=cause)


@_contained
def rejected(span: Span, route: str) -> None:
    """A call the route's open breaker turned away without calling the provider."""
    span.add_event(n.EVENT_BREAKER_REJECTED, {n.BREAKER_NAME: route})


@_contained
def finish(span: Span, route: str | None, outcome: str, attempts: int, exc: BaseException | None, kind: str) -> None:
    """End the wrapper's span with the outcome, the route that answered and the attempts made."""
    if not span.is_recording():
        span.end()
        return
    attrs: dict[str, Any] = {n.RESILIENCE_OUTCOME: outcome, n.RESILIENCE_ATTEMPT_COUNT: attempts}
    if route is not None:
        attrs[n.RESILIENCE_ROUTE] = route
    if exc is not None:
        attrs[n.ERROR_TYPE] = kind
        span.set_status(Status(StatusCode.ERROR, str(exc)[:200]))
    span.set_attributes(attrs)
    span.end()


def _on_transition(breaker: CircuitBreaker, old: State, new: State, reason: str) -> None:
    attrs = {n.BREAKER_NAME: breaker.name, n.BREAKER_FROM_STATE: old.label, n.BREAKER_TO_STATE: new.label}
    for instruments in _instruments_for.made():  # breakers are process-wide: every MeterProvider sees them
        instruments.transitions.add(1, attrs)
    level = logging.WARNING if new is State.OPEN else logging.INFO
    event(
        n.LOG_BREAKER_STATE_CHANGE,
        level,
        route=breaker.name,
        reason=reason,
        from_state=old.label,
        to_state=new.label,
    )


add_global_listener(_on_transition)
