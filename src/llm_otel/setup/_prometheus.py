"""The Prometheus reader behind /metrics: one SDK collection per scrape, written by ``_exposition``.

It stands in for the stock ``PrometheusMetricReader``, whose output it keeps, for two reasons: the
stock reader renders through prometheus_client's metric families, ten times slower (see
``_exposition``), and it drops the exemplars the SDK collects (by default one per bucket, from
measurements made in a sampled span; ours are made in the call's own span). OpenMetrics, the format
Prometheus asks for, prints them on their buckets' lines; a Prometheus with exemplar storage then
links a latency spike to the very call's trace. The classic text format has no exemplars.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
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
from prometheus_client.exposition import choose_encoder

from llm_otel._log import internal_error

from ._exposition import Exposition

_CUMULATIVE: dict[type, AggregationTemporality] = {
    kind: AggregationTemporality.CUMULATIVE
    for kind in (Counter, UpDownCounter, Histogram, ObservableCounter, ObservableUpDownCounter, ObservableGauge)
}


def negotiate(accept: str) -> str:
    """The content type to answer a scrape's Accept header with: prometheus_client's choice.

    Our names are legacy Prometheus names, which every escaping scheme but ``dots`` leaves as they
    are; a scraper asking for ``dots`` is told it gets ``underscores``, the default.
    """
    _, content_type = choose_encoder(accept)
    return content_type.replace("escaping=dots", "escaping=underscores")


class PrometheusReader(MetricReader):
    """A pull reader: ``scrape()`` collects and renders the body of /metrics."""

    def __init__(self) -> None:
        super().__init__(preferred_temporality=_CUMULATIVE)
        # What /metrics shows of a collection: in a pre-fork server, every worker's data added in.
        self.transform: Callable[[MetricsData], MetricsData | None] = lambda data: data
        self._exposition = Exposition()
        self._collected: MetricsData | None = None
        # One scrape at a time: each renders the collection it made, and the label cache is not shared.
        self._lock = threading.Lock()

    def scrape(self, accept: str) -> tuple[str, bytes]:
        """(content type, body) of /metrics for a request's Accept header."""
        content_type = negotiate(accept)
        with self._lock:
            self._collected = None
            self.collect()
            body = self._exposition.render(self._collected, content_type.startswith("application/openmetrics-text"))
        return content_type, body

    def _receive_metrics(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> None:
        try:
            metrics_data = self.transform(metrics_data) or metrics_data
        except Exception as err:
            internal_error("multiprocess merge", err)
        self._collected = metrics_data

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Nothing to release: the endpoints' server, closed on its own, serves /metrics."""
