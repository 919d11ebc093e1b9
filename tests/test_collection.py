"""One aggregation for every metric destination: /metrics, /v1/stats and OTLP read the same collection.

Through configure()'s real pipeline, a real OTLP/HTTP receiver on loopback and /metrics over HTTP:
the MeterProvider has one reader, and each destination still sees every record exactly once, as
cumulative data; a destination asking for delta or exponential histograms gets a reader of its own.
"""

from __future__ import annotations

import inspect
import re
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality
from opentelemetry.sdk.metrics.view import View

from _receivers import OtlpReceiver
from llm_otel.setup._pipeline import Pipeline, build
from llm_otel.setup._settings import resolve
from llm_otel.telemetry import _names as n
from llm_otel.telemetry._instruments import instruments_for

ATTRS = {
    n.OPERATION_NAME: n.OP_CHAT,
    n.PROVIDER_NAME: "openai",
    n.REQUEST_MODEL: "gpt-4o-mini",
    n.SERVER_ADDRESS: "api.openai.com",
    n.SERVER_PORT: 443,
}


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    otlp = OtlpReceiver()
    yield otlp
    otlp.close()


def pipeline_for(receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch, **environ: str) -> Pipeline:
    # An hour between exports: only force_flush() and shutdown() export, so each export is known.
    environ = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_METRIC_EXPORT_INTERVAL": "3600000",
        **environ,
    }
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    arguments = {"traces_exporter": "none", "logs_exporter": "none", "metrics_exporter": "prometheus,otlp"}
    settings = resolve({**arguments, "prometheus_host": "127.0.0.1", "prometheus_port": 0}, environ)
    return build(settings, environ)


def exported_duration(receiver: OtlpReceiver, kind: str = "histogram") -> Any:
    """The duration metric's data in the last export, which must be of this ``kind``."""
    last = receiver.requests["/v1/metrics"][-1]
    for resource in last.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == n.CLIENT_OPERATION_DURATION:
                    assert metric.WhichOneof("data") == kind
                    return getattr(metric, kind)
    raise AssertionError("no duration metric in the last export")


def scraped_count(pipeline: Pipeline) -> int:
    assert pipeline.metrics_url is not None
    with urllib.request.urlopen(pipeline.metrics_url, timeout=10) as response:
        body = response.read().decode()
    found = re.search(r"^gen_ai_client_operation_duration_seconds_count\{[^}]*\} (\S+)$", body, re.MULTILINE)
    assert found, body
    return int(float(found.group(1)))


def stats_requests(pipeline: Pipeline) -> int:
    return sum(entry["requests"] for entry in pipeline.stats.stats()["calls"])


def aggregations(pipeline: Pipeline) -> int:
    """How many times the SDK aggregates each record: once per reader storage of its consumer."""
    return len(pipeline.meter_provider._measurement_consumer._reader_storages)


def test_every_destination_reads_one_cumulative_aggregation(
    receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline = pipeline_for(receiver, monkeypatch)
    duration = instruments_for(pipeline.meter_provider).duration(n.OP_CHAT)
    try:
        assert aggregations(pipeline) == 1
        duration.record(0.5, ATTRS)
        duration.record(0.25, ATTRS)
        assert pipeline.meter_provider.force_flush()
        first = exported_duration(receiver)
        assert first.aggregation_temporality == AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
        (point,) = first.data_points
        assert (point.count, point.sum) == (2, 0.75)
        assert scraped_count(pipeline) == 2
        assert stats_requests(pipeline) == 2

        # Scrapes and stats in between take nothing from what OTLP exports next, and add nothing.
        duration.record(1.0, ATTRS)
        assert pipeline.meter_provider.force_flush()
        (again,) = exported_duration(receiver).data_points
        assert (again.count, again.sum) == (3, 1.75)
        assert again.start_time_unix_nano == point.start_time_unix_nano
        assert scraped_count(pipeline) == stats_requests(pipeline) == 3

        duration.record(2.0, ATTRS)
    finally:
        pipeline.shutdown()
    # The exporter's last export at shutdown is a collection too.
    (final,) = exported_duration(receiver).data_points
    assert (final.count, final.sum) == (4, 3.75)


def test_delta_for_otlp_gets_its_own_reader(receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
    pipeline = pipeline_for(receiver, monkeypatch, OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE="delta")
    duration = instruments_for(pipeline.meter_provider).duration(n.OP_CHAT)
    try:
        assert aggregations(pipeline) == 2
        duration.record(0.5, ATTRS)
        duration.record(0.25, ATTRS)
        assert pipeline.meter_provider.force_flush()
        duration.record(1.0, ATTRS)
        assert pipeline.meter_provider.force_flush()
        last = exported_duration(receiver)
        assert last.aggregation_temporality == AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA
        (point,) = last.data_points
        assert (point.count, point.sum, point.min, point.max) == (1, 1.0, 1.0, 1.0)
        assert scraped_count(pipeline) == stats_requests(pipeline) == 3
    finally:
        pipeline.shutdown()


def test_exponential_histograms_for_otlp_get_their_own_reader(
    receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline = pipeline_for(
        receiver,
        monkeypatch,
        OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION="base2_exponential_bucket_histogram",
    )
    duration = instruments_for(pipeline.meter_provider).duration(n.OP_CHAT)
    try:
        assert aggregations(pipeline) == 2
        duration.record(0.5, ATTRS)
        assert pipeline.meter_provider.force_flush()
        exported = exported_duration(receiver, "exponential_histogram")
        assert [p.count for p in exported.data_points] == [1]
        assert scraped_count(pipeline) == 1  # /metrics keeps the conventions' explicit buckets
    finally:
        pipeline.shutdown()


def overflowed(pipeline: Pipeline, models: int) -> tuple[int, bool]:
    """Record ``models`` distinct request models; (series kept, whether the overflow series is among them)."""
    duration = instruments_for(pipeline.meter_provider).duration(n.OP_CHAT)
    for index in range(models):
        duration.record(0.5, {**ATTRS, n.REQUEST_MODEL: f"model-{index}"})
    data = pipeline.stats.collect()
    assert data is not None
    points = [
        point
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == n.CLIENT_OPERATION_DURATION
        for point in metric.data.data_points
    ]
    return len(points), any((point.attributes or {}).get("otel.metric.overflow") for point in points)


@pytest.mark.parametrize("limit", [None, 3])
def test_the_cardinality_limit_holds_with_or_without_a_view(
    limit: int | None, receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The default limit is the SDK's own (no view); another takes a view. Both arrived in SDK 1.45.
    if "aggregation_cardinality_limit" not in inspect.signature(View).parameters:
        pytest.skip("this opentelemetry-sdk has no cardinality limit")
    environ = {} if limit is None else {"LLM_OTEL_CARDINALITY_LIMIT": str(limit)}
    pipeline = pipeline_for(receiver, monkeypatch, **environ)
    try:
        expected = limit or 2000
        assert overflowed(pipeline, expected + 5) == (expected + 1, True)  # the limit, and the overflow series
    finally:
        pipeline.shutdown()
