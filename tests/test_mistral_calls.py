"""Mistral calls: exact span attributes and metric points, sync and async, on the real SDK over HTTP."""

from __future__ import annotations

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from conftest import MESSAGES, MISTRAL_MODEL, TOOLS, MistralApi, Recorded
from llm_otel.fake import Behavior, FakeProvider

pytestmark = pytest.mark.anyio


async def test_chat_records_span_and_metrics(mistral: MistralApi, fake: FakeProvider, mistral_otel: Recorded) -> None:
    reply = await mistral.chat()
    assert type(reply).__name__ == "ChatCompletionResponse"
    span = mistral_otel.span()
    assert span.name == f"chat {MISTRAL_MODEL}"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    assert dict(span.attributes or {}) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "mistral_ai",
        "gen_ai.request.model": MISTRAL_MODEL,
        "server.address": "127.0.0.1",
        "server.port": fake.port,
        "gen_ai.response.model": MISTRAL_MODEL,
        "gen_ai.response.id": reply.id,
        "gen_ai.usage.input_tokens": 6,
        "gen_ai.usage.output_tokens": 12,
        "gen_ai.response.finish_reasons": ("stop",),
        "llm_otel.usage.cost": pytest.approx(6 * 0.15e-6 + 12 * 0.6e-6),
    }
    duration = mistral_otel.point("gen_ai.client.operation.duration")
    assert dict(duration.attributes or {}) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "mistral_ai",
        "gen_ai.request.model": MISTRAL_MODEL,
        "gen_ai.response.model": MISTRAL_MODEL,
        "server.address": "127.0.0.1",
        "server.port": fake.port,
    }
    assert duration.count == 1
    assert mistral_otel.point("gen_ai.client.token.usage", gen_ai__token__type="input").sum == 6
    assert mistral_otel.point("gen_ai.client.token.usage", gen_ai__token__type="output").sum == 12


async def test_request_parameters_are_recorded(mistral: MistralApi, mistral_otel: Recorded) -> None:
    await mistral.chat(
        temperature=0.2,
        top_p=0.9,
        max_tokens=100,
        random_seed=7,
        stop=["never"],
        presence_penalty=0.25,
        frequency_penalty=0.5,
        n=2,
        response_format={"type": "json_object"},
    )
    attrs = mistral_otel.attributes()
    assert {key: value for key, value in attrs.items() if key.startswith(("gen_ai.request.", "gen_ai.output"))} == {
        "gen_ai.request.model": MISTRAL_MODEL,
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.max_tokens": 100,
        "gen_ai.request.seed": 7,
        "gen_ai.request.stop_sequences": ("never",),
        "gen_ai.request.presence_penalty": 0.25,
        "gen_ai.request.frequency_penalty": 0.5,
        "gen_ai.request.choice.count": 2,
        "gen_ai.output.type": "json",
    }
    assert attrs["gen_ai.response.finish_reasons"] == ("stop", "stop")
    assert attrs["gen_ai.usage.output_tokens"] == 24


async def test_max_tokens_cut_is_finish_reason_length(mistral: MistralApi, mistral_otel: Recorded) -> None:
    await mistral.chat(max_tokens=3)
    attrs = mistral_otel.attributes()
    assert (attrs["gen_ai.usage.output_tokens"], attrs["gen_ai.response.finish_reasons"]) == (3, ("length",))


async def test_tool_call_is_finish_reason_tool_call(mistral: MistralApi, mistral_otel: Recorded) -> None:
    reply = await mistral.chat(Behavior(tool_call=True), tools=TOOLS)
    assert reply.choices[0].finish_reason == "tool_calls"
    assert mistral_otel.attributes()["gen_ai.response.finish_reasons"] == ("tool_call",)


async def test_cached_tokens_are_recorded(mistral: MistralApi, mistral_otel: Recorded) -> None:
    reply = await mistral.chat(Behavior(cached_tokens=4))
    if getattr(reply.usage, "prompt_tokens_details", None) is None:
        pytest.skip("this release drops the usage fields it does not model")
    attrs = mistral_otel.attributes()
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.cache_read.input_tokens"]) == (6, 4)


async def test_embeddings_are_recorded(mistral: MistralApi, fake: FakeProvider, mistral_otel: Recorded) -> None:
    reply = await mistral.call("embeddings.create", model="mistral-embed", inputs=["one two", "three"])
    assert len(reply.data) == 2
    span = mistral_otel.span()
    assert span.name == "embeddings mistral-embed"
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.operation.name"] == "embeddings"
    assert attrs["gen_ai.usage.input_tokens"] == 3
    assert attrs["gen_ai.response.model"] == "mistral-embed"
    assert attrs["llm_otel.usage.cost"] == pytest.approx(3 * 0.1e-6)
    assert mistral_otel.point("gen_ai.client.token.usage", gen_ai__token__type="input").sum == 3


async def test_fim_is_a_text_completion(mistral: MistralApi, mistral_otel: Recorded) -> None:
    reply = await mistral.call("fim.complete", model="codestral-latest", prompt="def add(a, b):", suffix="return")
    assert reply.choices[0].finish_reason == "stop"
    span = mistral_otel.span()
    assert span.name == "text_completion codestral-latest"
    attrs = dict(span.attributes or {})
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (4, 12)


async def test_parse_is_traced_once_through_complete(mistral: MistralApi, mistral_otel: Recorded) -> None:
    from pydantic import BaseModel

    class Reply(BaseModel):
        text: str

    await mistral.call("chat.parse", Reply, model=MISTRAL_MODEL, messages=MESSAGES)
    assert mistral_otel.attributes()["gen_ai.output.type"] == "json"


@pytest.mark.parametrize(
    ("model", "priced"),
    [
        ("mistral-large-latest", "mistral-large"),
        ("mistral-small-2503", "mistral-small-3.1-24b-instruct"),  # a snapshot, priced as its model
        ("pixtral-12b-2409", "pixtral-12b"),  # the undated name's price
        ("magistral-medium-2509", "magistral-medium"),
    ],
)
def test_sdk_model_names_are_priced(model: str, priced: str) -> None:
    from llm_otel.telemetry._pricing import prices

    assert prices.per_token("mistral_ai", model) == prices.per_token("mistral_ai", priced) is not None
