"""One aggregation of every metric record, whatever the number of destinations.

The SDK keeps a separate aggregation per registered reader: with /metrics, OTLP and /v1/stats as
three readers, every record was aggregated three times on the caller's thread. ``Collection`` is
the one registered reader; /metrics and /v1/stats take a fresh cumulative collection of it when
they are read, and each push exporter keeps the SDK's own ``PeriodicExportingMetricReader`` (its
thread, interval, timeout, final export at shutdown, fork handling) with its collection taken from
here instead of from an aggregation of its own. A destination that asks for something else (delta
temporality, exponential histograms) cannot share cumulative explicit-bucket data: it is
registered as a reader of its own, and pays its own aggregation (docs/configuration.md).
"""

from __future__ import annotations

import threading
from typing import Any

from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import AggregationTemporality, MetricReader, MetricsData
from opentelemetry.sdk.metrics.view import DefaultAggregation, ExplicitBucketHistogramAggregation

CUMULATIVE: dict[type, AggregationTemporality] = {
    kind: AggregationTemporality.CUMULATIVE
    for kind in (Counter, UpDownCounter, Histogram, ObservableCounter, ObservableUpDownCounter, ObservableGauge)
}


def _shareable(reader: MetricReader) -> bool:
    """Whether ``reader`` asks for exactly what ``Collection`` aggregates: cumulative, default buckets."""
    temporality = getattr(reader, "_instrument_class_temporality", {})
    aggregation = getattr(reader, "_instrument_class_aggregation", {})
    return all(value is AggregationTemporality.CUMULATIVE for value in temporality.values()) and all(
        type(value) is DefaultAggregation
        or (type(value) is ExplicitBucketHistogramAggregation and getattr(value, "_boundaries", None) is None)
        for value in aggregation.values()
    )


class Collection(MetricReader):
    """The MeterProvider's one reader; ``collect_data()`` is a cumulative collection for any destination."""

    def __init__(self) -> None:
        super().__init__(preferred_temporality=CUMULATIVE)
        self._outlets: list[MetricReader] = []
        self._lock = threading.Lock()
        self._data: MetricsData | None = None

    def collect_data(self, timeout_millis: float = 10_000) -> MetricsData | None:
        """What every record so far adds up to (cumulative), with the observable callbacks run."""
        with self._lock:
            self._data = None
            try:
                self.collect(timeout_millis=timeout_millis)
                return self._data
            finally:
                self._data = None

    def feed(self, reader: MetricReader) -> bool:
        """Make ``reader`` (never registered on the MeterProvider) collect from here, if it can share;
        ``shutdown`` then shuts it down. False: register it on its own."""
        if not _shareable(reader):
            return False

        def collect(_reader: MetricReader, timeout_millis: float = 10_000) -> MetricsData | None:
            return self.collect_data(timeout_millis)

        # (The SDK annotates the callback with the arguments of an older release.)
        reader._set_collect_callback(collect)  # type: ignore[arg-type]
        self._outlets.append(reader)
        return True

    def _receive_metrics(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> None:
        self._data = metrics_data

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        # MeterProvider.force_flush(): each fed exporter sends a collection now.
        return all([outlet.force_flush(timeout_millis=timeout_millis) for outlet in self._outlets])

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        # Each fed exporter makes its last export from here, then shuts its exporter down.
        for outlet in self._outlets:
            outlet.shutdown(timeout_millis=timeout_millis)
