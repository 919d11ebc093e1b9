"""Cost of the endpoints beside the calls: /metrics render time and memory, and /v1/stats time.

    python benchmarks/endpoints.py            # 20, 1,000 and 10,000 series
    python benchmarks/endpoints.py --quick    # fewer repetitions

Series are points of the duration histogram (14 buckets) with distinct request models, recorded
through the real instruments, as many distinct label sets as a busy multi-model service has.
Each size runs in its own process so that one size's memory does not count toward the next.
Render time is the median of repeated renders of the same data; memory is tracemalloc's
figure for the metric state (after recording) and the peak of one render. The OpenMetrics render
(the format Prometheus asks for) is timed after a measurement in a sampled span on every series,
so that every series has an exemplar to write: the worst case of the exemplar pass.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import tracemalloc
from typing import Any


def measure(series: int, repeats: int) -> dict[str, Any]:
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context
    from prometheus_client import generate_latest
    from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

    from llm_otel.setup._pipeline import build
    from llm_otel.setup._settings import resolve
    from llm_otel.telemetry import _names as n
    from llm_otel.telemetry._instruments import instruments_for

    tracemalloc.start()
    settings = resolve(
        {
            "traces_exporter": "none",
            "metrics_exporter": "prometheus",
            "logs_exporter": "none",
            "prometheus_port": 0,
            "prometheus_host": "127.0.0.1",
            "cardinality_limit": series + 10,
        },
        environ={},
    )
    pipeline = build(settings, environ={})
    duration = instruments_for(pipeline.meter_provider).duration(n.OP_CHAT)
    before = tracemalloc.get_traced_memory()[0]
    for index in range(series):
        attrs = {
            n.OPERATION_NAME: n.OP_CHAT,
            n.PROVIDER_NAME: "openai",
            n.REQUEST_MODEL: f"model-{index}",
            n.SERVER_ADDRESS: "api.openai.com",
            n.SERVER_PORT: 443,
        }
        duration.record(0.3, attrs)
        duration.record(1.7, attrs)
    state = tracemalloc.get_traced_memory()[0] - before
    registry = pipeline.endpoints._server.registry  # type: ignore[union-attr]
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    text = generate_latest(registry)
    render_peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()

    sampled = set_span_in_context(NonRecordingSpan(SpanContext(1, 2, False, TraceFlags(TraceFlags.SAMPLED))))
    all_attrs = [{**attrs, n.REQUEST_MODEL: f"model-{index}"} for index in range(series)]
    renders, openmetrics, stats = [], [], []
    for _ in range(repeats):
        start = time.perf_counter()
        generate_latest(registry)
        renders.append(time.perf_counter() - start)
        for each in all_attrs:
            duration.record(0.9, each, context=sampled)
        start = time.perf_counter()
        exposed = generate_openmetrics(registry)
        openmetrics.append(time.perf_counter() - start)
        assert exposed.count(b" # {") == series
        start = time.perf_counter()
        pipeline.stats.stats()
        stats.append(time.perf_counter() - start)
    pipeline.shutdown()
    return {
        "series": series,
        "lines": text.count(b"\n"),
        "bytes": len(text),
        "metrics_ms": statistics.median(renders) * 1e3,
        "openmetrics_ms": statistics.median(openmetrics) * 1e3,
        "stats_ms": statistics.median(stats) * 1e3,
        "state_mib": state / 2**20,
        "render_peak_mib": render_peak / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(measure(args.worker, args.repeats)))
        return
    rows = []
    for series in (20, 1000, 10000):
        repeats = (3 if args.quick else 9) if series > 1000 else (5 if args.quick else 25)
        done = subprocess.run(
            [sys.executable, __file__, "--worker", str(series), "--repeats", str(repeats)],
            capture_output=True,
            text=True,
            check=True,
        )
        rows.append(json.loads(done.stdout))
    print(
        "| series | /metrics lines | /metrics render (median) | OpenMetrics with exemplars (median) "
        "| /v1/stats (median) | metric state | render peak |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['series']:,} | {row['lines']:,} | {row['metrics_ms']:.1f} ms | {row['openmetrics_ms']:.1f} ms "
            f"| {row['stats_ms']:.1f} ms "
            f"| {row['state_mib']:.1f} MiB | {row['render_peak_mib']:.1f} MiB |"
        )


if __name__ == "__main__":
    main()
