"""``framework_spans``: under a framework's own inference span (pydantic-ai's), ours yields."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from opentelemetry.trace import SpanKind

from conftest import Api, Recorded, drain

pytestmark = pytest.mark.anyio

STREAM = {"stream": True, "stream_options": {"include_usage": True}}


def count(recorded: Recorded, name: str) -> int:
    return sum(p.count for p in recorded.points(name))  # type: ignore[union-attr]


async def streamed_under(recorded: Recorded, api: Api, scope: str, kind: SpanKind = SpanKind.CLIENT) -> None:
    with recorded.tracer_provider.get_tracer(scope).start_as_current_span("chat gpt-4o-mini", kind=kind):
        await drain(await api.chat(**STREAM))


@pytest.mark.parametrize("how", ["option", "environment"])
async def test_under_a_frameworks_inference_span_ours_yields(
    api: Api, otel_with: Callable[..., Recorded], monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    if how == "environment":
        monkeypatch.setenv("LLM_OTEL_FRAMEWORK_SPANS", "true")
    recorded = otel_with(**({"framework_spans": True} if how == "option" else {}))
    await streamed_under(recorded, api, "pydantic-ai")
    [framework] = recorded.spans()
    assert framework.instrumentation_scope and framework.instrumentation_scope.name == "pydantic-ai"
    # What pydantic-ai records itself is left to it; the rest is ours as for any call.
    assert count(recorded, "gen_ai.client.token.usage") == 0
    assert count(recorded, "gen_ai.client.operation.time_to_first_chunk") == 0
    assert count(recorded, "gen_ai.client.operation.duration") == 1
    assert count(recorded, "gen_ai.client.operation.time_per_output_chunk") > 0


@pytest.mark.parametrize(
    ("scope", "kind"),
    [("pydantic-ai", SpanKind.INTERNAL), ("some-framework", SpanKind.CLIENT), ("llm_otel.app", SpanKind.CLIENT)],
)
async def test_other_spans_keep_ours(api: Api, otel_with: Callable[..., Recorded], scope: str, kind: SpanKind) -> None:
    """An agent run or tool span, or an unlisted framework's span, is no inference span to defer to."""
    recorded = otel_with(framework_spans=True)
    await streamed_under(recorded, api, scope, kind)
    assert [s.instrumentation_scope.name for s in recorded.spans() if s.instrumentation_scope] == ["llm_otel", scope]
    assert count(recorded, "gen_ai.client.token.usage") == 2  # input and output
    assert count(recorded, "gen_ai.client.operation.time_to_first_chunk") == 1


async def test_off_by_default(api: Api, otel: Recorded) -> None:
    await streamed_under(otel, api, "pydantic-ai")
    assert len(otel.spans()) == 2
    assert count(otel, "gen_ai.client.token.usage") == 2
