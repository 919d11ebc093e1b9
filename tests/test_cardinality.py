"""The cardinality guard: user-input attribute values are capped and sanitised before any metric sees them."""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
from collections.abc import Callable

import pytest
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from conftest import Api, Recorded, make_recorded
from llm_otel import set_attribute_value_limit
from llm_otel.fake import Behavior
from llm_otel.telemetry import Outcome, Telemetry
from llm_otel.telemetry import _names as n
from llm_otel.telemetry._cardinality import BoundedValues, guard, sanitize
from llm_otel.telemetry._record import Invocation

pytestmark = pytest.mark.anyio


def models_of(otel: Recorded, metric: str) -> list[str]:
    return sorted(str(dict(p.attributes or {}).get(n.REQUEST_MODEL)) for p in otel.points(metric))


async def test_request_models_past_the_cap_are_recorded_as_other(api: Api, otel: Recorded) -> None:
    set_attribute_value_limit(3)
    models = ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "o3-mini"]
    for model in models:
        await api.chat(Behavior(output_tokens=2), model=model)
    assert models_of(otel, n.CLIENT_OPERATION_DURATION) == ["_OTHER", "gpt-4.1", "gpt-4o", "gpt-4o-mini"]
    assert models_of(otel, n.LLM_OTEL_REQUESTS_IN_FLIGHT) == ["_OTHER", "gpt-4.1", "gpt-4o", "gpt-4o-mini"]
    other = otel.point(n.CLIENT_OPERATION_DURATION, gen_ai__request__model="_OTHER")
    assert other.count == 2  # type: ignore[union-attr]
    # the cost of both overflowed calls is kept, under the overflow value
    costs = {
        (str(attrs[n.REQUEST_MODEL]), str(attrs[n.TOKEN_TYPE]))
        for p in otel.points(n.LLM_OTEL_COST)
        for attrs in [dict(p.attributes or {})]
    }
    assert {model for model, _ in costs} == {"_OTHER", "gpt-4.1", "gpt-4o", "gpt-4o-mini"}
    # spans, one per call, keep the model as given
    assert [s.attributes[n.REQUEST_MODEL] for s in otel.spans()] == models  # type: ignore[index]
    assert [s.name for s in otel.spans()] == [f"chat {m}" for m in models]


async def test_response_models_are_bounded_too(api: Api, otel: Recorded) -> None:
    set_attribute_value_limit(1)
    await api.chat(model="gpt-4o")
    await api.chat(model="gpt-4o-mini")  # the fake answers with the requested model
    responses = sorted(
        str(dict(p.attributes or {})[n.RESPONSE_MODEL]) for p in otel.points(n.CLIENT_OPERATION_DURATION)
    )
    assert responses == ["_OTHER", "gpt-4o"]
    assert [s.attributes[n.RESPONSE_MODEL] for s in otel.spans()] == ["gpt-4o", "gpt-4o-mini"]  # type: ignore[index]


async def test_label_values_are_sanitised_on_metrics_only(api: Api, otel: Recorded) -> None:
    model = " my\tdeploy\x00ment\n"
    await api.chat(model=model)
    assert models_of(otel, n.CLIENT_OPERATION_DURATION) == ["my_deploy_ment"]
    assert otel.span().attributes[n.REQUEST_MODEL] == model  # type: ignore[index]


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("gpt-4o", "gpt-4o"),
        ("  padded ", "padded"),
        ("tab\there", "tab_here"),
        ("line\nbreak\r", "line_break"),
        ("bell\x07", "bell_"),
        ("é-ü-日本", "é-ü-日本"),  # printable non-ASCII is kept: exporters escape what they must
        ("x" * 300, "x" * 128),
    ],
)
def test_sanitize(raw: str, clean: str) -> None:
    assert sanitize(raw) == clean


def test_a_value_seen_before_keeps_its_place_after_the_cap() -> None:
    bounded = BoundedValues(n.REQUEST_MODEL, 2)
    assert [bounded.value(v) for v in ("a", "b", "c", "a", "b", "d")] == ["a", "b", "_OTHER", "a", "b", "_OTHER"]
    assert len(bounded) == 2


def test_the_cap_must_be_a_positive_int() -> None:
    for bad in (0, -1, 1.5, True, "10"):
        with pytest.raises(ValueError, match="attribute value limit"):
            set_attribute_value_limit(bad)  # type: ignore[arg-type]


def test_the_environment_sets_the_cap() -> None:
    script = "from llm_otel.telemetry._cardinality import guard; print(guard.agent.limit, guard.request_model.limit)"
    env = {**os.environ, "LLM_OTEL_ATTRIBUTE_VALUE_LIMIT": "7"}
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert run.stdout.split() == ["7", "7"]
    env["LLM_OTEL_ATTRIBUTE_VALUE_LIMIT"] = "lots"
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert run.stdout.split() == ["100", "100"]
    assert "ignoring LLM_OTEL_ATTRIBUTE_VALUE_LIMIT='lots'" in run.stderr


def _calls(telemetry: Telemetry, models: range, outcome: Callable[[str], Outcome]) -> None:
    for i in models:
        model = f"user-model-{i}"
        invocation = Invocation(telemetry, n.OP_CHAT, "openai", model, "api.example.com", 443)
        invocation.finish(outcome(model))


def test_fifty_thousand_distinct_models_stay_within_the_cap() -> None:
    """Memory and /metrics stay bounded: the core path, 50,000 calls with a new model each."""

    def outcome(model: str) -> Outcome:
        out = Outcome()
        out.response_model, out.input_tokens, out.output_tokens = model, 10, 5
        return out

    registry = CollectorRegistry()
    reader = PrometheusMetricReader(registry=registry)
    meter_provider = MeterProvider(metric_readers=[reader])
    telemetry = Telemetry(TracerProvider(sampler=ALWAYS_OFF), meter_provider)
    limit = guard.request_model.limit
    _calls(telemetry, range(10_000), outcome)  # past the cap, so that every store has reached its bound
    generate_latest(registry)
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        _calls(telemetry, range(10_000, 50_000), outcome)
        generate_latest(registry)
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    # 40,000 more distinct names. Anything kept per call is a Python object of 16 bytes or more,
    # 640 KB in all; what may move is bounded stores filling up (the price lookup cache keeps up to
    # 1,024 names) and the SDK's own collection buffers.
    assert grown < 256 * 1024, grown
    text = generate_latest(registry).decode()
    assert len(guard.request_model) == len(guard.response_model) == limit
    models = {
        sample.labels[n.REQUEST_MODEL.replace(".", "_")]
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if n.REQUEST_MODEL.replace(".", "_") in sample.labels
    }
    assert len(models) == limit + 1
    assert "_OTHER" in models
    duration = n.CLIENT_OPERATION_DURATION.replace(".", "_") + "_seconds_count"
    counts = [s for f in text_string_to_metric_families(text) for s in f.samples if s.name == duration]
    assert len(counts) == limit + 1  # one series per kept model, one for all the others
    assert sum(s.value for s in counts) == 50_000
    meter_provider.shutdown()


def test_the_core_path_keeps_span_names_as_given() -> None:
    recorded = make_recorded()
    telemetry = Telemetry(recorded.tracer_provider, recorded.meter_provider)
    _calls(telemetry, range(3), lambda model: Outcome())
    assert [s.name for s in recorded.spans()] == ["chat user-model-0", "chat user-model-1", "chat user-model-2"]


def test_a_call_without_a_model_has_no_model_attribute() -> None:
    recorded = make_recorded()
    invocation = Invocation(
        Telemetry(recorded.tracer_provider, recorded.meter_provider), n.OP_CHAT, "openai", None, None, None
    )
    invocation.finish(None)
    span = recorded.span()
    assert (span.name, dict(span.attributes or {})) == ("chat", {n.OPERATION_NAME: "chat", n.PROVIDER_NAME: "openai"})
    assert [dict(p.attributes or {}) for p in recorded.points(n.CLIENT_OPERATION_DURATION)] == [
        {n.OPERATION_NAME: "chat", n.PROVIDER_NAME: "openai"}
    ]
