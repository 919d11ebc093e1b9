"""The measured workload, and the worker process that runs it for one variant.

A worker is started by ``run.py`` as ``python benchmarks/_workload.py VARIANT`` with the variant's
virtualenv's interpreter. It sets up the OTel SDK the same way for every variant, lets the variant
instrument (or not), warms up, then answers one JSON command per stdin line with one JSON line on
stdout, so that ``run.py`` can interleave many workers while only one of them runs at a time.

The openai client talks to an in-process ``httpx2.MockTransport`` whose response bytes are built
once: no sockets, no JSON encoding of responses inside the timed loop, so no network noise.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import importlib.metadata
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

MODEL = "gpt-4o-mini"
RESPONSE_MODEL = "gpt-4o-mini-2024-07-18"
BASE_URL = "https://api.openai.com/v1"
# A typical small chat request; the sampling parameters give every instrumentation request attributes to read.
REQUEST: dict[str, Any] = {
    "model": MODEL,
    "messages": [
        {"role": "system", "content": "You are a terse assistant."},
        {"role": "user", "content": "Say hello."},
    ],
    "temperature": 0.2,
    "top_p": 0.9,
    "max_tokens": 64,
}
LONG_STREAM = 201  # content chunks of the long stream; the short one has 1
SCENARIOS = ("call_sync", "call_async", "stream_1", "stream_201")
# The attribute set a per-chunk histogram record carries (the call's metric attributes).
CHUNK_ATTRIBUTES: dict[str, Any] = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": MODEL,
    "server.address": "api.openai.com",
    "server.port": 443,
    "gen_ai.response.model": RESPONSE_MODEL,
}
# Distributions whose versions every worker reports.
REPORTED = ("openai", "httpx2", "pydantic", "opentelemetry-api", "opentelemetry-sdk", "wrapt")
# Marker called between regions under callgrind (--dump-before=<its C symbol>): a C function that
# neither the SDKs nor the instrumentations call, so every dump is exactly one measured region.
CALLGRIND_MARKER = "_statistics__normal_dist_inv_cdf"

_HEAD = {"id": "chatcmpl-bench0001", "created": 1_700_000_000, "model": RESPONSE_MODEL}
_USAGE = {
    "prompt_tokens": 21,
    "completion_tokens": 3,
    "total_tokens": 24,
    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
    "completion_tokens_details": {
        "reasoning_tokens": 0,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
}


def completion_body() -> bytes:
    """A chat.completion response as the API sends it."""
    message: dict[str, Any] = {"role": "assistant", "content": "Hello there.", "refusal": None, "annotations": []}
    body = {
        **_HEAD,
        "object": "chat.completion",
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
        "usage": _USAGE,
        "service_tier": "default",
        "system_fingerprint": "fp_bench",
    }
    return json.dumps(body).encode()


def stream_body(content_chunks: int) -> bytes:
    """An SSE chat stream: a role chunk carrying the first token, more tokens, a finish chunk, [DONE]."""

    def event(delta: dict[str, Any], finish: str | None) -> bytes:
        chunk = {
            **_HEAD,
            "object": "chat.completion.chunk",
            "service_tier": "default",
            "system_fingerprint": "fp_bench",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        return b"data: " + json.dumps(chunk).encode() + b"\n\n"

    parts = [event({"role": "assistant", "content": "Hello", "refusal": None}, None)]
    parts += [event({"content": " there"}, None) for _ in range(content_chunks - 1)]
    parts.append(event({}, "stop"))
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts)


def make_clients() -> dict[str, Any]:
    """One sync and one async openai client per canned body: routing costs nothing at call time."""
    import httpx2
    import openai

    def transport(body: bytes, content_type: str) -> httpx2.MockTransport:
        headers = {"content-type": content_type, "x-request-id": "req_bench"}
        return httpx2.MockTransport(lambda _request: httpx2.Response(200, headers=headers, content=body))

    bodies = {
        "call": (completion_body(), "application/json"),
        "stream_1": (stream_body(1), "text/event-stream"),
        "stream_201": (stream_body(LONG_STREAM), "text/event-stream"),
    }
    clients: dict[str, Any] = {}
    for name, (body, content_type) in bodies.items():
        common: dict[str, Any] = {"api_key": "sk-bench", "base_url": BASE_URL, "max_retries": 0}
        clients[name] = openai.OpenAI(http_client=httpx2.Client(transport=transport(body, content_type)), **common)
        clients[f"{name}_async"] = openai.AsyncOpenAI(
            http_client=httpx2.AsyncClient(transport=transport(body, content_type)), **common
        )
    return clients


class Telemetry:
    """The SDK set-up shared by every variant: spans batched to a sink, metrics kept in memory."""

    def __init__(self) -> None:
        from opentelemetry import metrics, trace
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

        class DropExporter(SpanExporter):
            """Counts and drops: export cost stays in the measurement, I/O does not."""

            def __init__(self) -> None:
                self.spans = 0

            def export(self, spans: Sequence[Any]) -> SpanExportResult:
                self.spans += len(spans)
                return SpanExportResult.SUCCESS

        self.exporter = DropExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(BatchSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        # Globals too, for instrumentations that take no provider argument.
        trace.set_tracer_provider(self.tracer_provider)
        metrics.set_meter_provider(self.meter_provider)

    def flush(self) -> None:
        self.tracer_provider.force_flush()

    def metric_names(self) -> list[str]:
        data = self.reader.get_metrics_data()
        if data is None:
            return []
        return sorted(
            {
                metric.name
                for resource in data.resource_metrics
                for scope in resource.scope_metrics
                for metric in scope.metrics
            }
        )


class Workload:
    """The timed loops; each returns the wall time of ``n`` iterations in nanoseconds.

    ``run`` also measures the process's CPU time (all threads, so batch export counts): other
    processes on a shared machine stretch a batch's wall time but barely change its CPU time.
    """

    def __init__(self, telemetry: Telemetry) -> None:
        self.telemetry = telemetry
        self.clients = make_clients()
        self.loop = asyncio.new_event_loop()
        self.calls = 0
        self._histogram = telemetry.meter_provider.get_meter("bench").create_histogram("bench.chunk", unit="s")

    def _stream(self, name: str, n: int) -> int:
        create = self.clients[name].chat.completions.create
        start = time.perf_counter_ns()
        for _ in range(n):
            for _chunk in create(stream=True, **REQUEST):
                pass
        return time.perf_counter_ns() - start

    def call_sync(self, n: int) -> int:
        create = self.clients["call"].chat.completions.create
        start = time.perf_counter_ns()
        for _ in range(n):
            create(**REQUEST)
        return time.perf_counter_ns() - start

    def call_async(self, n: int) -> int:
        create = self.clients["call_async"].chat.completions.create

        async def batch() -> int:
            start = time.perf_counter_ns()
            for _ in range(n):
                await create(**REQUEST)
            return time.perf_counter_ns() - start

        return self.loop.run_until_complete(batch())

    def stream_1(self, n: int) -> int:
        return self._stream("stream_1", n)

    def stream_201(self, n: int) -> int:
        return self._stream("stream_201", n)

    def hist_record(self, n: int) -> int:
        """One ``Histogram.record`` with the per-chunk attribute set: the floor of per-chunk cost."""
        record = self._histogram.record
        attrs = CHUNK_ATTRIBUTES
        start = time.perf_counter_ns()
        for _ in range(n):
            record(0.0125, attrs)
        return time.perf_counter_ns() - start

    def run(self, scenario: str, n: int) -> tuple[int, int]:
        """Wall and CPU nanoseconds of ``n`` iterations."""
        if scenario != "hist_record":
            self.calls += n
        cpu = time.process_time_ns()
        wall: int = getattr(self, scenario)(n)
        return wall, time.process_time_ns() - cpu


def _versions(extra: Sequence[str]) -> dict[str, str]:
    found = {}
    for dist in (*REPORTED, *extra):
        try:
            found[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            found[dist] = "absent"
    return found


def _callgrind(workload: Workload, plan: list[tuple[str, int]]) -> None:
    """Each region (n iterations, then a flush so span export is counted) ends at a marker call."""
    from _statistics import _normal_dist_inv_cdf as marker  # type: ignore[import-not-found]

    marker(0.5, 0.0, 1.0)  # dump 1: start-up and warm-up, discarded
    for scenario, n in plan:
        workload.run(scenario, n)
        workload.telemetry.flush()
        marker(0.5, 0.0, 1.0)


def main(argv: list[str]) -> None:
    name = argv[1]
    variant = importlib.import_module(f"variants.{name.replace('-', '_')}")
    telemetry = Telemetry()
    variant.instrument(telemetry.tracer_provider, telemetry.meter_provider)
    workload = Workload(telemetry)
    warmup = int(os.environ.get("BENCH_WARMUP", "200"))
    for scenario in (*SCENARIOS, "hist_record"):
        workload.run(scenario, warmup if scenario != "stream_201" else max(1, warmup // 20))
    telemetry.flush()
    workload.calls = 0
    telemetry.exporter.spans = 0
    gc.collect()

    plan = os.environ.get("BENCH_CALLGRIND_PLAN")
    if plan:
        # Valgrind starts without instrumentation (start-up runs ~10x faster); the runner turns it on
        # with callgrind_control while we wait here, then says go.
        print(json.dumps({"armed": True}), flush=True)
        sys.stdin.readline()
        _callgrind(workload, [(s, int(n)) for s, n in (item.split(":") for item in plan.split(","))])
        return

    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        if command["cmd"] == "run":
            wall, cpu = workload.run(command["scenario"], command["n"])
            reply: dict[str, Any] = {"wall_ns": wall, "cpu_ns": cpu}
        elif command["cmd"] == "info":
            telemetry.flush()
            reply = {
                "versions": _versions(getattr(variant, "DISTRIBUTIONS", ())),
                "python": sys.version.split()[0],
                "calls": workload.calls,
                "spans": telemetry.exporter.spans,
                "metrics": telemetry.metric_names(),
            }
        else:
            break
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main(sys.argv)
