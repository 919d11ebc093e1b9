"""Resilience for LLM calls: retry, circuit breaker, fallback and timeouts, themselves instrumented.

Example::

    import openai
    import llm_otel
    from llm_otel.resilience import Route

    client = llm_otel.without_sdk_retries(openai.OpenAI())
    chat = llm_otel.resilient(
        Route("openai:gpt-4o-mini", client.chat.completions.create, model="gpt-4o-mini"),
        Route("openai:gpt-4o", client.chat.completions.create, model="gpt-4o"),
        deadline=30,
    )
    reply = chat(messages=[{"role": "user", "content": "hello"}])

See docs/resilience.md for the defaults, the error table and the signals.
"""

from ._breaker import BreakerPolicy, CircuitBreaker, Permit, State
from ._classify import Verdict, classify
from ._registry import breaker_states, clear_breakers, get_breaker
from ._resilient import Resilient, resilient
from ._retry import Clock, RetryPolicy, SystemClock
from ._route import CircuitOpenError, Route, without_sdk_retries
from ._telemetry import ResilienceTelemetry  # noqa: F401 - registers the breaker listener on import

__all__ = [
    "BreakerPolicy",
    "CircuitBreaker",
    "CircuitOpenError",
    "Clock",
    "Permit",
    "Resilient",
    "RetryPolicy",
    "Route",
    "State",
    "SystemClock",
    "Verdict",
    "breaker_states",
    "classify",
    "clear_breakers",
    "get_breaker",
    "resilient",
    "without_sdk_retries",
]
