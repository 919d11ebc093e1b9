"""Anthropic Messages calls: exact span attributes and metric points, sync and async, on the real SDK."""

from __future__ import annotations

import importlib.util
import inspect
from typing import Any

import anthropic
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from conftest import CLAUDE, MESSAGES, Claude, Recorded, claude_kwargs, maybe_await
from llm_otel.fake import Behavior, FakeProvider
from llm_otel.providers.anthropic import _endpoint
from llm_otel.providers.anthropic._read import finish_reasons

pytestmark = pytest.mark.anyio

TOOLS = [
    {
        "name": "get_weather",
        "description": "Weather of a city",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    }
]


# anthropic 2.x dropped temperature/top_p/top_k from messages.create (extra_body still sends them).
SAMPLING = "temperature" in inspect.signature(anthropic.resources.messages.Messages.create).parameters
THINKING_DETAILS = importlib.util.find_spec("anthropic.types.output_tokens_details") is not None


def has_parse(client: Any) -> bool:
    return hasattr(client.messages, "parse")


async def test_create_records_span_and_metrics(claude: Claude, fake: FakeProvider, anthropic_otel: Recorded) -> None:
    reply = await claude.chat(stop_sequences=["never"])
    span = anthropic_otel.span()
    assert span.name == f"chat {CLAUDE}"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    assert dict(span.attributes or {}) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": CLAUDE,
        "server.address": "127.0.0.1",
        "server.port": fake.port,
        "gen_ai.request.max_tokens": 100,
        "gen_ai.request.stop_sequences": ("never",),
        "gen_ai.response.model": CLAUDE,
        "gen_ai.response.id": reply.id,
        "gen_ai.usage.input_tokens": 6,
        "gen_ai.usage.output_tokens": 12,
        "gen_ai.response.finish_reasons": ("stop",),
    }
    metric_attrs = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": CLAUDE,
        "gen_ai.response.model": CLAUDE,
        "server.address": "127.0.0.1",
        "server.port": fake.port,
    }
    duration = anthropic_otel.point("gen_ai.client.operation.duration")
    assert dict(duration.attributes or {}) == metric_attrs
    assert duration.count == 1
    assert anthropic_otel.point("gen_ai.client.token.usage", gen_ai__token__type="input").sum == 6
    assert anthropic_otel.point("gen_ai.client.token.usage", gen_ai__token__type="output").sum == 12


@pytest.mark.skipif(not SAMPLING, reason="this SDK's messages.create takes no sampling parameters")
async def test_sampling_parameters_are_recorded(claude: Claude, anthropic_otel: Recorded) -> None:
    await claude.chat(temperature=0.25, top_p=0.5, top_k=7)
    attrs = dict(anthropic_otel.span().attributes or {})
    assert (attrs["gen_ai.request.temperature"], attrs["gen_ai.request.top_p"], attrs["gen_ai.request.top_k"]) == (
        0.25,
        0.5,
        7,
    )


@pytest.mark.parametrize(
    ("kwargs", "stop_reason", "expected", "output"),
    [
        ({"max_tokens": 5}, "max_tokens", "length", 5),
        ({"stop_sequences": ["fake"]}, "stop_sequence", "stop", 7),
    ],
)
async def test_stop_reason_is_mapped_to_finish_reason(
    claude: Claude, anthropic_otel: Recorded, kwargs: dict[str, Any], stop_reason: str, expected: str, output: int
) -> None:
    reply = await claude.chat(**kwargs)
    assert reply.stop_reason == stop_reason
    attrs = dict(anthropic_otel.span().attributes or {})
    assert attrs["gen_ai.response.finish_reasons"] == (expected,)
    assert attrs["gen_ai.usage.output_tokens"] == output


def test_every_stop_reason_has_a_finish_reason() -> None:
    assert [
        finish_reasons(r)
        for r in ("end_turn", "stop_sequence", "max_tokens", "tool_use", "refusal", "pause_turn", "", None, 3)
    ] == [["stop"], ["stop"], ["length"], ["tool_call"], ["content_filter"], ["pause_turn"], None, None, None]


async def test_tool_use(claude: Claude, anthropic_otel: Recorded) -> None:
    reply = await claude.chat(Behavior(tool_call=True), tools=TOOLS)
    assert reply.content[0].type == "tool_use"
    assert reply.content[0].input == {"city": "fake"}
    attrs = dict(anthropic_otel.span().attributes or {})
    assert attrs["gen_ai.response.finish_reasons"] == ("tool_call",)
    assert attrs["gen_ai.usage.output_tokens"] == 5  # {"city":"fake"} streams as 5 one-token pieces


async def test_cached_tokens_count_as_input(claude: Claude, anthropic_otel: Recorded) -> None:
    system = [{"type": "text", "text": "you are a careful assistant", "cache_control": {"type": "ephemeral"}}]
    reply = await claude.chat(Behavior(cached_tokens=4), system=system)
    usage = reply.usage
    assert (usage.input_tokens, usage.cache_creation_input_tokens, usage.cache_read_input_tokens) == (2, 5, 4)
    attrs = dict(anthropic_otel.span().attributes or {})
    assert attrs["gen_ai.usage.input_tokens"] == 11  # 2 uncached + 5 written + 4 read: every input token
    assert attrs["gen_ai.usage.cache_creation.input_tokens"] == 5
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 4
    assert anthropic_otel.point("gen_ai.client.token.usage", gen_ai__token__type="input").sum == 11


async def test_reasoning_tokens_are_recorded(claude: Claude, anthropic_otel: Recorded) -> None:
    await claude.chat(Behavior(reasoning_tokens=3))
    attrs = dict(anthropic_otel.span().attributes or {})
    assert attrs["gen_ai.usage.output_tokens"] == 15
    if THINKING_DETAILS:  # older SDKs have no output_tokens_details
        assert attrs["gen_ai.usage.reasoning.output_tokens"] == 3


async def test_beta_messages_create(claude: Claude, anthropic_otel: Recorded) -> None:
    reply = await claude.call("beta.messages.create", **claude_kwargs())
    attrs = dict(anthropic_otel.span().attributes or {})
    assert (attrs["gen_ai.response.id"], attrs["gen_ai.usage.output_tokens"]) == (reply.id, 12)


async def test_parse_is_one_span(claude: Claude, anthropic_otel: Recorded) -> None:
    if not has_parse(claude.client):
        pytest.skip("messages.parse arrived after this SDK release")
    from pydantic import BaseModel

    class City(BaseModel):
        name: str

    for path in ("messages.parse", "beta.messages.parse"):
        reply = await claude.call(path, **claude_kwargs(output_format=City))
        assert reply.parsed_output == City(name="fake")
    spans = anthropic_otel.spans()
    assert [dict(s.attributes or {})["gen_ai.usage.output_tokens"] for s in spans] == [5, 5]  # {"name":"fake"}


async def test_with_raw_response_is_read(claude: Claude, anthropic_otel: Recorded) -> None:
    raw = await claude.call("messages.with_raw_response.create", **claude_kwargs())
    message = await maybe_await(raw.parse())
    attrs = dict(anthropic_otel.span().attributes or {})
    assert (attrs["gen_ai.response.id"], attrs["gen_ai.usage.output_tokens"]) == (message.id, 12)


async def test_count_tokens_is_not_traced(claude: Claude, anthropic_otel: Recorded) -> None:
    if not hasattr(claude.client.messages, "count_tokens"):
        pytest.skip("messages.count_tokens arrived after this SDK release")
    counted = await claude.call("messages.count_tokens", model=CLAUDE, messages=MESSAGES)
    assert counted.input_tokens == 6
    assert anthropic_otel.spans() == []
    assert anthropic_otel.points("gen_ai.client.operation.duration") == []


async def test_vertex_client_reports_gcp_vertex_ai(fake: FakeProvider, anthropic_otel: Recorded) -> None:
    client = anthropic.AnthropicVertex(
        region="us-east5", project_id="proj", access_token="token", base_url=fake.url + "/v1", max_retries=0
    )
    client.messages.create(max_tokens=10, messages=MESSAGES, model=CLAUDE)
    assert fake.requests[-1].path.endswith(f"/models/{CLAUDE}:rawPredict")
    attrs = dict(anthropic_otel.span().attributes or {})
    assert (attrs["gen_ai.provider.name"], attrs["server.address"], attrs["server.port"]) == (
        "gcp.vertex_ai",
        "127.0.0.1",
        fake.port,
    )
    assert attrs["gen_ai.usage.output_tokens"] == 10


@pytest.mark.parametrize(
    ("client", "expected"),
    [
        (lambda: anthropic.Anthropic(api_key="k"), ("anthropic", "api.anthropic.com", 443)),
        (
            lambda: anthropic.AnthropicBedrock(aws_region="eu-west-3", aws_access_key="a", aws_secret_key="b"),
            ("aws.bedrock", "bedrock-runtime.eu-west-3.amazonaws.com", 443),
        ),
        (
            lambda: anthropic.AsyncAnthropicVertex(region="europe-west1", project_id="p", access_token="t"),
            ("gcp.vertex_ai", "europe-west1-aiplatform.googleapis.com", 443),
        ),
    ],
)
def test_cloud_clients_report_their_provider(client: Any, expected: tuple[str, str, int]) -> None:
    assert tuple(_endpoint(client().messages)) == expected


def test_clients_of_other_clouds_in_recent_sdks() -> None:
    if not hasattr(anthropic, "AnthropicFoundry"):
        pytest.skip("no Foundry client in this SDK release")
    foundry = anthropic.AnthropicFoundry(resource="res", api_key="k")
    assert tuple(_endpoint(foundry.messages)) == ("anthropic", "res.services.ai.azure.com", 443)
    mantle = anthropic.AnthropicBedrockMantle(aws_region="us-west-2", api_key="k")
    assert _endpoint(mantle.messages).provider == "aws.bedrock"
