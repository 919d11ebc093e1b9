"""Every wrapped OpenAI method, sync and async: exact span attributes and metric points."""

from __future__ import annotations

from typing import Any

import openai
import pydantic
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from conftest import MESSAGES, MODEL, Api, Recorded, chat_helpers, drain, maybe_await
from llm_otel.fake import Behavior, FakeProvider

pytestmark = pytest.mark.anyio

FINGERPRINT = "fp_llmotelfake"


def base_attributes(fake: FakeProvider, operation: str = "chat", model: str = MODEL) -> dict[str, Any]:
    return {
        "gen_ai.operation.name": operation,
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": model,
        "server.address": "127.0.0.1",
        "server.port": fake.port,
    }


async def test_chat_create_span_has_exact_attributes(api: Api, otel: Recorded, fake: FakeProvider) -> None:
    reply = await api.chat(
        temperature=0.2, top_p=0.9, max_tokens=50, seed=7, stop=["END"], frequency_penalty=0.1,
        presence_penalty=0.3, n=2, service_tier="default", response_format={"type": "json_object"},
    )  # fmt: skip
    span = otel.span()
    assert span.name == f"chat {MODEL}"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    assert dict(span.attributes or {}) == {
        **base_attributes(fake),
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.max_tokens": 50,
        "gen_ai.request.seed": 7,
        "gen_ai.request.stop_sequences": ("END",),
        "gen_ai.request.frequency_penalty": 0.1,
        "gen_ai.request.presence_penalty": 0.3,
        "gen_ai.request.choice.count": 2,
        "gen_ai.output.type": "json",
        "openai.request.service_tier": "default",
        "gen_ai.response.model": MODEL,
        "gen_ai.response.id": reply.id,
        "gen_ai.response.finish_reasons": ("stop", "stop"),
        "gen_ai.usage.input_tokens": 6,
        "gen_ai.usage.output_tokens": 24,
        "llm_otel.usage.cost": pytest.approx((6 * 0.15 + 24 * 0.60) / 1e6, rel=1e-12),  # gpt-4o-mini list price
        "openai.response.system_fingerprint": FINGERPRINT,
        "openai.response.service_tier": "default",
    }


async def test_chat_create_records_duration_and_tokens(api: Api, otel: Recorded, fake: FakeProvider) -> None:
    await api.chat()
    await api.chat(behavior=Behavior(output_tokens=5))
    attrs = {**base_attributes(fake), "gen_ai.response.model": MODEL}
    duration = otel.point("gen_ai.client.operation.duration")
    assert dict(duration.attributes or {}) == attrs
    assert duration.count == 2
    assert duration.explicit_bounds == (
        0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
    )  # fmt: skip
    tokens_in = otel.point("gen_ai.client.token.usage", gen_ai__token__type="input")
    tokens_out = otel.point("gen_ai.client.token.usage", gen_ai__token__type="output")
    assert dict(tokens_in.attributes or {}) == {**attrs, "gen_ai.token.type": "input"}
    assert (tokens_in.count, tokens_in.sum) == (2, 12)
    assert (tokens_out.count, tokens_out.sum) == (2, 17)
    assert tokens_in.explicit_bounds[:3] == (1, 4, 16)
    # Non-streaming calls record no chunk timings.
    assert otel.points("gen_ai.client.operation.time_to_first_chunk") == []


@pytest.mark.parametrize("first", ["max_tokens", "max_completion_tokens"])
async def test_max_completion_tokens_wins_over_max_tokens(first: str, api: Api, otel: Recorded) -> None:
    limits = {"max_tokens": 100, "max_completion_tokens": 40}
    await api.chat(**dict(sorted(limits.items(), key=lambda item: item[0] != first)))  # in either order
    assert (otel.span().attributes or {})["gen_ai.request.max_tokens"] == 40


async def test_request_defaults_are_not_recorded(api: Api, otel: Recorded) -> None:
    await api.chat(n=1, service_tier="auto")
    attributes = otel.span().attributes or {}
    assert "gen_ai.request.choice.count" not in attributes
    assert "openai.request.service_tier" not in attributes
    assert "gen_ai.request.stream" not in attributes


class Answer(pydantic.BaseModel):
    answer: str


async def test_chat_parse_is_one_chat_span(api: Api, otel: Recorded, fake: FakeProvider) -> None:
    result = await maybe_await(chat_helpers(api.client).parse(model=MODEL, messages=MESSAGES, response_format=Answer))
    assert result.choices[0].message is not None
    span = otel.span()
    assert span.name == f"chat {MODEL}"
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.output.type"] == "json"
    assert attrs["gen_ai.usage.input_tokens"] == 6
    assert attrs["gen_ai.response.id"] == result.id


async def test_legacy_completion(api: Api, otel: Recorded, fake: FakeProvider) -> None:
    result = await api.call("completions.create", model="gpt-3.5-turbo-instruct", prompt="one two three", max_tokens=4)
    span = otel.span()
    assert span.name == "text_completion gpt-3.5-turbo-instruct"
    assert dict(span.attributes or {}) == {
        **base_attributes(fake, "text_completion", "gpt-3.5-turbo-instruct"),
        "gen_ai.request.max_tokens": 4,
        "gen_ai.response.model": "gpt-3.5-turbo-instruct",
        "gen_ai.response.id": result.id,
        "gen_ai.response.finish_reasons": ("length",),
        "gen_ai.usage.input_tokens": 3,
        "gen_ai.usage.output_tokens": 4,
        "openai.response.system_fingerprint": FINGERPRINT,
        "llm_otel.usage.cost": pytest.approx((3 * 1.5 + 4 * 2.0) / 1e6, rel=1e-12),  # gpt-3.5-turbo-instruct
    }


async def test_embeddings(api: Api, otel: Recorded, fake: FakeProvider) -> None:
    model = "text-embedding-3-small"
    await api.call("embeddings.create", model=model, input=["a b", "c"], dimensions=4, encoding_format="float")
    span = otel.span()
    assert span.name == f"embeddings {model}"
    assert dict(span.attributes or {}) == {
        **base_attributes(fake, "embeddings", model),
        "gen_ai.request.encoding_formats": ("float",),
        "gen_ai.embeddings.dimension.count": 4,
        "gen_ai.response.model": model,
        "gen_ai.usage.input_tokens": 3,
        "llm_otel.usage.cost": pytest.approx(3 * 0.02 / 1e6, rel=1e-12),
    }
    point = otel.point("gen_ai.client.token.usage", gen_ai__token__type="input")
    assert (point.count, point.sum) == (1, 3)
    assert len(otel.points("gen_ai.client.token.usage")) == 1  # no output tokens for embeddings


async def test_responses_create(api: Api, otel: Recorded, fake: FakeProvider) -> None:
    result = await api.call(
        "responses.create", model=MODEL, input="say hello", max_output_tokens=30, temperature=0.5,
        extra_headers=Behavior(cached_tokens=1, reasoning_tokens=3).header(),
    )  # fmt: skip
    span = otel.span()
    assert span.name == f"chat {MODEL}"
    expected = {
        **base_attributes(fake),
        "gen_ai.request.max_tokens": 30,
        "gen_ai.request.temperature": 0.5,
        "gen_ai.response.model": MODEL,
        "gen_ai.response.id": result.id,
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 2,
        "gen_ai.usage.output_tokens": 15,  # reasoning tokens included, as OpenAI reports them
        "gen_ai.usage.reasoning.output_tokens": 3,
        # 1 uncached and 1 cached input token, 12 output and 3 reasoning tokens at the output price
        "llm_otel.usage.cost": pytest.approx((1 * 0.15 + 1 * 0.075 + 15 * 0.60) / 1e6, rel=1e-12),
        "openai.response.service_tier": "default",
    }
    expected["gen_ai.usage.cache_read.input_tokens"] = 1
    assert dict(span.attributes or {}) == expected


async def test_responses_incomplete_maps_to_length(api: Api, otel: Recorded) -> None:
    await api.call("responses.create", model=MODEL, input="say hello", max_output_tokens=3)
    assert (otel.span().attributes or {})["gen_ai.response.finish_reasons"] == ("length",)


async def test_responses_parse(api: Api, otel: Recorded) -> None:
    result = await api.call("responses.parse", model=MODEL, input="say hello", text_format=Answer)
    attrs = dict(otel.span().attributes or {})
    assert attrs["gen_ai.output.type"] == "json"
    assert attrs["gen_ai.response.id"] == result.id


async def test_responses_stream_manager(api: Api, otel: Recorded, fake: FakeProvider) -> None:
    manager = api.client.responses.stream(model=MODEL, input="say hello")
    if api.mode == "async":
        async with manager as stream:
            events = await drain(stream)
            final = await stream.get_final_response()
    else:
        with manager as stream:
            events = await drain(stream)
            final = stream.get_final_response()
    assert events[-1].type == "response.completed"
    span = otel.span()
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.response.id"] == final.id
    assert attrs["gen_ai.usage.output_tokens"] == 12
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    ttfc = otel.point("gen_ai.client.operation.time_to_first_chunk")
    assert ttfc.count == 1
    per_chunk = otel.point("gen_ai.client.operation.time_per_output_chunk")
    assert per_chunk.count == len(events) - 1


async def test_chat_stream_manager_helpers(api: Api, otel: Recorded) -> None:
    manager = chat_helpers(api.client).stream(model=MODEL, messages=MESSAGES, stream_options={"include_usage": True})
    if api.mode == "async":
        async with manager as stream:
            final = await stream.get_final_completion()
    else:
        with manager as stream:
            final = stream.get_final_completion()
    assert final.usage is not None and final.usage.completion_tokens == 12
    attrs = dict(otel.span().attributes or {})
    assert attrs["gen_ai.usage.output_tokens"] == 12
    assert attrs["gen_ai.response.id"] == final.id


async def test_azure_client_reports_azure_provider(otel: Recorded, fake: FakeProvider) -> None:
    client = openai.AzureOpenAI(azure_endpoint=fake.url, api_key="test-key", api_version="2024-10-21", max_retries=0)
    client.chat.completions.create(model="my-deployment", messages=MESSAGES)
    attrs = dict(otel.span().attributes or {})
    assert attrs["gen_ai.provider.name"] == "azure.ai.openai"
    assert attrs["server.address"] == "127.0.0.1"


async def test_with_raw_response_keeps_working(api: Api, otel: Recorded) -> None:
    raw = await api.call("chat.completions.with_raw_response.create", model=MODEL, messages=MESSAGES)
    assert raw.headers["content-type"].startswith("application/json")
    parsed = raw.parse()
    assert parsed is raw.parse()  # the SDK's cache: what we read is what the caller gets
    attrs = dict(otel.span().attributes or {})
    assert attrs["gen_ai.response.id"] == parsed.id
    assert attrs["gen_ai.usage.output_tokens"] == 12
