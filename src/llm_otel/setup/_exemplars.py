"""Exemplars on /metrics: the trace and span of a histogram measurement, printed on its bucket's line.

The OpenTelemetry Prometheus reader drops the exemplars the SDK collects (by default one per bucket,
from measurements made in a sampled span; ours are made in the call's own span). This reader keeps
those of each collection, and the collector it registers writes them onto the stock reader's bucket
samples. prometheus_client's OpenMetrics encoder, the format Prometheus asks for, prints them; the
classic text format has no exemplars and leaves them out. A Prometheus with exemplar storage then
links a latency spike to the very call's trace.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import Exemplar
from opentelemetry.sdk.metrics.export import Histogram, MetricsData
from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric
from prometheus_client.samples import Exemplar as PromExemplar

from llm_otel._log import internal_error

_INVALID = re.compile(r"[^A-Za-z0-9_]")
_SCOPE = "otel_scope_"
# (Prometheus name of the metric without unit, label set without scope labels) -> that series' exemplars
_Key = tuple[str, frozenset[tuple[str, str]]]


def _keyed(data: MetricsData) -> dict[_Key, Sequence[Exemplar]]:
    """The exemplars of each histogram series, keyed as its samples' labels will read."""
    found: dict[_Key, Sequence[Exemplar]] = {}
    metrics = (metric for rm in data.resource_metrics for sm in rm.scope_metrics for metric in sm.metrics)
    for metric in metrics:
        if isinstance(metric.data, Histogram):
            name = _INVALID.sub("_", metric.name)
            for point in metric.data.data_points:
                if point.exemplars:
                    found[name, _series(point.attributes or {})] = point.exemplars
    return found


def _series(attributes: Mapping[str, Any]) -> frozenset[tuple[str, str]]:
    # Label names and values as the stock reader writes them; empty values are left out on both sides
    # because the stock reader gives every series of a family every label, "" where it has none.
    labels = (
        (_INVALID.sub("_", k), v if isinstance(v, str) else json.dumps(v, default=str)) for k, v in attributes.items()
    )
    return frozenset((k, v) for k, v in labels if v)


class ExemplarPrometheusReader(PrometheusMetricReader):
    """The stock Prometheus reader, with the exemplars of each collection written onto /metrics."""

    def __init__(self, registry: CollectorRegistry) -> None:
        # The stock collector goes into a registry of its own; ``registry`` serves it through ours.
        self._stock = CollectorRegistry()
        super().__init__(registry=self._stock)
        self._exemplars: dict[_Key, Sequence[Exemplar]] = {}
        # What /metrics shows of a collection: in a pre-fork server, every worker's data added in.
        self.transform: Callable[[MetricsData], MetricsData | None] = lambda data: data
        registry.register(_WithExemplars(self))

    def _receive_metrics(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> None:
        try:
            metrics_data = self.transform(metrics_data) or metrics_data
        except Exception as err:
            internal_error("multiprocess merge", err)
        try:
            self._exemplars = _keyed(metrics_data)
        except Exception as err:
            self._exemplars = {}
            internal_error("exemplars", err)
        super()._receive_metrics(metrics_data, timeout_millis, **kwargs)


class _WithExemplars:
    """A prometheus_client collector: the stock reader's families, exemplars added to bucket samples."""

    def __init__(self, reader: ExemplarPrometheusReader) -> None:
        self._reader = reader

    def collect(self) -> Iterator[Metric]:
        families = list(self._reader._stock.collect())  # collecting runs _receive_metrics first
        exemplars = self._reader._exemplars
        if exemplars:
            try:
                for family in families:
                    if family.type == "histogram":
                        _annotate(family, exemplars)
            except Exception as err:
                internal_error("exemplars", err)
        yield from families


def _annotate(family: Metric, exemplars: Mapping[_Key, Sequence[Exemplar]]) -> None:
    names = {name for name, _ in exemplars if family.name == name or family.name.startswith(f"{name}_")}
    if not names:
        return
    bucket = f"{family.name}_bucket"
    lower = float("-inf")
    found: Iterable[Exemplar] = ()
    for index, sample in enumerate(family.samples):
        if sample.name != bucket:
            continue
        if lower == float("-inf"):  # a series' first bucket: look its exemplars up once
            labels = frozenset((k, v) for k, v in sample.labels.items() if v and k != "le" and not k.startswith(_SCOPE))
            found = next((exemplars[key] for name in names if (key := (name, labels)) in exemplars), ())
        upper = float(sample.labels["le"])
        for exemplar in found:
            if lower < exemplar.value <= upper and exemplar.trace_id:
                family.samples[index] = sample._replace(exemplar=_prom_exemplar(exemplar))
                break
        lower = float("-inf") if upper == float("inf") else upper  # +Inf closes one series' buckets


def _prom_exemplar(exemplar: Exemplar) -> PromExemplar:
    return PromExemplar(
        {"trace_id": format(exemplar.trace_id, "032x"), "span_id": format(exemplar.span_id or 0, "016x")},
        exemplar.value,
        exemplar.time_unix_nano / 1e9,
    )
