"""The body of /metrics: one collection per scrape (see ``_collection``), written by ``_exposition``.

It stands in for the stock ``PrometheusMetricReader``, whose output it keeps, for three reasons: the
stock reader is a reader of its own, aggregating every record once more; it renders through
prometheus_client's metric families, ten times slower (see ``_exposition``); and it drops the
exemplars the SDK collects (by default one per bucket, from measurements made in a sampled span;
ours are made in the call's own span). OpenMetrics, the format
Prometheus asks for, prints them on their buckets' lines; a Prometheus with exemplar storage then
links a latency spike to the very call's trace. The classic text format has no exemplars.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from opentelemetry.sdk.metrics.export import MetricsData
from prometheus_client.exposition import choose_encoder

from ._exposition import Exposition


def negotiate(accept: str) -> str:
    """The content type to answer a scrape's Accept header with: prometheus_client's choice.

    Our names are legacy Prometheus names, which every escaping scheme but ``dots`` leaves as they
    are; a scraper asking for ``dots`` is told it gets ``underscores``, the default.
    """
    _, content_type = choose_encoder(accept)
    return content_type.replace("escaping=dots", "escaping=underscores")


class PrometheusEndpoint:
    """``scrape()`` collects and renders the body of /metrics."""

    def __init__(self, collect: Callable[[], MetricsData | None]) -> None:
        # In a pre-fork server, the collection has every worker's data added in.
        self.collect = collect
        self._exposition = Exposition()
        # One scrape at a time: the label cache is not shared.
        self._lock = threading.Lock()

    def scrape(self, accept: str) -> tuple[str, bytes]:
        """(content type, body) of /metrics for a request's Accept header."""
        content_type = negotiate(accept)
        with self._lock:
            body = self._exposition.render(self.collect(), content_type.startswith("application/openmetrics-text"))
        return content_type, body
