"""Cost of the endpoints beside the calls: /metrics scrape time, before and after, memory, /v1/stats time.

    python benchmarks/endpoints.py            # 100, 1,000 and 10,000 series
    python benchmarks/endpoints.py --quick    # fewer repetitions

Each size N is N series of the duration histogram (14 buckets) and N of a counter, with distinct
request models, recorded through the real instruments: as many distinct label sets as a busy
multi-model service has. Each size runs in its own process so that one size's memory does not
count toward the next.

A scrape is timed whole, in CPU time (the time it holds the GIL): the SDK collection and the
render of the body. "Before" is what /metrics did until it was written straight from the
MetricsData: the stock reader's prometheus_client families, exemplars put on their bucket samples,
prometheus_client's encoders (kept in tests/_prometheus_reference.py, which the exposition tests
compare against). The two run interleaved, alternating which goes first, each after a full garbage
collection, so that a noisy machine slows both alike and neither pays for the other's garbage; the
figure is the median. "Of which SDK collection" is the collection alone, which both pay.
OpenMetrics (the format Prometheus asks for) is timed after a measurement in a sampled span on
every histogram series, so that every series has an exemplar to write: the worst case. Memory is
tracemalloc's figure for the metric state (after recording) and the peak of one scrape.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

OPENMETRICS = "application/openmetrics-text; version=1.0.0"


def _recorded(series: int) -> tuple[Any, Any, Callable[[], None], int]:
    """(pipeline, its /metrics, a sampled measurement on every histogram series, bytes of state)."""
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context

    from llm_otel.setup._collection import Collection
    from llm_otel.setup._pipeline import build
    from llm_otel.setup._prometheus import PrometheusEndpoint
    from llm_otel.setup._settings import resolve
    from llm_otel.telemetry import _names as n
    from llm_otel.telemetry._instruments import instruments_for

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
    calls = pipeline.meter_provider.get_meter(n.INSTRUMENTATION_SCOPE).create_counter("llm_otel.bench.calls", "{call}")
    collection = next(r for r in pipeline.meter_provider._all_metric_readers if isinstance(r, Collection))  # type: ignore[attr-defined]
    endpoint = PrometheusEndpoint(collection.collect_data)  # what the pipeline's /metrics renders
    all_attrs = [
        {
            n.OPERATION_NAME: n.OP_CHAT,
            n.PROVIDER_NAME: "openai",
            n.REQUEST_MODEL: f"model-{index}",
            n.SERVER_ADDRESS: "api.openai.com",
            n.SERVER_PORT: 443,
        }
        for index in range(series)
    ]
    empty = tracemalloc.get_traced_memory()[0]
    for attrs in all_attrs:
        duration.record(0.3, attrs)
        duration.record(1.7, attrs)
        calls.add(2, attrs)
    state = tracemalloc.get_traced_memory()[0] - empty
    sampled = set_span_in_context(NonRecordingSpan(SpanContext(1, 2, False, TraceFlags(TraceFlags.SAMPLED))))

    def with_exemplars() -> None:
        for attrs in all_attrs:
            duration.record(0.9, attrs, context=sampled)

    return pipeline, endpoint, with_exemplars, state


def measure(series: int, repeats: int) -> dict[str, Any]:
    from _prometheus_reference import render as render_before
    from llm_otel.setup._exposition import Exposition

    tracemalloc.start()
    pipeline, endpoint, with_exemplars, state = _recorded(series)

    def scrape_after(accept: str) -> bytes:
        return endpoint.scrape(accept)[1]

    def scrape_before(accept: str) -> bytes:
        # the collection the stock reader made on each scrape
        return render_before(endpoint.collect(), accept == OPENMETRICS)  # type: ignore[arg-type]

    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    text = scrape_after("")
    scrape_peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()

    # The same collection, written both ways: equal bytes, or the timings compare unlike things.
    with_exemplars()
    collected = endpoint.collect()
    assert collected is not None
    for openmetrics in (False, True):
        assert Exposition().render(collected, openmetrics) == render_before(collected, openmetrics)

    timings: dict[str, list[float]] = {key: [] for key in ("text_before", "text_after", "om_before", "om_after")}
    ways: list[tuple[str, Callable[[str], bytes]]] = [("before", scrape_before), ("after", scrape_after)]
    stats, collections = [], []
    for repeat in range(repeats):
        for fmt, accept in (("text", ""), ("om", OPENMETRICS)):
            for way, scrape in ways if repeat % 2 else ways[::-1]:
                if fmt == "om":
                    with_exemplars()
                gc.collect()  # each scrape pays for the collections its own garbage causes, not the other's
                start = time.process_time()
                body = scrape(accept)
                timings[f"{fmt}_{way}"].append(time.process_time() - start)
                if fmt == "om":
                    assert body.count(b" # {") == series
        gc.collect()
        start = time.process_time()
        endpoint.collect()  # what every scrape, before and after, spends in the SDK
        collections.append(time.process_time() - start)
        start = time.process_time()
        pipeline.stats.stats()
        stats.append(time.process_time() - start)
    pipeline.shutdown()
    return {
        "series": series,
        "lines": text.count(b"\n"),
        **{f"{key}_ms": statistics.median(values) * 1e3 for key, values in timings.items()},
        "collect_ms": statistics.median(collections) * 1e3,
        "stats_ms": statistics.median(stats) * 1e3,
        "state_mib": state / 2**20,
        "scrape_peak_mib": scrape_peak / 2**20,
    }


def _ms(value: float) -> str:
    return f"{value / 1e3:.2f} s" if value >= 1000 else f"{value:.1f} ms"


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
    for series in (100, 1000, 10000):
        repeats = (4 if args.quick else 10) if series > 1000 else (6 if args.quick else 26)
        done = subprocess.run(
            [sys.executable, __file__, "--worker", str(series), "--repeats", str(repeats)],
            capture_output=True,
            text=True,
            check=True,
        )
        rows.append(json.loads(done.stdout))
    print(
        "| series | /metrics lines | text, before | text, after | OpenMetrics with exemplars, before "
        "| OpenMetrics with exemplars, after | of which SDK collection | /v1/stats | metric state | scrape peak |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['series']:,} + {row['series']:,} | {row['lines']:,} "
            f"| {_ms(row['text_before_ms'])} | {_ms(row['text_after_ms'])} "
            f"({row['text_before_ms'] / row['text_after_ms']:.0f}x) "
            f"| {_ms(row['om_before_ms'])} | {_ms(row['om_after_ms'])} "
            f"({row['om_before_ms'] / row['om_after_ms']:.0f}x) "
            f"| {_ms(row['collect_ms'])} | {_ms(row['stats_ms'])} "
            f"| {row['state_mib']:.1f} MiB | {row['scrape_peak_mib']:.1f} MiB |"
        )


if __name__ == "__main__":
    main()
