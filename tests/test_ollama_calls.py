"""Ollama calls: exact span attributes and metric points, sync and async, on the real client over HTTP."""

from __future__ import annotations

import inspect
from typing import Any

import httpx
import ollama
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from conftest import LLAMA, MESSAGES, TOOLS, Llama, Recorded
from llm_otel.fake import Behavior, FakeProvider
from llm_otel.providers.ollama import _endpoint

pytestmark = pytest.mark.anyio


def takes_schema_format() -> bool:
    try:
        ollama._types.ChatRequest(model=LLAMA, format={"type": "object"})
    except ValueError:
        return False
    return True


# Releases after the oldest supported one added JSON-schema formats and embedding dimensions.
SCHEMA_FORMAT = takes_schema_format()
DIMENSIONS = "dimensions" in inspect.signature(ollama.Client.embed).parameters


async def test_chat_records_span_and_metrics(llama: Llama, fake: FakeProvider, ollama_otel: Recorded) -> None:
    reply = await llama.chat()
    assert isinstance(reply, ollama.ChatResponse)
    span = ollama_otel.span()
    assert span.name == f"chat {LLAMA}"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    assert dict(span.attributes or {}) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "ollama",
        "gen_ai.request.model": LLAMA,
        "server.address": "127.0.0.1",
        "server.port": fake.port,
        "gen_ai.response.model": LLAMA,
        "gen_ai.usage.input_tokens": 6,
        "gen_ai.usage.output_tokens": 12,
        "gen_ai.response.finish_reasons": ("stop",),
        "llm_otel.usage.cost": 0.0,  # local models are priced at 0, not unpriced
    }
    metric_attrs = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "ollama",
        "gen_ai.request.model": LLAMA,
        "gen_ai.response.model": LLAMA,
        "server.address": "127.0.0.1",
        "server.port": fake.port,
    }
    duration = ollama_otel.point("gen_ai.client.operation.duration")
    assert dict(duration.attributes or {}) == metric_attrs
    assert duration.count == 1
    assert ollama_otel.point("gen_ai.client.token.usage", gen_ai__token__type="input").sum == 6
    assert ollama_otel.point("gen_ai.client.token.usage", gen_ai__token__type="output").sum == 12
    assert ollama_otel.points("llm_otel.client.unpriced_calls") == []


async def test_options_are_recorded(llama: Llama, ollama_otel: Recorded) -> None:
    options = {
        "temperature": 0.2,
        "top_p": 0.9,
        "top_k": 40,
        "num_predict": 100,
        "seed": 7,
        "stop": ["never"],
        "frequency_penalty": 0.5,
        "presence_penalty": 0.25,
        "num_ctx": 4096,  # no convention attribute
    }
    await llama.chat(options=options, format="json")
    attrs = ollama_otel.attributes()
    assert {key: value for key, value in attrs.items() if key.startswith(("gen_ai.request.", "gen_ai.output"))} == {
        "gen_ai.request.model": LLAMA,
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.top_k": 40,
        "gen_ai.request.max_tokens": 100,
        "gen_ai.request.seed": 7,
        "gen_ai.request.stop_sequences": ("never",),
        "gen_ai.request.frequency_penalty": 0.5,
        "gen_ai.request.presence_penalty": 0.25,
        "gen_ai.output.type": "json",
    }


async def test_an_options_model_is_read(llama: Llama, ollama_otel: Recorded) -> None:
    await llama.chat(options=ollama.Options(temperature=0.5, num_predict=-1))
    attrs = ollama_otel.attributes()
    assert attrs["gen_ai.request.temperature"] == 0.5
    assert "gen_ai.request.max_tokens" not in attrs  # -1: no limit
    assert "gen_ai.output.type" not in attrs


@pytest.mark.skipif(not SCHEMA_FORMAT, reason="this ollama release takes no JSON-schema format")
async def test_a_schema_format_is_json_output(llama: Llama, ollama_otel: Recorded) -> None:
    await llama.chat(format={"type": "object", "properties": {"a": {"type": "string"}}})
    assert ollama_otel.attributes()["gen_ai.output.type"] == "json"


async def test_num_predict_cut_is_finish_reason_length(llama: Llama, ollama_otel: Recorded) -> None:
    await llama.chat(options={"num_predict": 3})
    attrs = ollama_otel.attributes()
    assert (attrs["gen_ai.usage.output_tokens"], attrs["gen_ai.response.finish_reasons"]) == (3, ("length",))


async def test_positional_arguments_are_read(llama: Llama, ollama_otel: Recorded) -> None:
    await llama.call("chat", LLAMA, MESSAGES)
    assert ollama_otel.attributes()["gen_ai.request.model"] == LLAMA


async def test_generate_is_a_text_completion(llama: Llama, ollama_otel: Recorded) -> None:
    reply = await llama.call("generate", LLAMA, "say hello to the test suite", system="be brief", options={"top_k": 5})
    assert isinstance(reply, ollama.GenerateResponse)
    span = ollama_otel.span()
    attrs = dict(span.attributes or {})
    assert span.name == f"text_completion {LLAMA}"
    assert attrs["gen_ai.operation.name"] == "text_completion"
    assert attrs["gen_ai.request.top_k"] == 5
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (8, 12)
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert ollama_otel.point("gen_ai.client.operation.duration", gen_ai__operation__name="text_completion").count == 1


async def test_embed_records_input_tokens(llama: Llama, ollama_otel: Recorded) -> None:
    reply = await llama.call("embed", "nomic-embed-text", ["one two", "three"])
    assert [len(vector) for vector in reply.embeddings] == [8, 8]
    span = ollama_otel.span()
    attrs = dict(span.attributes or {})
    assert span.name == "embeddings nomic-embed-text"
    assert attrs["gen_ai.operation.name"] == "embeddings"
    assert attrs["gen_ai.usage.input_tokens"] == 3
    assert "gen_ai.usage.output_tokens" not in attrs
    assert "gen_ai.response.finish_reasons" not in attrs


@pytest.mark.skipif(not DIMENSIONS, reason="this ollama release takes no embedding dimensions")
async def test_embed_dimensions_are_recorded(llama: Llama, ollama_otel: Recorded) -> None:
    reply = await llama.call("embed", "nomic-embed-text", "one two", dimensions=4)
    assert [len(vector) for vector in reply.embeddings] == [4]
    assert ollama_otel.attributes()["gen_ai.embeddings.dimension.count"] == 4


async def test_legacy_embeddings_report_no_usage(llama: Llama, ollama_otel: Recorded) -> None:
    reply = await llama.call("embeddings", "nomic-embed-text", "one two")
    assert len(reply.embedding) == 8
    attrs = ollama_otel.attributes()
    assert attrs["gen_ai.operation.name"] == "embeddings"
    assert not any(key.startswith(("gen_ai.usage.", "gen_ai.response.")) for key in attrs)


async def test_tool_call_is_finish_reason_tool_call(llama: Llama, fake: FakeProvider, ollama_otel: Recorded) -> None:
    fake.push(Behavior(tool_call=True))
    reply = await llama.chat(tools=TOOLS)
    assert reply.message.tool_calls[0].function.name == "get_weather"
    assert reply.done_reason == "stop"  # as Ollama says it
    assert ollama_otel.attributes()["gen_ai.response.finish_reasons"] == ("tool_call",)


async def test_missing_prompt_eval_count_records_no_input_tokens(
    llama: Llama, fake: FakeProvider, ollama_otel: Recorded
) -> None:
    fake.push(Behavior(cached_tokens=100))  # the whole prompt cached: Ollama leaves the count out
    reply = await llama.chat()
    assert reply.prompt_eval_count is None
    attrs = ollama_otel.attributes()
    assert "gen_ai.usage.input_tokens" not in attrs
    assert attrs["gen_ai.usage.output_tokens"] == 12
    assert ollama_otel.point("gen_ai.client.token.usage", gen_ai__token__type="output").sum == 12
    assert [p.attributes["gen_ai.token.type"] for p in ollama_otel.points("gen_ai.client.token.usage")] == ["output"]


async def test_load_only_request_reports_done_reason_load(llama: Llama, ollama_otel: Recorded) -> None:
    reply = await llama.chat(messages=[])
    assert reply.done_reason == "load"
    attrs = ollama_otel.attributes()
    assert attrs["gen_ai.response.finish_reasons"] == ("load",)
    assert "gen_ai.usage.input_tokens" not in attrs


async def test_model_management_is_not_traced(llama: Llama, fake: FakeProvider, ollama_otel: Recorded) -> None:
    with pytest.raises(ollama.ResponseError):  # the fake serves no /api/tags
        await llama.call("list")
    assert ollama_otel.spans() == []


@pytest.mark.parametrize(
    ("function", "args", "operation"),
    [
        ("chat", (LLAMA, MESSAGES), "chat"),
        ("generate", (LLAMA, "hello"), "text_completion"),
        ("embed", ("nomic-embed-text", "hello"), "embeddings"),
        ("embeddings", ("nomic-embed-text", "hello"), "embeddings"),
    ],
)
def test_module_level_functions_are_traced_once(
    fake: FakeProvider, ollama_otel: Recorded, monkeypatch: pytest.MonkeyPatch, function: str, args: Any, operation: str
) -> None:
    # ``ollama.chat`` & co. are methods of a default client, bound when ollama was imported (before
    # this test instrumented it); point that client at the fake provider.
    default = getattr(ollama, function).__self__
    monkeypatch.setattr(default, "_client", httpx.Client(base_url=fake.url))
    getattr(ollama, function)(*args)
    spans = ollama_otel.spans()
    assert [span.attributes["gen_ai.operation.name"] for span in spans] == [operation]  # type: ignore[index]
    assert spans[0].attributes["server.port"] == fake.port  # type: ignore[index]


def test_server_address_comes_from_the_host_or_ollama_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    assert _endpoint(ollama.Client()) == ("ollama", "127.0.0.1", 11434)
    assert _endpoint(ollama.Client(host="https://ollama.com")) == ("ollama", "ollama.com", 443)
    monkeypatch.setenv("OLLAMA_HOST", "gpu-box:8080")
    assert _endpoint(ollama.AsyncClient()) == ("ollama", "gpu-box", 8080)


def test_the_openai_sdk_on_ollamas_port_reports_ollama_at_no_cost() -> None:
    from llm_otel.providers._endpoint import provider_for_host
    from llm_otel.telemetry._pricing import prices

    assert provider_for_host("localhost", 11434, "openai") == "ollama"
    assert prices.per_token("ollama", "llama3.2") == (0.0, 0.0, 0.0, 0.0, 0.0)
