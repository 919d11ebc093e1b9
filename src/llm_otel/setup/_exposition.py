"""/metrics bodies, written straight from the SDK's MetricsData: the Prometheus text format and OpenMetrics.

The stock reader turns every collection into prometheus_client metric families, whose encoders then
sort, escape and format every label of every line again: about 330 ms for 1,000 histogram series,
all of it holding the GIL. Here the label strings of a series are built once, when it first shows,
and reused by the scrapes after; a scrape only formats the numbers and joins strings.

The output is what the stock reader and prometheus_client write for the same data, byte for byte
(tests/test_exposition.py checks it): the same names, unit and ``_total``/``_bucket``/``_count``/
``_sum`` suffixes, the ``otel_scope_*`` labels, ``target_info``, the same float formatting. One
addition: in OpenMetrics, each bucket line carries the exemplar of a sampled measurement that fell
in it (the stock reader drops the exemplars the SDK collects).
"""

from __future__ import annotations

import json
from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from itertools import accumulate
from typing import Any

from opentelemetry.exporter.prometheus._mapping import map_unit, sanitize_attribute, sanitize_full_name
from opentelemetry.sdk.metrics import Exemplar
from opentelemetry.sdk.metrics.export import AggregationTemporality, Gauge, Histogram, Metric, MetricsData, Sum
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from prometheus_client import utils

from llm_otel._log import internal_error, warn_once

_INF = float("inf")
# prometheus_client's float format (Go's: ``+Inf``, ``1e+06``), which its parsers and Prometheus expect.
_go: Callable[[float], str] = utils.floatToGoString
# A series' precomputed strings: a sample's line up to its value (counters, gauges); for a histogram,
# the bucket line before and after its ``le`` label, then the _count and _sum lines up to the value.
_Strings = tuple[str, ...]
# The resource's family, as prometheus_client writes an info metric in each format.
_TARGET_INFO = {
    False: "# HELP target_info Target metadata\n# TYPE target_info gauge\n",
    True: "# HELP target Target metadata\n# TYPE target info\n",
}


def _number(value: float) -> str:
    """prometheus_client's ``floatToGoString``, without its call for the values where it writes repr."""
    if type(value) is int and 0 <= value < 1_000_000:
        return f"{value}.0"
    if type(value) is float and -_INF < value < 1e6:  # Go's exponent form starts at 1e+06; NaN fails
        return repr(value)
    return _go(value)


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _label_value(value: Any) -> str:
    # As the stock reader: strings as they are, anything else as JSON.
    return str(value) if isinstance(value, str) else json.dumps(value, default=str)


def _braced(pairs: Sequence[str]) -> str:
    return "{" + ",".join(pairs) + "}" if pairs else ""


class _Family:
    """The samples of one family (the metrics of one name, description, unit and type) and its header."""

    __slots__ = ("chunks", "description", "kind", "name", "unit")

    def __init__(self, base: str, description: str, unit: str, kind: str) -> None:
        name = base[:-6] if kind == "counter" and base.endswith("_total") else base
        self.name = name if not unit or name.endswith(f"_{unit}") else f"{name}_{unit}"
        self.description, self.unit, self.kind = description, unit, kind
        self.chunks: list[bytes] = []

    def header(self, openmetrics: bool) -> str:
        if openmetrics:
            unit = f"# UNIT {self.name} {self.unit}\n" if self.unit else ""
            return f"# HELP {self.name} {_escape(self.description)}\n# TYPE {self.name} {self.kind}\n{unit}"
        # The classic format names a counter by its sample and does not escape quotes in HELP.
        name = f"{self.name}_total" if self.kind == "counter" else self.name
        description = self.description.replace("\\", r"\\").replace("\n", r"\n")
        return f"# HELP {name} {description}\n# TYPE {name} {self.kind}\n"


def _kind(metric: Metric) -> str | None:
    data = metric.data
    if isinstance(data, Histogram):
        return "histogram"
    if isinstance(data, Sum):
        # A cumulative up-down counter is a gauge to Prometheus; every other sum a counter.
        cumulative = data.aggregation_temporality == AggregationTemporality.CUMULATIVE
        return "gauge" if cumulative and not data.is_monotonic else "counter"
    if isinstance(data, Gauge):
        return "gauge"
    return None


class Exposition:
    """Renders collections; keeps each series' label strings from one render for the next.

    Not thread-safe: the reader renders one scrape at a time.
    """

    def __init__(self) -> None:
        # (family name, kind, scope labels, label names) -> attributes -> [strings, the last render
        # that had the series]; only the series of the last render are kept, so those that are gone
        # do not stay in memory.
        self._series: dict[tuple[Any, ...], dict[Any, list[Any]]] = {}
        self._stamp = 0
        self._label_names: dict[str, str] = {}
        self._bounds: dict[tuple[tuple[float, ...], tuple[type, ...]], list[str]] = {}
        self._last_bounds: tuple[Sequence[float], list[str]] = ((), ['le="+Inf"'])

    def render(self, data: MetricsData | None, openmetrics: bool) -> bytes:
        """The body of /metrics for ``data`` (None: no metrics at all), in OpenMetrics or the text format."""
        families: dict[tuple[str, str, str, str], _Family] = {}
        seen: set[tuple[Any, ...]] = set()
        self._stamp += 1
        parts = [self._target_info(data, openmetrics).encode()] if data is not None else []
        for resource_metrics in data.resource_metrics if data is not None else ():
            for scope_metrics in resource_metrics.scope_metrics:
                scope = self._scope_labels(scope_metrics.scope)
                for metric in scope_metrics.metrics:
                    try:
                        self._add(metric, scope, families, seen, openmetrics)
                    except Exception as err:  # one metric's failure costs only that metric's lines
                        internal_error(f"/metrics {metric.name}", err)
        for identity in self._series.keys() - seen:
            del self._series[identity]
        for family in families.values():
            parts.append(family.header(openmetrics).encode())
            parts.extend(family.chunks)
        if openmetrics:
            parts.append(b"# EOF\n")
        # Bytes chunks of a series each: one big buffer for the body, not a str and its encoded copy.
        return b"".join(parts)

    def _label_name(self, key: str) -> str:
        name = self._label_names.get(key)
        if name is None:
            name = self._label_names[key] = sanitize_attribute(key)
        return name

    def _labels(self, attributes: Mapping[str, Any]) -> dict[str, str]:
        # Later keys win where two sanitise to one name, as in the stock reader.
        return {self._label_name(key): _label_value(value) for key, value in attributes.items()}

    def _target_info(self, data: MetricsData, openmetrics: bool) -> str:
        attributes: dict[str, Any] = {}
        for resource_metrics in data.resource_metrics:
            attributes.update(resource_metrics.resource.attributes)
        labels = self._labels(attributes)
        pairs = [f'{key}="{_escape(value)}"' for key, value in sorted(labels.items())]
        return f"{_TARGET_INFO[openmetrics]}target_info{_braced(pairs)} 1.0\n"

    def _scope_labels(self, scope: InstrumentationScope) -> tuple[tuple[str, str], ...]:
        attributes: dict[str, Any] = {f"otel_scope_{key}": value for key, value in (scope.attributes or {}).items()}
        attributes["otel_scope_name"] = scope.name or ""
        attributes["otel_scope_version"] = scope.version or ""
        attributes["otel_scope_schema_url"] = scope.schema_url or ""
        return tuple(self._labels(attributes).items())

    def _add(
        self,
        metric: Metric,
        scope: tuple[tuple[str, str], ...],
        families: dict[tuple[str, str, str, str], _Family],
        seen: set[tuple[Any, ...]],
        openmetrics: bool,
    ) -> None:
        kind = _kind(metric)
        if kind is None:
            warn_once(f"exposition:{type(metric.data).__name__}", "llm-otel: /metrics leaves out %s", metric.name)
            return
        base, description, unit = sanitize_full_name(metric.name), metric.description or "", map_unit(metric.unit or "")
        family = families.get((base, description, unit, kind))
        if family is None:
            family = families[base, description, unit, kind] = _Family(base, description, unit, kind)
        points: Sequence[Any] = metric.data.data_points
        keys: set[str] = set()
        for point in points:
            keys.update(point.attributes or ())
        # Every series of a metric has every label of the metric, "" where it has none.
        names = sorted({name for name, _ in scope} | {self._label_name(key) for key in keys})
        identity = (family.name, kind, scope, tuple(names))
        seen.add(identity)
        series = self._series.setdefault(identity, {})
        stamp = self._stamp
        chunks: list[bytes] = []
        for point in points:
            attributes = point.attributes or {}
            key = _key(attributes)
            entry = series.get(key) if key is not None else None
            if entry is None:
                labels = dict(scope)
                labels.update(self._labels(attributes))
                strings = _strings(family.name, kind, {name: labels.get(name, "") for name in names})
                if key is not None:
                    series[key] = [strings, stamp]
            else:
                strings, entry[1] = entry[0], stamp
            if kind == "histogram":
                chunks.append(self._histogram(point, strings, openmetrics))
            else:
                chunks.append(f"{strings[0]}{_number(point.value)}\n".encode())
        family.chunks.extend(chunks)
        if len(series) > len(points):  # some series are gone: forget them
            for key in [key for key, (_, last) in series.items() if last != stamp]:
                del series[key]

    def _histogram(self, point: Any, strings: _Strings, openmetrics: bool) -> bytes:
        """Every line of one histogram series."""
        head, tail, count, total = strings
        bounds = point.explicit_bounds
        les = self._les(bounds)
        # Buckets past the shorter of bounds and counts are left out, as prometheus_client's zip does.
        cumulative = list(accumulate(point.bucket_counts))
        if len(cumulative) > len(les):
            del cumulative[len(les) :]
        values: Sequence[Any] = cumulative
        # Whole counts under a million, the usual, are written inline: floatToGoString writes 3 as "3.0".
        if cumulative and type(cumulative[-1]) is int and min(point.bucket_counts) >= 0 and cumulative[-1] < 10**6:
            whole = ".0"
        else:
            whole, values = "", [_number(value) for value in cumulative]
        found = _exemplars(point.exemplars, bounds) if openmetrics and point.exemplars else None
        if found:
            marks = [""] * len(values)
            for index, mark in found.items():
                if index < len(marks):
                    marks[index] = mark
            lines = [
                f"{head}{le}{tail}{value}{whole}{mark}\n" for le, value, mark in zip(les, values, marks, strict=False)
            ]
        else:
            lines = [f"{head}{le}{tail}{value}{whole}\n" for le, value in zip(les, values, strict=False)]
        # prometheus_client leaves out _count and _sum when the first bucket is below zero.
        if values and (not bounds or bounds[0] >= 0):
            lines.append(f"{count}{values[-1]}{whole}\n")
            lines.append(f"{total}{_number(point.sum)}\n")
        return "".join(lines).encode()

    def _les(self, bounds: Sequence[float]) -> list[str]:
        """The ``le`` labels of some bucket bounds, and +Inf."""
        last, les = self._last_bounds
        if bounds is last:  # the points of one SDK histogram share one tuple of bounds
            return les
        # Typed: 1 and 1.0 are equal, but one writes le="1" and the other le="1.0".
        key = (tuple(bounds), tuple(map(type, bounds)))
        les = self._bounds.get(key) or [*(f'le="{bound}"' for bound in bounds), 'le="+Inf"']
        self._bounds[key] = les
        self._last_bounds = (bounds, les)
        return les


def _key(attributes: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """A series' key in the label cache; None (not cached) for sequence or mapping values.

    With the values' types: 1, 1.0 and True are equal keys but are written "1", "1.0" and "true"
    (which merged workers' data can hold side by side); the items of a sequence could differ alike.
    """
    types = tuple(map(type, attributes.values()))
    if tuple in types or list in types or dict in types:
        return None
    return (tuple(attributes.items()), types)


def _strings(name: str, kind: str, labels: Mapping[str, str]) -> _Strings:
    """The label strings of a series, in the sorted order prometheus_client writes labels in."""
    pairs = [f'{key}="{_escape(value)}"' for key, value in labels.items()]
    if kind == "counter":
        return (f"{name}_total{_braced(pairs)} ",)
    if kind == "gauge":
        return (f"{name}{_braced(pairs)} ",)
    # A bucket's own ``le`` replaces an attribute of that name, and sorts among the other labels.
    before = [f"{pair}," for key, pair in zip(labels, pairs, strict=True) if key < "le"]
    after = [f",{pair}" for key, pair in zip(labels, pairs, strict=True) if key > "le"]
    plain = _braced(pairs)
    return (
        f"{name}_bucket{{{''.join(before)}",
        f"{''.join(after)}}} ",
        f"{name}_count{plain} ",
        f"{name}_sum{plain} ",
    )


def _exemplars(exemplars: Sequence[Exemplar], bounds: Sequence[float]) -> dict[int, str]:
    """Bucket index -> the OpenMetrics exemplar of the first sampled measurement that fell in that bucket."""
    found: dict[int, Exemplar] = {}
    for exemplar in exemplars:
        # Bounds are strictly increasing (the SDK checks); NaN and -Inf fall in no bucket.
        if exemplar.trace_id and exemplar.value > -_INF:
            found.setdefault(bisect_left(bounds, exemplar.value), exemplar)
    return {
        index: (
            f' # {{span_id="{exemplar.span_id or 0:016x}",trace_id="{exemplar.trace_id:032x}"}} '
            f"{_go(exemplar.value)} {exemplar.time_unix_nano / 1e9}"
        )
        for index, exemplar in found.items()
    }
