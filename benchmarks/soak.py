"""Soak: 10,000 resilient calls under a random fault schedule, sync threads and async tasks together.

Two routes (``soak:primary`` -> ``soak:backup``) on the fake provider, through the real openai SDK,
shared by a sync wrapper driven from a thread pool and an async wrapper driven by asyncio tasks
at the same time (same route names, so the same breakers). The primary route suffers bursts of
faults that trip its breaker; both have a background rate of 429s, 5xx, hangs and dropped streams.

Then the books must balance, exactly:

- the fake server's own request log, per route and error, equals ``llm_otel.resilience.attempts``;
- the driver's own tally of calls equals ``llm_otel.resilience.calls``, 10,000 in all;
- ``llm_otel.resilience.retries`` / ``fallbacks`` equal the ``retry`` / ``fallback`` span events;
- ``llm_otel.circuit_breaker.transitions`` equals the ``circuit_breaker.state_change`` log lines,
  and those transitions form one path from ``closed`` to the breaker's current state.

    .venv/bin/python benchmarks/soak.py [--calls 10000] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import openai
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llm_otel.fake import Behavior, FakeProvider
from llm_otel.resilience import BreakerPolicy, CircuitOpenError, RetryPolicy, Route, breaker_states, resilient
from llm_otel.telemetry import _names as n

MESSAGES = [{"role": "user", "content": "soak"}]
ATTEMPT_TIMEOUT = 1.0  # far above a loaded loopback call, so that only the injected hangs time out
# (behaviour, weight) of a faulty attempt; the rest of the time the provider is healthy.
FAULTS = (
    (Behavior(status=429, retry_after=0.005), 3),
    (Behavior(status=500), 3),
    (Behavior(status=503), 3),
    (Behavior(hang=3.0), 1),  # cut by the attempt timeout
)
STREAM_DROP = Behavior(drop_after_chunks=1)  # before the first content: retried or fallen back


class Schedule:
    """Which behaviour the next attempt on a route meets: seeded, with bursts on the primary.

    ``invoked`` is the call log on our side: every attempt on a route calls its function once.
    """

    def __init__(self, seed: int, calls: int) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._calls = calls
        self.started = 0
        self.invoked: Counter[str] = Counter()

    def behavior(self, model: str, stream: bool) -> Behavior:
        with self._lock:
            self.invoked[f"soak:{model}"] += 1
            progress = self.started / self._calls
            roll, pick = self._rng.random(), self._rng.random()
        burst = model == "primary" and (0.2 <= progress < 0.26 or 0.6 <= progress < 0.65)
        rate = 0.9 if burst else 0.04 if model == "primary" else 0.02
        if roll >= rate:
            return Behavior(output_tokens=4)
        if stream and pick < 0.3:
            return STREAM_DROP
        total = sum(weight for _, weight in FAULTS)
        pick *= total
        for fault, weight in FAULTS:
            if pick < weight:
                return fault
            pick -= weight
        return FAULTS[-1][0]


class Events(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.transitions: Counter[tuple[str, str, str]] = Counter()  # guarded by the handler's own lock

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "llm_otel_event", None) == n.LOG_BREAKER_STATE_CHANGE:
            fields: Any = record.llm_otel_fields  # type: ignore[attr-defined]
            self.transitions[(fields["route"], fields["from_state"], fields["to_state"])] += 1


def routes(client: Any, schedule: Schedule) -> list[Route]:
    def route(model: str) -> Route:
        create = client.chat.completions.create
        if isinstance(client, openai.AsyncOpenAI):

            async def acall(timeout: float, **kwargs: Any) -> Any:
                headers = schedule.behavior(model, bool(kwargs.get("stream"))).header()
                return await create(model=model, extra_headers=headers, timeout=timeout, **kwargs)

            return Route(f"soak:{model}", acall)

        def call(timeout: float, **kwargs: Any) -> Any:
            headers = schedule.behavior(model, bool(kwargs.get("stream"))).header()
            return create(model=model, extra_headers=headers, timeout=timeout, **kwargs)

        return Route(f"soak:{model}", call)

    return [route("primary"), route("backup")]


def expected_error(behavior: Behavior) -> str:
    if behavior.status == 429:
        return "openai.RateLimitError"
    if behavior.status:
        return "openai.InternalServerError"
    if behavior.hang:
        return "timeout"  # the SDK's APITimeoutError, or asyncio's TimeoutError when it fires first
    if behavior.drop_after_chunks is not None:
        return "openai.APIConnectionError"
    return ""


def points(reader: InMemoryMetricReader, name: str) -> dict[frozenset[tuple[str, Any]], int]:
    data = reader.get_metrics_data()
    found: dict[frozenset[tuple[str, Any]], int] = {}
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == name:
                    for point in metric.data.data_points:
                        found[frozenset(dict(point.attributes or {}).items())] = int(point.value)  # type: ignore[union-attr]
    return found


class Driver:
    """Makes the calls and keeps the driver's own tally of how each one ended."""

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        self.tally: Counter[str] = Counter()
        self._lock = threading.Lock()

    def _record(self, outcome: str) -> None:
        with self._lock:
            self.tally[outcome] += 1

    def _start(self) -> None:
        with self.schedule._lock:
            self.schedule.started += 1

    def one_sync(self, chat: Any, index: int) -> None:
        self._start()
        stream = index % 5 == 0
        try:
            reply = chat(messages=MESSAGES, stream=stream)
        except CircuitOpenError:
            return self._record("rejected")
        except Exception:
            return self._record("failure")
        try:
            if stream:
                list(reply)
        except Exception:
            return self._record("broken_after_commit")
        return self._record("success")

    async def one_async(self, chat: Any, index: int, gate: asyncio.Semaphore) -> None:
        async with gate:
            self._start()
            stream = index % 5 == 0
            try:
                reply = await chat(messages=MESSAGES, stream=stream)
            except CircuitOpenError:
                return self._record("rejected")
            except Exception:
                return self._record("failure")
            try:
                if stream:
                    async for _ in reply:
                        pass
            except Exception:
                return self._record("broken_after_commit")
            return self._record("success")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    async_calls = args.calls * 3 // 10

    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    events = Events()
    logger = logging.getLogger("llm_otel")
    logger.addHandler(events)
    logger.setLevel(logging.INFO)
    logger.propagate = False

    schedule = Schedule(args.seed, args.calls)
    driver = Driver(schedule)
    options: dict[str, Any] = {
        "name": "soak",
        "retry": RetryPolicy(attempts=3, base=0.002, cap=0.01),
        "breaker": BreakerPolicy(
            window=2.0, minimum_calls=20, consecutive_failures=5, open_for=0.2, open_max=1.0, half_open_calls=3
        ),
        "attempt_timeout": ATTEMPT_TIMEOUT,
        "tracer_provider": tracer_provider,
        "meter_provider": MeterProvider(metric_readers=[reader]),
    }
    started = time.perf_counter()
    with FakeProvider(max_recorded=10 * args.calls) as fake:
        sync_client = openai.OpenAI(base_url=fake.openai_base_url, api_key="k", max_retries=0)
        async_client = openai.AsyncOpenAI(base_url=fake.openai_base_url, api_key="k", max_retries=0)
        sync_chat = resilient(*routes(sync_client, schedule), **options)

        async def run_async() -> None:
            chat = resilient(*routes(async_client, schedule), **options)
            gate = asyncio.Semaphore(16)
            await asyncio.gather(*(driver.one_async(chat, i, gate) for i in range(async_calls)))
            await async_client.close()

        async_thread = threading.Thread(target=asyncio.run, args=(run_async(),))
        async_thread.start()
        with ThreadPoolExecutor(max_workers=6) as pool:
            list(pool.map(lambda i: driver.one_sync(sync_chat, i), range(args.calls - async_calls)))
        async_thread.join()
        sync_client.close()
        requests = fake.requests
    elapsed = time.perf_counter() - started
    return report(args.calls, elapsed, driver.tally, schedule.invoked, requests, reader, exporter, events)


def report(
    calls: int,
    elapsed: float,
    tally: Counter[str],
    invoked: Counter[str],
    requests: list[Any],
    reader: InMemoryMetricReader,
    exporter: InMemorySpanExporter,
    events: Events,
) -> int:
    checks: list[tuple[str, bool]] = []
    served: Counter[tuple[str, str]] = Counter(
        (f"soak:{r.body['model']}", expected_error(r.behavior)) for r in requests
    )
    attempts: Counter[tuple[str, str]] = Counter()
    for key, value in points(reader, n.RESILIENCE_ATTEMPTS).items():
        attrs = dict(key)
        kind = str(attrs.get(n.ERROR_TYPE, ""))
        kind = "timeout" if kind in ("openai.APITimeoutError", "TimeoutError") else kind
        attempts[(str(attrs[n.RESILIENCE_ROUTE]), kind)] += value
    per_route: Counter[str] = Counter()
    for (route, _kind), count in attempts.items():
        per_route[route] += count
    checks.append(("route invocations == attempts metric, per route", invoked == per_route))
    checks.append(("server request log == attempts metric, per route and error", served == attempts))
    if served != attempts:
        print("log - metric:", dict(served - attempts), "metric - log:", dict(attempts - served))
    outcomes = {dict(k)[n.RESILIENCE_OUTCOME]: v for k, v in points(reader, n.RESILIENCE_CALLS).items()}
    ours = {
        "success": tally["success"] + tally["broken_after_commit"],
        "failure": tally["failure"],
        "rejected": tally["rejected"],
    }
    checks.append(("driver tally == calls metric", {k: v for k, v in ours.items() if v} == outcomes))
    checks.append((f"calls metric sums to {calls}", sum(outcomes.values()) == calls))
    spans = exporter.get_finished_spans()
    checks.append((f"{calls} wrapper spans", len(spans) == calls))
    span_events = Counter(e.name for s in spans for e in s.events)
    retries = sum(points(reader, n.RESILIENCE_RETRIES).values())
    fallbacks = sum(points(reader, n.RESILIENCE_FALLBACKS).values())
    checks.append(("retries metric == retry span events", retries == span_events[n.EVENT_RETRY]))
    checks.append(("fallbacks metric == fallback span events", fallbacks == span_events[n.EVENT_FALLBACK]))
    transitions = Counter(
        {
            (dict(k)[n.BREAKER_NAME], dict(k)[n.BREAKER_FROM_STATE], dict(k)[n.BREAKER_TO_STATE]): v
            for k, v in points(reader, n.BREAKER_TRANSITIONS).items()
        }
    )
    checks.append(("transitions metric == state_change log lines", transitions == events.transitions))
    states = breaker_states()
    for route, final in states.items():
        balance = Counter[str]()
        for (name, old, new), count in transitions.items():
            if name == route:
                balance[old] += count
                balance[new] -= count
        expected = Counter({"closed": 1})
        expected[final] -= 1
        path = all(balance[s] == expected[s] for s in ("closed", "open", "half_open"))
        checks.append((f"{route}: transitions form one path closed -> {final}", path))

    print(f"calls {calls} in {elapsed:.1f} s ({calls / elapsed:.0f}/s); driver tally {dict(tally)}")
    print(f"provider attempts {len(requests)}: {dict(sorted(Counter(r for r, _ in served.elements()).items()))}")
    print(f"errors seen by the provider log: {dict(sorted((k, v) for k, v in served.items() if k[1]))}")
    print(f"retries {retries}, fallbacks {fallbacks}, rejected {span_events[n.EVENT_BREAKER_REJECTED]}")
    print(f"transitions {sum(transitions.values())}: {dict(sorted(transitions.items()))}")
    for name, ok in checks:
        print(f"  {'ok  ' if ok else 'FAIL'} {name}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
