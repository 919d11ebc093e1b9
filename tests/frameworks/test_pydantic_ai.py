"""pydantic-ai: agents on OpenAI chat, Responses and Anthropic models; and, with its own
instrumentation on (``instrument=True``, the ``Instrumentation`` capability), ``framework_spans=True``
making its span the call's span, with tokens counted once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import openai
import pytest
from opentelemetry.trace import SpanKind

from conftest import CLAUDE, MESSAGES, MODEL

from .conftest import Traced

pydantic_ai = pytest.importorskip("pydantic_ai")
from pydantic_ai.capabilities import Instrumentation  # noqa: E402
from pydantic_ai.models.anthropic import AnthropicModel  # noqa: E402
from pydantic_ai.models.instrumented import InstrumentationSettings  # noqa: E402
from pydantic_ai.models.openai import OpenAIChatModel, OpenAIResponsesModel  # noqa: E402
from pydantic_ai.providers.anthropic import AnthropicProvider  # noqa: E402
from pydantic_ai.providers.openai import OpenAIProvider  # noqa: E402

pytestmark = pytest.mark.anyio


def models(traced: Traced) -> dict[str, Any]:
    openai_provider = OpenAIProvider(base_url=traced.fake.openai_base_url, api_key="k")
    return {
        "chat": OpenAIChatModel(MODEL, provider=openai_provider),
        "responses": OpenAIResponsesModel(MODEL, provider=openai_provider),
        "anthropic": AnthropicModel(CLAUDE, provider=AnthropicProvider(base_url=traced.fake.url, api_key="k")),
    }


async def run_and_stream(agent: Any) -> None:
    ran = await agent.run("say hello")
    async with agent.run_stream("say hello") as streamed:
        text = [piece async for piece in streamed.stream_text()]
    assert ran.output and text


@pytest.mark.parametrize("name", ["chat", "responses", "anthropic"])
async def test_agent_run_and_stream(traced: Traced, name: str) -> None:
    await run_and_stream(pydantic_ai.Agent(models(traced)[name]))
    traced.check(calls=2)


@pytest.mark.parametrize("name", ["chat", "anthropic"])
async def test_framework_spans_defer_to_its_instrumentation(tracing: Callable[..., Traced], name: str) -> None:
    traced = tracing(framework_spans=True)
    recorded = traced.recorded
    settings = InstrumentationSettings(tracer_provider=recorded.tracer_provider, meter_provider=recorded.meter_provider)
    await run_and_stream(pydantic_ai.Agent(models(traced)[name], capabilities=[Instrumentation(settings=settings)]))

    spans = recorded.spans()
    assert not traced.ours()
    inference = [s for s in spans if s.kind is SpanKind.CLIENT]
    assert [s.instrumentation_scope.name for s in inference if s.instrumentation_scope] == ["pydantic-ai"] * 2
    # Ours recorded what pydantic-ai does not: a duration per call, under our scope.
    durations = recorded.points("gen_ai.client.operation.duration")
    assert sum(p.count for p in durations) == 2  # type: ignore[union-attr]
    # Tokens counted once, by pydantic-ai: its spans' usage is the whole of the histogram.
    used = sum((s.attributes or {}).get("gen_ai.usage.input_tokens", 0) for s in inference)
    counted = sum(
        p.sum  # type: ignore[union-attr]
        for p in recorded.points("gen_ai.client.token.usage")
        if (p.attributes or {}).get("gen_ai.token.type") == "input"
    )
    assert used > 0 and counted == used

    # Outside the framework's spans, calls get ours as before.
    client = openai.OpenAI(base_url=traced.fake.openai_base_url, api_key="k", max_retries=0)
    client.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert len(traced.ours()) == 1
