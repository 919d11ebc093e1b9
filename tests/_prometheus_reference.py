"""/metrics as the stock reader and prometheus_client write it: the reference for our exposition.

The stock ``PrometheusMetricReader``'s translation into prometheus_client metric families, each
collection's exemplars put on their bucket samples (the first sampled measurement in each bucket),
and prometheus_client's own encoders. This is what /metrics served before it was written straight
from the MetricsData; tests/test_exposition.py compares the two, and benchmarks/metrics_render.py
times them against each other.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from opentelemetry.exporter.prometheus import _CustomCollector
from opentelemetry.exporter.prometheus._mapping import map_unit, sanitize_full_name
from opentelemetry.sdk.metrics.export import Histogram, MetricsData
from prometheus_client.exposition import generate_latest as generate_text
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.samples import Exemplar

# Older exporters (0.63b0, the floor) write no otel_scope_* labels, which /metrics always has.
SCOPE_LABELS = "scope_info_enabled" in inspect.signature(_CustomCollector).parameters


class _Families:
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


def families(data: MetricsData) -> list[Metric]:
    """The prometheus_client families of one collection, as the stock reader's collector makes them."""
    collector = _CustomCollector()
    attributes: dict[str, Any] = {}
    for resource_metrics in data.resource_metrics:
        attributes.update(resource_metrics.resource.attributes)
    found: dict[str, Metric] = {"target": collector._create_info_metric("target", "Target metadata", attributes)}
    collector._translate_to_prometheus(data, found)
    _add_exemplars(data, found)
    return list(found.values())


def _add_exemplars(data: MetricsData, found: dict[str, Metric]) -> None:
    # A family's samples are its metrics' points, in order: buckets, then _count and _sum.
    offsets: dict[str, int] = {}
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                if not isinstance(metric.data, Histogram):
                    continue
                unit = map_unit(metric.unit or "")
                key = "|".join(
                    (sanitize_full_name(metric.name), metric.description or "", unit, "HistogramMetricFamily")
                )
                family = found[key]
                for point in metric.data.data_points:
                    start = offsets.get(key, 0)
                    buckets = min(len(point.explicit_bounds) + 1, len(point.bucket_counts))
                    lower = float("-inf")
                    for index in range(start, start + buckets):
                        sample = family.samples[index]
                        upper = float(sample.labels["le"])
                        for exemplar in point.exemplars:
                            if lower < exemplar.value <= upper and exemplar.trace_id:
                                labels = {
                                    "trace_id": format(exemplar.trace_id, "032x"),
                                    "span_id": format(exemplar.span_id or 0, "016x"),
                                }
                                ts = exemplar.time_unix_nano / 1e9
                                family.samples[index] = sample._replace(exemplar=Exemplar(labels, exemplar.value, ts))
                                break
                        lower = upper
                    with_totals = buckets and (not point.explicit_bounds or point.explicit_bounds[0] >= 0)
                    offsets[key] = start + buckets + (2 if with_totals else 0)


def render(data: MetricsData, openmetrics: bool) -> bytes:
    """The body prometheus_client writes for ``data`` in OpenMetrics or the classic text format."""
    registry = _Families(families(data))
    return bytes(generate_openmetrics(registry) if openmetrics else generate_text(registry))
