"""The demo's closing table, read back from the metrics the instrumentation recorded."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.metrics.export import HistogramDataPoint, MetricsData

from llm_otel.telemetry import _names as n


@dataclass
class Row:
    """One (operation, model) line of the summary."""

    calls: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    buckets: list[int] = field(default_factory=list)
    bounds: Sequence[float] = ()
    ttfc_buckets: list[int] = field(default_factory=list)
    ttfc_bounds: Sequence[float] = ()
    tokens: dict[str, int] = field(default_factory=dict)


def quantile(q: float, bounds: Sequence[float], counts: Sequence[int]) -> float | None:
    """Estimate a quantile from explicit-bucket counts by linear interpolation inside the bucket.

    The same method as Prometheus's ``histogram_quantile``: the answer is exact at bucket edges and
    at most one bucket's width off inside one.
    """
    total = sum(counts)
    if total == 0:
        return None
    rank = q * total
    seen = 0.0
    for index, count in enumerate(counts):
        if count and seen + count >= rank:
            lower = bounds[index - 1] if index > 0 else 0.0
            upper = bounds[index] if index < len(bounds) else bounds[-1]
            return lower + (upper - lower) * (rank - seen) / count
        seen += count
    return bounds[-1] if bounds else None


def _add(into: list[int], counts: Iterable[int]) -> list[int]:
    counts = list(counts)
    return [a + b for a, b in zip(into, counts, strict=True)] if into else counts


def collect(data: MetricsData | None) -> dict[tuple[str, str], Row]:
    rows: dict[tuple[str, str], Row] = defaultdict(Row)
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    _take(rows, metric.name, point)
    return dict(rows)


def _take(rows: dict[tuple[str, str], Row], name: str, point: Any) -> None:
    attrs = dict(point.attributes or {})
    key = (str(attrs.get(n.OPERATION_NAME, "?")), str(attrs.get(n.REQUEST_MODEL, "?")))
    if not isinstance(point, HistogramDataPoint):
        return
    row = rows[key]
    if name in (n.CLIENT_OPERATION_DURATION, n.CLIENT_EMBEDDINGS_DURATION):
        row.calls += point.count
        row.buckets = _add(row.buckets, point.bucket_counts)
        row.bounds = point.explicit_bounds
        error = attrs.get(n.ERROR_TYPE)
        if error:
            row.errors[str(error)] = row.errors.get(str(error), 0) + point.count
    elif name == n.CLIENT_TIME_TO_FIRST_CHUNK:
        row.ttfc_buckets = _add(row.ttfc_buckets, point.bucket_counts)
        row.ttfc_bounds = point.explicit_bounds
    elif name == n.CLIENT_TOKEN_USAGE:
        kind = str(attrs.get(n.TOKEN_TYPE, "?"))
        row.tokens[kind] = row.tokens.get(kind, 0) + int(point.sum)
    elif name in (n.CLIENT_INPUT_TOKENS, n.CLIENT_EMBEDDINGS_INPUT_TOKENS, n.CLIENT_OUTPUT_TOKENS):
        kind = n.TOKEN_OUTPUT if name == n.CLIENT_OUTPUT_TOKENS else n.TOKEN_INPUT
        row.tokens[kind] = row.tokens.get(kind, 0) + int(point.sum)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f} ms"


def render(rows: dict[tuple[str, str], Row]) -> str:
    """A plain-text table: one line per operation and model, then the errors by type."""
    header = ("operation", "model", "calls", "errors", "p50", "p95", "TTFC p50", "tokens in", "tokens out")
    lines = [header]
    errors: dict[str, int] = defaultdict(int)
    for (operation, model), row in sorted(rows.items()):
        if not row.calls:
            continue
        for kind, count in row.errors.items():
            errors[kind] += count
        lines.append(
            (
                operation,
                model,
                str(row.calls),
                str(sum(row.errors.values())),
                _ms(quantile(0.5, row.bounds, row.buckets)),
                _ms(quantile(0.95, row.bounds, row.buckets)),
                _ms(quantile(0.5, row.ttfc_bounds, row.ttfc_buckets)) if row.ttfc_buckets else "-",
                str(row.tokens.get(n.TOKEN_INPUT, 0)),
                str(row.tokens.get(n.TOKEN_OUTPUT, 0)),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in lines]
    text.insert(1, "  ".join("-" * width for width in widths))
    if errors:
        text.append("")
        text.append("errors by error.type: " + ", ".join(f"{kind} {count}" for kind, count in sorted(errors.items())))
    return "\n".join(text)
