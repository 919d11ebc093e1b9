"""/metrics written straight from MetricsData is what prometheus_client writes for the same data."""

from __future__ import annotations

import logging
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.prometheus._mapping import sanitize_full_name
from opentelemetry.sdk.metrics import Exemplar
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    ExponentialHistogram,
    ExponentialHistogramDataPoint,
    Gauge,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text

from _prometheus_reference import SCOPE_LABELS, render
from llm_otel.setup._exposition import Exposition
from llm_otel.setup._prometheus import negotiate

CUMULATIVE, DELTA = AggregationTemporality.CUMULATIVE, AggregationTemporality.DELTA
OPENMETRICS = "application/openmetrics-text; version=1.0.0"

needs_scope_labels = pytest.mark.skipif(not SCOPE_LABELS, reason="this exporter writes no otel_scope_* labels")

# Text with what label values and HELP must escape, and what they must not.
tricky = st.text(st.sampled_from('ab_Z09 ."\\\n\t{}=,#é€😀'), max_size=8)
floats = st.floats(allow_nan=True, allow_infinity=True)
numbers = st.one_of(st.integers(-(2**40), 2**60), floats)
# What counters and histogram sums can hold (OpenMetrics parsers reject negative or NaN ones).
totals = st.one_of(st.integers(0, 2**60), st.floats(min_value=0, allow_infinity=True))
values = st.one_of(
    tricky,
    st.integers(-(2**70), 2**70),
    floats,
    st.booleans(),
    st.tuples(tricky, st.integers()),
)
keys = st.one_of(tricky.filter(bool), st.sampled_from(["le", "gen_ai.request.model", "otel_scope_name", "9lives"]))
attributes = st.dictionaries(keys, values, max_size=4)
# Units as instruments declare them, and some that sanitise; no ":" (prometheus_client's OpenMetrics
# encoder turns it to "_" in sample names but not in the family's, which no parser then accepts).
units = st.one_of(
    st.sampled_from(["", "s", "ms", "By", "1", "{token}", "USD", "m/s", "{call}/s", "%"]),
    st.text(st.sampled_from("abs/{}._ 1"), max_size=5),
)
exemplars = st.builds(
    Exemplar,
    filtered_attributes=st.just({}),
    value=numbers,
    time_unix_nano=st.integers(10**18, 2 * 10**18),
    span_id=st.one_of(st.none(), st.integers(1, 2**64 - 1)),
    trace_id=st.one_of(st.none(), st.just(0), st.integers(1, 2**128 - 1)),
)


@st.composite
def histogram_point(draw: st.DrawFn, attrs: dict[str, Any]) -> HistogramDataPoint:
    bounds = sorted(set(draw(st.lists(st.floats(-1e9, 1e9) | st.integers(-5, 10**7), max_size=5))))
    counts = draw(st.lists(st.integers(0, 3_000_000), min_size=len(bounds) + 1, max_size=len(bounds) + 1))
    total = draw(totals)
    found = draw(st.lists(exemplars, max_size=4))
    return HistogramDataPoint(attrs, 0, 1, sum(counts), total, counts, bounds, None, None, found)


@st.composite
def metric(draw: st.DrawFn, name: str) -> Metric:
    kind = draw(st.sampled_from(["counter", "updown", "delta", "gauge", "histogram"]))
    series = draw(st.lists(attributes, max_size=4, unique_by=lambda a: tuple(sorted(a.items(), key=repr))))
    data: Any
    if kind == "histogram":
        data = Histogram([draw(histogram_point(attrs)) for attrs in series], CUMULATIVE)
    else:
        counted = totals if kind in ("counter", "delta") else numbers
        points = [NumberDataPoint(attrs, 0, 1, draw(counted)) for attrs in series]
        if kind == "gauge":
            data = Gauge(points)
        else:
            data = Sum(points, DELTA if kind == "delta" else CUMULATIVE, kind != "updown")
    return Metric(name, draw(st.one_of(st.just(""), tricky)), draw(units), data)


# Instrument names as the SDK allows them, one metric per Prometheus name: the stock reader puts two
# metrics of one name into one family with the first one's label names, mislabelling the second's.
names = st.from_regex(r"[a-zA-Z][-_./a-zA-Z0-9]{0,12}", fullmatch=True)


@st.composite
def collections(draw: st.DrawFn) -> MetricsData:
    taken = draw(st.lists(names, min_size=0, max_size=6, unique_by=sanitize_full_name))
    scopes: list[ScopeMetrics] = []
    while taken:
        cut = draw(st.integers(1, 3))
        mine, taken = taken[:cut], taken[cut:]
        scope = InstrumentationScope(
            draw(tricky),
            draw(st.one_of(st.none(), tricky)),
            draw(st.one_of(st.none(), st.just("https://opentelemetry.io/schemas/1.37.0"))),
            draw(st.one_of(st.none(), st.dictionaries(tricky.filter(bool), values, max_size=2))),
        )
        scopes.append(ScopeMetrics(scope, [draw(metric(name)) for name in mine], ""))
    resource = Resource(draw(st.dictionaries(keys, tricky | st.integers(), max_size=4)))
    return MetricsData([ResourceMetrics(resource, scopes, "")])


def parsed(body: bytes, openmetrics: bool) -> list[Any] | str:
    """Each family with its samples, NaN made comparable; or the parser's complaint."""
    try:
        families = list((parse_openmetrics if openmetrics else parse_text)(body.decode()))
    except Exception as err:
        return f"{type(err).__name__}: {err}"
    return [
        (f.name, f.documentation, f.type, f.unit, [(s.name, s.labels, repr(s.value), s.exemplar) for s in f.samples])
        for f in families
    ]


@needs_scope_labels
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=collections(), openmetrics=st.booleans())
def test_output_is_prometheus_clients_for_any_collection(data: MetricsData, openmetrics: bool) -> None:
    exposition = Exposition()
    ours = exposition.render(data, openmetrics)
    reference = render(data, openmetrics)
    assert parsed(ours, openmetrics) == parsed(reference, openmetrics)
    assert ours == reference
    # The second render comes from the label cache.
    assert exposition.render(data, openmetrics) == reference


@needs_scope_labels
def test_one_name_in_two_scopes_is_one_family() -> None:
    def scope(name: str, value: float) -> ScopeMetrics:
        points = [NumberDataPoint({"gen_ai.request.model": "m"}, 0, 1, value)]
        return ScopeMetrics(
            InstrumentationScope(name, "1"), [Metric("calls", "Calls.", "1", Sum(points, CUMULATIVE, True))], ""
        )

    data = MetricsData([ResourceMetrics(Resource({}), [scope("a", 1), scope("b", 2)], "")])
    for openmetrics in (False, True):
        assert Exposition().render(data, openmetrics) == render(data, openmetrics)
    text = Exposition().render(data, False).decode()
    assert text.count("# TYPE calls_total counter") == 1
    assert 'calls_total{gen_ai_request_model="m",otel_scope_name="b",' in text


@needs_scope_labels
def test_whole_and_float_bounds_are_written_as_given() -> None:
    def histogram(name: str, bounds: list[float]) -> Metric:
        return Metric(
            name, "", "s", Histogram([HistogramDataPoint({}, 0, 1, 1, 1.0, [0, 1, 0], bounds, 1, 1, [])], CUMULATIVE)
        )

    metrics = [histogram("whole", [1, 2]), histogram("floats", [1.0, 2.0])]
    data = MetricsData([ResourceMetrics(Resource({}), [ScopeMetrics(InstrumentationScope("s"), metrics, "")], "")])
    body = Exposition().render(data, False)
    assert body == render(data, False)
    assert b'whole_seconds_bucket{le="1",' in body and b'floats_seconds_bucket{le="1.0",' in body


def test_equal_values_of_other_types_are_other_series() -> None:
    # Merged workers' data can hold {"n": 1} and {"n": True} apart; 1 == True, but one is written "1".
    points = [NumberDataPoint({"n": value}, 0, 1, 1) for value in (1, True, 1.0, (1, 2), (1.0, 2))]
    metric = Metric("calls", "", "", Sum(points, CUMULATIVE, True))
    data = MetricsData([ResourceMetrics(Resource({}), [ScopeMetrics(InstrumentationScope("s"), [metric], "")], "")])
    exposition = Exposition()
    for _ in range(2):
        body = exposition.render(data, False).decode()
        assert [line.split('n="')[1].split('"')[0] for line in body.splitlines() if line.startswith("calls_total")] == [
            "1",
            "true",
            "1.0",
            "[1, 2]",
            "[1.0, 2]",
        ]


def test_no_collection_is_an_empty_body() -> None:
    assert Exposition().render(None, False) == b""
    assert Exposition().render(None, True) == b"# EOF\n"


def test_series_that_are_gone_leave_the_cache() -> None:
    def collection(*models: str) -> MetricsData:
        points = [NumberDataPoint({"model": model}, 0, 1, 1) for model in models]
        metric = Metric("calls", "", "", Sum(points, CUMULATIVE, True))
        return MetricsData([ResourceMetrics(Resource({}), [ScopeMetrics(InstrumentationScope("s"), [metric], "")], "")])

    exposition = Exposition()
    exposition.render(collection("a", "b"), False)
    body = exposition.render(collection("b"), False).decode()
    assert 'model="a"' not in body
    assert [len(series) for series in exposition._series.values()] == [1]


def test_an_unsupported_metric_is_left_out_and_the_rest_served(caplog: pytest.LogCaptureFixture) -> None:
    exponential = ExponentialHistogramDataPoint({}, 0, 1, 0, 0.0, 0, 0, None, None, 0, 0.0, 0.0)  # type: ignore[arg-type]
    metrics = [
        Metric("spread", "", "s", ExponentialHistogram([exponential], CUMULATIVE)),
        Metric("calls", "", "", Sum([NumberDataPoint({}, 0, 1, 3)], CUMULATIVE, True)),
    ]
    data = MetricsData([ResourceMetrics(Resource({}), [ScopeMetrics(InstrumentationScope("s"), metrics, "")], "")])
    with caplog.at_level(logging.WARNING, logger="llm_otel"):
        body = Exposition().render(data, False).decode()
    assert "spread" not in body
    assert "\ncalls_total{" in body
    assert any("leaves out spread" in record.getMessage() for record in caplog.records)


def test_a_failing_metric_costs_only_its_own_lines(caplog: pytest.LogCaptureFixture) -> None:
    broken = HistogramDataPoint({}, 0, 1, 1, 1.0, None, [1.0], None, None, [])  # type: ignore[arg-type]
    metrics = [
        Metric("latency", "", "s", Histogram([broken], CUMULATIVE)),
        Metric("calls", "", "", Sum([NumberDataPoint({}, 0, 1, 3)], CUMULATIVE, True)),
    ]
    data = MetricsData([ResourceMetrics(Resource({}), [ScopeMetrics(InstrumentationScope("s"), metrics, "")], "")])
    with caplog.at_level(logging.WARNING, logger="llm_otel"):
        body = Exposition().render(data, True).decode()
    assert "latency_seconds_bucket" not in body
    assert "\ncalls_total{" in body and body.endswith("# EOF\n")
    assert any("internal error in /metrics latency" in record.getMessage() for record in caplog.records)
    caplog.clear()  # the suite fails any test that leaves an internal error behind


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        ("", "text/plain; version=0.0.4; charset=utf-8"),
        ("text/plain", "text/plain; version=0.0.4; charset=utf-8"),
        (OPENMETRICS, "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores"),
        (
            f"{OPENMETRICS}; escaping=allow-utf-8",
            "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8",
        ),
        (
            f"{OPENMETRICS}; escaping=dots",
            "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores",
        ),
    ],
)
def test_content_negotiation_is_prometheus_clients(accept: str, content_type: str) -> None:
    assert negotiate(accept) == content_type


def test_go_float_format() -> None:
    from prometheus_client.utils import floatToGoString

    from llm_otel.setup._exposition import _number

    wholes = (0, 1, 999_999, 1_000_000, 123_456_789, -3, 2**53 + 1, True)
    fractions = (0.5, -0.0, 1e-7, 999_999.9, 1e6, 1_234_567.5, -1e20, 5e-324, math.inf, -math.inf, math.nan)
    for value in wholes + fractions:
        assert _number(value) == floatToGoString(value)
