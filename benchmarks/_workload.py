"""The measured workload, and the worker process that runs it for one variant.

A worker is started by ``run.py`` as ``python benchmarks/_workload.py PROVIDER VARIANT`` with the
variant's virtualenv's interpreter. It sets up the OTel SDK the same way for every variant, lets the
variant instrument (or not), warms up, then answers one JSON command per stdin line with one JSON
line on stdout, so that ``run.py`` can interleave many workers while only one of them runs at a time.

The provider's clients talk to an in-process ``httpx2.MockTransport`` whose response bytes are
built once (``_providers.py``): no sockets, no JSON encoding of responses inside the timed loop, so
no network noise.
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
from collections.abc import Callable, Sequence
from typing import Any

from _providers import PROVIDERS, Provider

SCENARIOS = ("call_sync", "call_async", "stream_1", "stream_201")
# Distributions whose versions every worker reports, after the provider's SDK.
REPORTED = ("httpx2", "pydantic", "opentelemetry-api", "opentelemetry-sdk", "wrapt")
# Marker called between regions under callgrind (--dump-before=<its C symbol>): a C function that
# neither the SDKs nor the instrumentations call, so every dump is exactly one measured region.
CALLGRIND_MARKER = "_statistics__normal_dist_inv_cdf"


def _readers(metrics: str) -> tuple[Any, Callable[[], Any]]:
    """(MeterProvider, collect: its MetricsData) for a ``BENCH_METRICS`` set-up.

    ``memory``: one in-memory reader. ``configured``: what ``llm_otel.configure()`` builds with its
    defaults (/metrics, OTLP and /v1/stats on one aggregation); only the llm-otel virtualenv has it,
    so there the peers get ``stock``: the SDK's own Prometheus and OTLP readers, as
    ``opentelemetry-instrument`` with ``OTEL_METRICS_EXPORTER=prometheus,otlp`` builds them.
    Nothing is exported during the run: the OTLP interval is an hour, and nothing scrapes.
    """
    from opentelemetry.sdk.metrics import MeterProvider

    if metrics == "configured":
        try:
            from llm_otel.setup._pipeline import build
            from llm_otel.setup._settings import resolve
        except ImportError:
            metrics = "stock"
        else:
            environ = {"OTEL_METRIC_EXPORT_INTERVAL": "3600000"}
            arguments = {"traces_exporter": "none", "logs_exporter": "none", "prometheus_port": 0}
            pipeline = build(resolve({**arguments, "prometheus_host": "127.0.0.1"}, environ), environ)
            # Nothing scrapes during the run; the server's thread, which wakes ten times a second,
            # would count as per-call work under valgrind, which runs the calls fifty times slower.
            if pipeline.endpoints is not None:
                pipeline.endpoints.close()
            return pipeline.meter_provider, pipeline.stats.collect
    if metrics == "stock":
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

        otlp = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint="http://127.0.0.1:9/v1/metrics"), 3_600_000)
        provider = MeterProvider(metric_readers=[PrometheusMetricReader(), otlp])
        # What the OTLP reader's next export would send (the callback the provider gave it).
        return provider, lambda: otlp._collect(otlp, 10_000)
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    reader = InMemoryMetricReader()
    return MeterProvider(metric_readers=[reader]), reader.get_metrics_data


class Telemetry:
    """The SDK set-up shared by every variant: spans batched to a sink, metrics as ``BENCH_METRICS`` says."""

    def __init__(self, set_globals: bool) -> None:
        from opentelemetry import metrics, trace
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
        self.meter_provider, self._collect = _readers(os.environ.get("BENCH_METRICS", "memory"))
        # Globals too, for instrumentations that take no provider argument, unless the variant keeps
        # the API's no-op ones (anthropic 2.x traces its calls into the global tracer provider).
        if set_globals:
            trace.set_tracer_provider(self.tracer_provider)
            metrics.set_meter_provider(self.meter_provider)

    def flush(self) -> None:
        self.tracer_provider.force_flush()

    def metric_names(self) -> list[str]:
        data = self._collect()
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

    def __init__(self, telemetry: Telemetry, provider: Provider) -> None:
        self.telemetry = telemetry
        self.provider = provider
        self.request = provider.request
        self.clients = provider.make_clients()
        self.loop = asyncio.new_event_loop()
        self.calls = 0
        self._histogram = telemetry.meter_provider.get_meter("bench").create_histogram("bench.chunk", unit="s")

    def _create(self, client: str, path: str = "") -> Any:
        """The measured method of one client (``path``, else the provider's call), looked up once per batch."""
        method = self.clients[client]
        path = path or self.provider.method
        if client.endswith("_async"):
            path += self.provider.async_suffix
        for name in path.split("."):
            method = getattr(method, name)
        return method

    def _stream(self, name: str, n: int) -> int:
        opened = self.provider.stream_method
        create = self._create(name, opened)
        request = self.request if opened else {**self.request, "stream": True}
        key = self.provider.stream_key
        start = time.perf_counter_ns()
        for _ in range(n):
            result = create(**request)
            for _chunk in result[key] if key else result:
                pass
        return time.perf_counter_ns() - start

    def call_sync(self, n: int) -> int:
        create, request = self._create("call"), self.request
        start = time.perf_counter_ns()
        for _ in range(n):
            create(**request)
        return time.perf_counter_ns() - start

    def call_async(self, n: int) -> int:
        if self.provider.sync_only:
            return self.call_sync(n)
        create, request = self._create("call_async"), self.request

        async def batch() -> int:
            start = time.perf_counter_ns()
            for _ in range(n):
                await create(**request)
            return time.perf_counter_ns() - start

        return self.loop.run_until_complete(batch())

    def stream_1(self, n: int) -> int:
        return self._stream("stream_1", n)

    def stream_201(self, n: int) -> int:
        return self._stream("stream_201", n)

    def hist_record(self, n: int) -> int:
        """One ``Histogram.record`` with the per-chunk attribute set: the floor of per-chunk cost."""
        record = self._histogram.record
        attrs = self.provider.metric_attributes()
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


def _versions(provider: Provider, extra: Sequence[str]) -> dict[str, str]:
    found = {}
    for dist in (provider.name, *REPORTED, *extra):
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
    provider, name = PROVIDERS[argv[1]], argv[2]
    variant = importlib.import_module(f"variants.{name.replace('-', '_')}")
    telemetry = Telemetry(getattr(variant, "SET_GLOBALS", True))
    variant.instrument(provider, telemetry.tracer_provider, telemetry.meter_provider)
    workload = Workload(telemetry, provider)
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
                "versions": _versions(provider, getattr(variant, "DISTRIBUTIONS", ())),
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
