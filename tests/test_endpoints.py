"""/metrics, /v1/stats and /health served from one port by a pipeline built on the real SDK."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import openai
import pytest
from opentelemetry.sdk.metrics.export import HistogramDataPoint

from _receivers import free_port
from conftest import MESSAGES, MODEL
from llm_otel.fake import Behavior, FakeProvider
from llm_otel.providers.openai import OpenAIInstrumentor
from llm_otel.setup._pipeline import Pipeline, build
from llm_otel.setup._server import serve
from llm_otel.setup._settings import resolve
from llm_otel.setup._stats import StatsSource, _Histogram
from llm_otel.telemetry import _names as n
from llm_otel.telemetry._window import CallWindow, provider_fault

SCHEMAS = Path(__file__).parent.parent / "docs" / "schemas"


def schema(name: str) -> dict[str, Any]:
    return dict(json.loads((SCHEMAS / name).read_text()))


@pytest.fixture
def pipeline(fresh_breakers: None) -> Iterator[Pipeline]:
    settings = resolve(
        {
            "service_name": "endpoint-tests",
            "traces_exporter": "none",
            "metrics_exporter": "prometheus",
            "logs_exporter": "none",
            "prometheus_host": "127.0.0.1",
            "prometheus_port": 0,
        },
        environ={},
    )
    built = build(settings, environ={})
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=built.tracer_provider, meter_provider=built.meter_provider)
    yield built
    instrumentor.uninstrument()
    assert built.shutdown()


@pytest.fixture
def client(fake: FakeProvider) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{fake.url}/v1", api_key="test-key", max_retries=0)


def get(pipeline: Pipeline, path: str) -> httpx.Response:
    assert pipeline.endpoints is not None
    return httpx.get(f"{pipeline.endpoints.url}{path}", timeout=10)


def chat(client: openai.OpenAI, behavior: Behavior | None = None, **kwargs: Any) -> Any:
    headers = behavior.header() if behavior else None
    return client.chat.completions.create(model=MODEL, messages=MESSAGES, extra_headers=headers, **kwargs)  # type: ignore[arg-type]


def test_stats_counts_requests_errors_tokens_and_stream_timing(pipeline: Pipeline, client: openai.OpenAI) -> None:
    for _ in range(3):
        chat(client)
    for _ in chat(client, stream=True, stream_options={"include_usage": True}):
        pass
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            chat(client, Behavior(status=500))

    response = get(pipeline, "/v1/stats")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    document = response.json()
    jsonschema.validate(document, schema("stats.schema.json"), format_checker=jsonschema.FormatChecker())
    assert document["service"] == "endpoint-tests"
    [entry] = document["calls"]
    assert entry["provider"] == "openai"
    assert entry["model"] == MODEL
    assert entry["requests"] == 6
    assert entry["errors"] == {"openai.InternalServerError": 2}
    assert entry["tokens"] == {"input": 4 * 6, "output": 4 * 12}
    assert set(entry["latency_s"]) == {"p50", "p95", "p99"}
    assert 0 < entry["latency_s"]["p50"] <= entry["latency_s"]["p95"] <= entry["latency_s"]["p99"]
    assert set(entry["ttfc_s"]) == {"p50", "p95"}
    assert "breakers" not in document


def test_stats_is_empty_before_any_call(pipeline: Pipeline) -> None:
    document = get(pipeline, "/v1/stats").json()
    jsonschema.validate(document, schema("stats.schema.json"))
    assert document["calls"] == []


def test_health_is_ok_and_scores_one_with_successes_and_caller_errors(
    pipeline: Pipeline, client: openai.OpenAI
) -> None:
    chat(client)
    with pytest.raises(openai.BadRequestError):
        chat(client, Behavior(status=400))  # the caller's mistake says nothing about the provider

    response = get(pipeline, "/health")

    assert response.status_code == 200
    document = response.json()
    jsonschema.validate(document, schema("health.schema.json"))
    assert document["status"] == "ok"
    assert document["score"] == 1.0
    assert document["providers"]["openai"] == {
        "calls": 2,
        "failures": 0,
        "error_rate": 0.0,
        "available": True,
        "score": 1.0,
    }


def test_health_is_503_when_provider_side_failures_pass_the_threshold(
    pipeline: Pipeline, client: openai.OpenAI
) -> None:
    chat(client)
    for status in (503, 429, 500):
        with pytest.raises(openai.APIStatusError):
            chat(client, Behavior(status=status))

    response = get(pipeline, "/health")

    assert response.status_code == 503
    document = response.json()
    jsonschema.validate(document, schema("health.schema.json"))
    assert document["status"] == "degraded"
    assert document["score"] == 0.25
    assert document["providers"]["openai"]["failures"] == 3
    assert document["providers"]["openai"]["error_rate"] == 0.75


def test_metrics_serves_the_genai_series_and_the_health_gauge(pipeline: Pipeline, client: openai.OpenAI) -> None:
    chat(client)
    with pytest.raises(openai.InternalServerError):
        chat(client, Behavior(status=500))

    response = get(pipeline, "/metrics")

    assert response.status_code == 200
    text = response.text
    assert "gen_ai_client_operation_duration_seconds_count{" in text
    assert 'llm_otel_provider_health{gen_ai_provider_name="openai"' in text
    health = [line for line in text.splitlines() if line.startswith("llm_otel_provider_health{")]
    assert len(health) == 1
    assert health[0].endswith(" 0.5")


def test_unknown_paths_are_404(pipeline: Pipeline) -> None:
    assert get(pipeline, "/").status_code == 404
    assert get(pipeline, "/v1/other").status_code == 404


def test_metrics_honours_openmetrics_accept_header(pipeline: Pipeline) -> None:
    response = httpx.get(
        f"{pipeline.endpoints.url}/metrics",  # type: ignore[union-attr]
        headers={"Accept": "application/openmetrics-text; version=1.0.0"},
    )
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF")


def test_a_taken_port_moves_to_the_next_within_the_attempts() -> None:
    port = free_port(consecutive=2)
    source = StatsSource(lambda: None, CallWindow(), 0.5, "x")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        endpoints = serve("127.0.0.1", port, 2, None, source)
        assert endpoints is not None
        try:
            assert endpoints.port == port + 1
        finally:
            endpoints.close()


def test_a_taken_port_without_attempts_logs_once_and_serves_nothing(caplog: pytest.LogCaptureFixture) -> None:
    source = StatsSource(lambda: None, CallWindow(), 0.5, "x")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        from llm_otel import _log

        _log._last.clear()
        with caplog.at_level(logging.WARNING, logger="llm_otel"):
            assert serve("127.0.0.1", port, 1, None, source) is None
            assert serve("127.0.0.1", port, 1, None, source) is None
    lines = [r.getMessage() for r in caplog.records if "cannot serve /metrics" in r.getMessage()]
    assert len(lines) == 1
    assert "LLM_OTEL_PROMETHEUS_PORT_ATTEMPTS" in lines[0]


def point(bounds: list[float], counts: list[int], low: float, high: float) -> HistogramDataPoint:
    return HistogramDataPoint(
        attributes={},
        start_time_unix_nano=0,
        time_unix_nano=0,
        count=sum(counts),
        sum=0.0,
        bucket_counts=counts,
        explicit_bounds=bounds,
        min=low,
        max=high,
        exemplars=[],
    )


def test_quantiles_interpolate_inside_the_bucket_and_stay_within_min_and_max() -> None:
    histogram = _Histogram()
    # 10 values in (1, 2], 10 in (2, 4]; min 1.5, max 3.0.
    histogram.add(point([1.0, 2.0, 4.0], [0, 10, 10, 0], 1.5, 3.0))

    # rank 10 of 20 ends the (1, 2] bucket, whose lower edge is raised to min 1.5
    assert histogram.quantile(0.5) == 2.0
    assert histogram.quantile(0.25) == 1.75  # halfway through [1.5, 2]
    assert histogram.quantile(0.75) == 2.5  # halfway through [2, min(4, max 3)]
    assert histogram.quantile(1.0) == 3.0
    assert _Histogram().quantile(0.5) is None


def test_quantiles_merge_points_with_equal_buckets_only() -> None:
    histogram = _Histogram()
    histogram.add(point([1.0], [4, 0], 0.5, 0.9))
    histogram.add(point([1.0], [0, 4], 2.0, 3.0))
    histogram.add(point([5.0], [9, 0], 0.1, 0.2))  # other boundaries: ignored, not mixed in
    assert histogram.count == 8
    assert histogram.quantile(0.5) == 1.0  # the edge of the first bucket
    assert histogram.quantile(0.0) == 0.5  # the min of the merged points, not the ignored 0.1
    assert histogram.quantile(1.0) == 3.0


@pytest.mark.parametrize(
    ("exc", "fault"),
    [
        (openai.APIConnectionError(request=httpx.Request("POST", "http://x")), True),
        (openai.APITimeoutError(request=httpx.Request("POST", "http://x")), True),
        (httpx.RemoteProtocolError("peer closed connection"), True),
        (ValueError("bad argument"), False),
        (TypeError("missing argument"), False),
    ],
)
def test_provider_fault_classifies_transport_errors_but_not_caller_errors(exc: BaseException, fault: bool) -> None:
    assert provider_fault(exc) is fault


@pytest.mark.parametrize(("status", "fault"), [(400, False), (401, False), (404, False), (408, True), (422, False),
                                               (429, True), (500, True), (529, True), (200, True)])  # fmt: skip
def test_provider_fault_classifies_statuses(status: int, fault: bool) -> None:
    class StatusError(Exception):
        status_code = status

    assert provider_fault(StatusError()) is fault


def test_call_window_forgets_calls_older_than_the_window() -> None:
    window = CallWindow(window_s=12.0)  # 12 buckets of one second
    ring = window.ring("openai")
    assert ring is not None
    with window.lock:
        ring.add(window.slot(100.2), fault=False)
        ring.add(window.slot(105.0), fault=True)
    assert window.totals(now=105.5) == {"openai": (2, 1)}
    assert window.totals(now=112.9) == {"openai": (1, 1)}  # the call at 100.2 left the window
    assert window.totals(now=117.5) == {"openai": (0, 0)}


def test_a_missing_exporter_package_is_logged_once_and_the_rest_still_works(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from llm_otel import _log
    from llm_otel.setup import _pipeline

    monkeypatch.setitem(_pipeline._OTLP, ("traces", "grpc"), ("llm_otel_absent_exporter_package", "Exporter"))
    _log._last.clear()
    settings = resolve(
        {"traces_exporter": "otlp", "otlp_protocol": "grpc", "metrics_exporter": "prometheus", "logs_exporter": "none",
         "prometheus_port": 0, "prometheus_host": "127.0.0.1"},
        environ={},
    )  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="llm_otel"):
        built = build(settings, environ={})
        again = build(replace(settings), environ={})
    try:
        lines = [r.getMessage() for r in caplog.records if "no otlp traces exporter" in r.getMessage()]
        assert len(lines) == 1
        assert "llm_otel_absent_exporter_package" in lines[0]
        assert get(built, "/health").status_code == 200  # metrics and endpoints carry on
    finally:
        built.shutdown()
        again.shutdown()


def test_stats_and_health_show_the_breakers_of_resilient_calls(pipeline: Pipeline, fresh_breakers: None) -> None:
    from llm_otel.resilience import get_breaker

    get_breaker("openai:gpt-4o-mini")
    get_breaker("anthropic:claude-haiku-5-5").force_open()

    stats = get(pipeline, "/v1/stats").json()
    health = get(pipeline, "/health").json()

    expected = {"anthropic:claude-haiku-5-5": "open", "openai:gpt-4o-mini": "closed"}
    jsonschema.validate(stats, schema("stats.schema.json"))
    jsonschema.validate(health, schema("health.schema.json"))
    assert stats["breakers"] == expected
    assert health["breakers"] == expected


def _exemplars(text: str, family: str) -> list[tuple[dict[str, str], float, float]]:
    """(exemplar labels, exemplar value, bucket bound) of every bucket sample of ``family`` carrying one."""
    from prometheus_client.openmetrics.parser import text_string_to_metric_families

    found = []
    for metric in text_string_to_metric_families(text):
        if metric.name == family:
            for sample in metric.samples:
                if sample.exemplar is not None:
                    assert sample.name == f"{family}_bucket"
                    found.append((sample.exemplar.labels, sample.exemplar.value, float(sample.labels["le"])))
    return found


def test_openmetrics_buckets_carry_the_exemplar_of_the_call_span(pipeline: Pipeline, client: openai.OpenAI) -> None:
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    pipeline.tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    with pipeline.tracer_provider.get_tracer("app").start_as_current_span("handle request") as parent:
        chat(client, Behavior(latency=0.05))
        for _ in chat(client, Behavior(ttft=0.02), stream=True):
            pass
        with pytest.raises(openai.InternalServerError):
            chat(client, Behavior(status=500))
    spans = {span.context.span_id: span for span in exporter.get_finished_spans() if span.name.startswith("chat")}
    assert len(spans) == 3

    text = get_openmetrics(pipeline)
    durations = _exemplars(text, "gen_ai_client_operation_duration_seconds")
    first_chunk = _exemplars(text, "gen_ai_client_operation_time_to_first_chunk_seconds")
    assert len(durations) >= 2  # the failed call is a series of its own (error.type)
    assert len(first_chunk) == 1
    bounds = [0.0, *n.DURATION_BUCKETS, float("inf")]
    for labels, value, bound in durations + first_chunk:
        span = spans[int(labels["span_id"], 16)]  # the call's own span, not the request's around it
        assert int(labels["trace_id"], 16) == span.context.trace_id == parent.get_span_context().trace_id
        assert bounds[bounds.index(bound) - 1] < value <= bound  # on the line of the bucket it fell in
        assert value <= (span.end_time - span.start_time) / 1e9  # measured inside the span
    for labels, value, _ in durations:
        span = spans[int(labels["span_id"], 16)]
        assert value == pytest.approx((span.end_time - span.start_time) / 1e9, abs=0.01)
    # Each collection's exemplars are shown once; the series stay.
    again = get_openmetrics(pipeline)
    assert _exemplars(again, "gen_ai_client_operation_duration_seconds") == []
    assert "gen_ai_client_operation_duration_seconds_bucket{" in again


def test_classic_text_has_no_exemplars_and_unsampled_calls_give_none(pipeline: Pipeline, client: openai.OpenAI) -> None:
    from opentelemetry import context
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context

    chat(client)
    text = get(pipeline, "/metrics").text
    assert " # {" not in text and "gen_ai_client_operation_duration_seconds_bucket{" in text
    unsampled = SpanContext(trace_id=1, span_id=2, is_remote=True, trace_flags=TraceFlags(TraceFlags.DEFAULT))
    token = context.attach(set_span_in_context(NonRecordingSpan(unsampled)))
    try:
        chat(client)
    finally:
        context.detach(token)
    assert _exemplars(get_openmetrics(pipeline), "gen_ai_client_operation_duration_seconds") == []


def get_openmetrics(pipeline: Pipeline) -> str:
    assert pipeline.endpoints is not None
    response = httpx.get(
        f"{pipeline.endpoints.url}/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    return response.text
