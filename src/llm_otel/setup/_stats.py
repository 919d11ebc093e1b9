"""The /v1/stats snapshot and the /health verdict, computed from the SDK's own metric data.

Latency percentiles are estimated from the duration histogram the way Prometheus's
``histogram_quantile`` does (linear interpolation inside the bucket holding the rank), but the
first and last buckets are bounded by the recorded min and max instead of 0 and +Inf, and the
estimate is clamped to [min, max].
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from opentelemetry.sdk.metrics.export import HistogramDataPoint, MetricsData, NumberDataPoint

from llm_otel.telemetry import _names as n

# Metric name -> the token type its points count (experimental per-direction counters).
_USAGE_COUNTERS = {
    n.CLIENT_USAGE_INPUT_TOKENS: "input",
    n.CLIENT_USAGE_OUTPUT_TOKENS: "output",
    n.CLIENT_USAGE_CACHE_READ_TOKENS: "cache_read",
    n.CLIENT_USAGE_CACHE_WRITE_TOKENS: "cache_write",
    n.CLIENT_USAGE_REASONING_TOKENS: "reasoning",
}
_DURATIONS = {n.CLIENT_OPERATION_DURATION, n.CLIENT_EMBEDDINGS_DURATION}


@dataclass
class _Histogram:
    """Buckets merged across the points of one (provider, model)."""

    bounds: Sequence[float] = ()
    counts: list[int] = field(default_factory=list)
    count: int = 0
    low: float = float("inf")
    high: float = float("-inf")

    def add(self, point: HistogramDataPoint) -> None:
        bounds = point.explicit_bounds
        if not self.counts:
            self.bounds, self.counts = bounds, list(point.bucket_counts)
        elif bounds is self.bounds or bounds == self.bounds:
            self.counts = [a + b for a, b in zip(self.counts, point.bucket_counts, strict=True)]
        else:
            return  # a foreign view changed the buckets; merging would be wrong
        self.count += point.count
        self.low, self.high = min(self.low, point.min), max(self.high, point.max)

    def quantile(self, q: float) -> float | None:
        if not self.count:
            return None
        rank, seen = q * self.count, 0
        for index, in_bucket in enumerate(self.counts):
            if in_bucket and seen + in_bucket >= rank:
                lower = self.bounds[index - 1] if index else self.low
                upper = self.bounds[index] if index < len(self.bounds) else self.high
                lower, upper = max(lower, self.low), min(upper, self.high)
                return lower + (upper - lower) * (rank - seen) / in_bucket
            seen += in_bucket
        return self.high

    def summary(self, quantiles: Iterable[float]) -> dict[str, float | None]:
        return {f"p{round(q * 100)}": self.quantile(q) for q in quantiles}


@dataclass
class _Entry:
    requests: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latency: _Histogram = field(default_factory=_Histogram)
    ttfc: _Histogram = field(default_factory=_Histogram)
    tokens: dict[str, int] = field(default_factory=dict)

    def render(self, provider: str, model: str) -> dict[str, Any]:
        return {
            "provider": provider,
            "model": model,
            "requests": self.requests,
            "errors": dict(sorted(self.errors.items())),
            "latency_s": self.latency.summary((0.5, 0.95, 0.99)),
            "ttfc_s": self.ttfc.summary((0.5, 0.95)) if self.ttfc.count else None,
            "tokens": dict(sorted(self.tokens.items())),
        }


def _points(data: MetricsData | None) -> Iterable[tuple[str, Any]]:
    for resource_metrics in data.resource_metrics if data else ():
        for scope_metrics in resource_metrics.scope_metrics:
            if scope_metrics.scope.name != n.INSTRUMENTATION_SCOPE:
                continue
            for metric in scope_metrics.metrics:
                for point in metric.data.data_points:
                    yield metric.name, point


def _fold(data: MetricsData | None) -> dict[tuple[str, str], _Entry]:
    entries: dict[tuple[str, str], _Entry] = {}
    for name, point in _points(data):
        attrs = point.attributes or {}
        key = (str(attrs.get(n.PROVIDER_NAME, "")), str(attrs.get(n.REQUEST_MODEL, "")))
        if name in _DURATIONS and isinstance(point, HistogramDataPoint):
            entry = entries.setdefault(key, _Entry())
            entry.requests += point.count
            entry.latency.add(point)
            error = attrs.get(n.ERROR_TYPE)
            if error is not None:
                entry.errors[str(error)] = entry.errors.get(str(error), 0) + point.count
        elif name == n.CLIENT_TIME_TO_FIRST_CHUNK and isinstance(point, HistogramDataPoint):
            entries.setdefault(key, _Entry()).ttfc.add(point)
        elif name == n.CLIENT_TOKEN_USAGE and isinstance(point, HistogramDataPoint):
            kind = str(attrs.get(n.TOKEN_TYPE, ""))
            tokens = entries.setdefault(key, _Entry()).tokens
            tokens[kind] = tokens.get(kind, 0) + int(point.sum)
        elif name in _USAGE_COUNTERS and isinstance(point, NumberDataPoint):
            tokens = entries.setdefault(key, _Entry()).tokens
            kind = _USAGE_COUNTERS[name]
            tokens[kind] = tokens.get(kind, 0) + int(point.value)
    return entries


def _now_rfc3339() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Window(Protocol):
    """Call and fault counts per provider over a sliding window (``CallWindow``, or a server's)."""

    @property
    def window_s(self) -> float: ...

    def totals(self) -> dict[str, tuple[int, int]]: ...


@dataclass
class StatsSource:
    """What the endpoints read: the metric data, the call window, and optional breaker states."""

    collect: Callable[[], MetricsData | None]
    window: Window
    threshold: float
    service_name: str
    started: float = field(default_factory=time.monotonic)
    breakers: Callable[[], dict[str, str]] | None = None

    def stats(self) -> dict[str, Any]:
        entries = _fold(self.collect())
        document: dict[str, Any] = {
            "service": self.service_name,
            "generated_at": _now_rfc3339(),
            "uptime_s": round(time.monotonic() - self.started, 3),
            "calls": [entries[key].render(*key) for key in sorted(entries)],
        }
        breakers = self.breakers() if self.breakers is not None else None
        if breakers:
            document["breakers"] = breakers
        return document

    def scores(self) -> dict[str, float]:
        """provider -> health score over the window (1.0 when it had no calls)."""
        return {
            provider: 1.0 - faults / calls if calls else 1.0
            for provider, (calls, faults) in self.window.totals().items()
        }

    def health(self) -> tuple[bool, dict[str, Any]]:
        """(healthy, document): healthy when the composite score reaches the threshold."""
        totals = self.window.totals()
        providers = {}
        for provider, (calls, faults) in sorted(totals.items()):
            rate = faults / calls if calls else 0.0
            providers[provider] = {
                "calls": calls,
                "failures": faults,
                "error_rate": round(rate, 6),
                "available": calls == 0 or faults < calls,
                "score": round(1.0 - rate, 6),
            }
        all_calls = sum(calls for calls, _ in totals.values())
        all_faults = sum(faults for _, faults in totals.values())
        score = 1.0 - all_faults / all_calls if all_calls else 1.0
        healthy = score >= self.threshold
        document: dict[str, Any] = {
            "status": "ok" if healthy else "degraded",
            "score": round(score, 6),
            "threshold": self.threshold,
            "window_s": self.window.window_s,
            "generated_at": _now_rfc3339(),
            "providers": providers,
        }
        breakers = self.breakers() if self.breakers is not None else None
        if breakers:
            document["breakers"] = breakers
        return healthy, document
