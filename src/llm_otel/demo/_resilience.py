"""The demo's resilience phase: a fault burst trips the primary route's breaker, calls fall back, it recovers.

Every signal of it is real: the ``resilient demo`` spans and their events, the
``llm_otel.resilience.*`` and ``llm_otel.circuit_breaker.*`` series on /metrics, the structured
log events, and the per-attempt call spans and metrics of the instrumentation.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from llm_otel.fake import Behavior, FakeProvider
from llm_otel.resilience import BreakerPolicy, CircuitBreaker, RetryPolicy, Route, State, get_breaker, resilient

from ._workload import Tally

# Models the main workload does not use, so that its burst of faults reaches only this phase's calls
# while the workload runs beside it (``--keep-serving``).
PRIMARY, BACKUP = "gpt-4.1-mini", "gpt-4.1"
BURST = 3  # 503s in a row on the primary: exactly what its breaker tolerates
CALLS_BEFORE, CALLS_AFTER = 8, 3
POLICY = BreakerPolicy(consecutive_failures=BURST, open_for=0.5, open_jitter=0.0, half_open_calls=1)


@dataclass
class Phase:
    """What the phase did: answers by route, the primary breaker's transitions, rejections."""

    answered: Counter[str] = field(default_factory=Counter)
    transitions: list[tuple[str, str, str]] = field(default_factory=list)
    rejected: int = 0


def run(
    provider: FakeProvider,
    client: Any,
    tally: Tally,
    stop: threading.Event,
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
) -> Phase:
    """Run the phase; provider calls are added to ``tally`` as the workload's are (one per attempt)."""
    primary = Route(f"demo:{PRIMARY}", client.chat.completions.create, model=PRIMARY)
    backup = Route(f"demo:{BACKUP}", client.chat.completions.create, model=BACKUP)
    chat = resilient(
        primary,
        backup,
        name="demo",
        retry=RetryPolicy(attempts=2, base=0.01, cap=0.02),
        breaker=POLICY,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    )
    breakers = [get_breaker(route.name, POLICY) for route in (primary, backup)]
    for breaker in breakers:
        breaker.reset()  # a fresh start when the demo runs twice in one process
    before = [dict(breaker.attempts) for breaker in breakers]
    rejected_before = breakers[0].outcomes["rejected"]
    phase = Phase()
    breakers[0].add_listener(lambda _b, old, new, reason: phase.transitions.append((old.label, new.label, reason)))
    provider.push(Behavior(status=503), times=BURST, model=PRIMARY)
    messages = [{"role": "user", "content": "Summarise the incident in one line"}]
    for _ in range(CALLS_BEFORE):
        phase.answered[chat(messages=messages).model] += 1
    stop.wait(POLICY.open_for)  # the breaker's wait, so that the next call is its half-open trial
    for _ in range(CALLS_AFTER):
        phase.answered[chat(messages=messages).model] += 1
    phase.rejected = breakers[0].outcomes["rejected"] - rejected_before
    for breaker, earlier in zip(breakers, before, strict=True):
        _count(tally, breaker, earlier)
    return phase


def _count(tally: Tally, breaker: CircuitBreaker, earlier: dict[str, int]) -> None:
    for kind, count in breaker.attempts.items():
        for _ in range(count - earlier.get(kind, 0)):
            tally.add("chat", kind.rpartition(".")[2] or None)


def render(phase: Phase) -> str:
    """Two lines for the demo's closing summary."""
    total = sum(phase.answered.values())
    path = " -> ".join([State.CLOSED.label] + [f"{new} ({reason})" for _old, new, reason in phase.transitions])
    return (
        f"resilience: {total} calls through demo:{PRIMARY} -> demo:{BACKUP}: "
        f"{phase.answered[BACKUP]} answered by the fallback, {phase.rejected} rejected by the open breaker "
        f"without a provider call\n"
        f"breaker demo:{PRIMARY}: {path}"
    )
