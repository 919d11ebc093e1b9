"""Anthropic: instrument/uninstrument, the entry point, and coexistence with the SDK's own tracing."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable

import anthropic
import pytest
import wrapt
from opentelemetry.propagate import get_global_textmap, set_global_textmap
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

import llm_otel
from conftest import CLAUDE, MESSAGES, Claude, Recorded, claude_kwargs
from llm_otel.fake import FakeProvider
from llm_otel.providers.anthropic import AnthropicInstrumentor

pytestmark = pytest.mark.anyio

Messages = anthropic.resources.messages.Messages
NATIVE = hasattr(anthropic._base_client, "start_api_call_span")  # anthropic 2.x traces its own calls
native_only = pytest.mark.skipif(not NATIVE, reason="this anthropic release has no tracing of its own")


def test_uninstrument_restores_every_original() -> None:
    names = [name for name in ("create", "stream", "parse") if name in vars(Messages)]
    originals = {name: vars(Messages)[name] for name in names}
    native = getattr(anthropic._base_client, "start_api_call_span", None)
    instrumentor = AnthropicInstrumentor()
    instrumentor.instrument()
    assert all(isinstance(vars(Messages)[name], wrapt.FunctionWrapper) for name in names)
    if NATIVE:
        assert isinstance(anthropic._base_client.start_api_call_span, wrapt.FunctionWrapper)
    instrumentor.uninstrument()
    assert {name: vars(Messages)[name] for name in names} == originals
    assert getattr(anthropic._base_client, "start_api_call_span", None) is native


async def test_double_instrument_makes_one_span(claude: Claude, anthropic_otel: Recorded) -> None:
    AnthropicInstrumentor().instrument(
        tracer_provider=anthropic_otel.tracer_provider, meter_provider=anthropic_otel.meter_provider
    )
    await claude.chat()
    assert len(anthropic_otel.spans()) == 1
    assert anthropic_otel.point("gen_ai.client.operation.duration").count == 1


async def test_no_telemetry_after_uninstrument(claude: Claude, anthropic_otel_with: Callable[..., Recorded]) -> None:
    recorded = anthropic_otel_with()
    AnthropicInstrumentor().uninstrument()
    await claude.chat()
    assert recorded.spans() == []


def test_entry_point_is_ours_and_loads() -> None:
    points = {ep.name: ep for ep in importlib.metadata.entry_points(group="opentelemetry_instrumentor")}
    assert points["llm_otel_anthropic"].load() is AnthropicInstrumentor


def test_top_level_instrument_includes_anthropic() -> None:
    try:
        assert "anthropic >= 0.40" in llm_otel.instrument(services=False)
        assert isinstance(vars(Messages)["create"], wrapt.FunctionWrapper)
    finally:
        llm_otel.uninstrument()
    assert not isinstance(vars(Messages)["create"], wrapt.FunctionWrapper)


# --- the SDK's own tracing -------------------------------------------------------------------------


def native_client(fake: FakeProvider, recorded: Recorded, **options: object) -> anthropic.Anthropic:
    """A client whose own tracing (when the SDK has it) records into ``recorded``."""
    kwargs: dict[str, object] = {}
    if NATIVE:
        kwargs["open_telemetry"] = {"tracer_provider": recorded.tracer_provider, **options}
    return anthropic.Anthropic(base_url=fake.url, api_key="k", max_retries=0, **kwargs)  # type: ignore[arg-type]


def scopes(recorded: Recorded) -> list[tuple[str, str]]:
    return sorted((s.instrumentation_scope.name, s.name) for s in recorded.spans() if s.instrumentation_scope)


async def test_one_span_per_call_with_the_sdks_tracing_on(fake: FakeProvider, anthropic_otel: Recorded) -> None:
    client = native_client(fake, anthropic_otel)
    client.messages.create(**claude_kwargs())
    list(client.messages.create(**claude_kwargs(stream=True)))
    with client.messages.stream(**claude_kwargs()) as stream:
        stream.until_done()
    assert scopes(anthropic_otel) == [("llm_otel", f"chat {CLAUDE}")] * 3


@native_only
async def test_the_sdk_propagates_our_span(fake: FakeProvider, anthropic_otel: Recorded) -> None:
    previous = get_global_textmap()
    set_global_textmap(TraceContextTextMapPropagator())
    try:
        native_client(fake, anthropic_otel).messages.create(**claude_kwargs())
    finally:
        set_global_textmap(previous)
    span = anthropic_otel.span()
    context = span.get_span_context()
    assert fake.requests[-1].headers["traceparent"].startswith(f"00-{context.trace_id:032x}-{context.span_id:016x}-")


@native_only
async def test_other_sdk_spans_are_kept(fake: FakeProvider, anthropic_otel: Recorded) -> None:
    client = native_client(fake, anthropic_otel)
    assert client.messages.count_tokens(model=CLAUDE, messages=MESSAGES).input_tokens == 6
    assert scopes(anthropic_otel) == [("com.anthropic.sdk.python", "anthropic.messages.count_tokens")]


@native_only
async def test_native_spans_option_keeps_the_sdks_span_and_adds_metrics(
    fake: FakeProvider, anthropic_otel_with: Callable[..., Recorded]
) -> None:
    recorded = anthropic_otel_with(native_spans=True)
    tracer = recorded.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("app") as parent:
        native_client(fake, recorded).messages.create(**claude_kwargs())
    spans = {s.name: s for s in recorded.spans()}
    assert sorted(spans) == ["anthropic.messages.create", "app"]
    sdk_span = spans["anthropic.messages.create"]
    assert sdk_span.parent is not None and sdk_span.parent.span_id == parent.get_span_context().span_id
    assert recorded.point("gen_ai.client.operation.duration").count == 1
    assert recorded.point("gen_ai.client.token.usage", gen_ai__token__type="output").sum == 12


@native_only
async def test_native_spans_from_environment(
    fake: FakeProvider, anthropic_otel_with: Callable[..., Recorded], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLM_OTEL_ANTHROPIC_NATIVE_SPANS", "true")
    recorded = anthropic_otel_with()
    native_client(fake, recorded).messages.create(**claude_kwargs())
    assert scopes(recorded) == [("com.anthropic.sdk.python", "anthropic.messages.create")]


@pytest.mark.skipif(NATIVE, reason="this anthropic release traces its own calls")
async def test_native_spans_option_keeps_ours_when_the_sdk_has_no_tracing(
    fake: FakeProvider, anthropic_otel_with: Callable[..., Recorded]
) -> None:
    recorded = anthropic_otel_with(native_spans=True)
    native_client(fake, recorded).messages.create(**claude_kwargs())
    assert scopes(recorded) == [("llm_otel", f"chat {CLAUDE}")]
