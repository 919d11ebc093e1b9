"""Per-call overhead of a resilient wrapper on its no-fault path.

Three pairs, each timed interleaved (A, B, A, B ...) in one process and reported as the median
of per-round means, which is robust to the noise of a shared machine:

- ``sdk``: the instrumented openai call (an in-process mock transport, spans batched to a
  dropping exporter) against the same call through ``resilient(Route(...))``;
- ``noop`` and ``noop-unsampled``: a function doing nothing, bare and wrapped, with the wrapper's
  span recorded and sampled out: the wrapper's own cost without SDK noise around it.

    .venv/bin/python benchmarks/resilience_overhead.py [--rounds 30] [--calls 2000]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import openai
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

from llm_otel.providers.openai import OpenAIInstrumentor
from llm_otel.resilience import Route, resilient

REQUEST: dict[str, Any] = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello."}]}
BODY = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello!"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11},
    }
).encode()


class DropExporter(SpanExporter):
    """Drops spans: export cost stays in the measurement, I/O does not."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def make_client() -> Any:
    """An openai client on an in-process transport answering one canned completion (no sockets)."""
    http: Any = __import__(type(openai.OpenAI(api_key="k").base_url).__module__.partition(".")[0])
    headers = {"content-type": "application/json"}
    transport = http.MockTransport(lambda _request: http.Response(200, headers=headers, content=BODY))
    return openai.OpenAI(api_key="k", max_retries=0, http_client=http.Client(transport=transport))


def per_call(fn: Callable[[], Any], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def compare(bare: Callable[[], Any], wrapped: Callable[[], Any], rounds: int, calls: int) -> tuple[float, float]:
    for fn in (bare, wrapped):  # warm up caches, lazy imports and the SDK's model classes
        per_call(fn, max(50, calls // 10))
    a: list[float] = []
    b: list[float] = []
    gc.disable()
    try:
        for _ in range(rounds):
            a.append(per_call(bare, calls))
            b.append(per_call(wrapped, calls))
    finally:
        gc.enable()
    return statistics.median(a), statistics.median(b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(DropExporter(), max_queue_size=1 << 20))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    OpenAIInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    client = make_client()

    def sdk_call() -> Any:
        return client.chat.completions.create(**REQUEST)

    providers = {"tracer_provider": tracer_provider, "meter_provider": meter_provider}
    chat = resilient(Route("bench:sdk", client.chat.completions.create), **providers)

    def noop(**_: Any) -> None:
        return None

    wrapped_noop = resilient(Route("bench:noop", noop), **providers)
    unsampled = resilient(
        Route("bench:noop-unsampled", noop),
        tracer_provider=TracerProvider(sampler=ALWAYS_OFF),
        meter_provider=meter_provider,
    )
    pairs: dict[str, tuple[Callable[[], Any], Callable[[], Any], int]] = {
        "sdk": (sdk_call, lambda: chat(**REQUEST), max(1, args.calls // 10)),
        "noop": (lambda: noop(**REQUEST), lambda: wrapped_noop(**REQUEST), args.calls),
        "noop-unsampled": (lambda: noop(**REQUEST), lambda: unsampled(**REQUEST), args.calls),
    }
    print(f"{'pair':<16}{'bare µs':>10}{'wrapped µs':>12}{'overhead µs':>13}")
    for name, (bare, wrapped, calls) in pairs.items():
        base, through = compare(bare, wrapped, args.rounds, calls)
        print(f"{name:<16}{base * 1e6:>10.1f}{through * 1e6:>12.1f}{(through - base) * 1e6:>13.1f}")
    tracer_provider.shutdown()


if __name__ == "__main__":
    main()
