"""The fake provider server, driven through the real openai SDK (and raw httpx for wire checks)."""

from __future__ import annotations

import asyncio
import base64
import datetime
import enum
import importlib
import json
import re
import struct
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from types import ModuleType
from typing import Annotated, Any, Literal

import httpx
import openai
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from openai.types import Completion, CreateEmbeddingResponse
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response, ResponseStreamEvent, ResponseTextDeltaEvent, ResponseUsage
from pydantic import BaseModel, Field, TypeAdapter

from conftest import FULL_REPLY
from llm_otel.fake import (
    BEHAVIOR_HEADER,
    Behavior,
    FakeProvider,
    Handler,
    JSONReply,
    SSEEvent,
    SSEReply,
    WireError,
    WireRequest,
)
from llm_otel.fake._schema import instance_json

USER = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "what is the weather"}]
PROMPT_TOKENS = 6  # words in USER
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer"},
            },
            "required": ["city"],
        },
    },
}
WEATHER_ARGS = {"city": "fake", "unit": "celsius", "days": 1}
OPENAI_VERSION = tuple(int(part) for part in openai.__version__.split(".")[:2])


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    with FakeProvider() as fake:
        yield fake


@pytest.fixture
def client(provider: FakeProvider) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=provider.openai_base_url, api_key="test", max_retries=0) as sdk:
        yield sdk


def chat(client: openai.OpenAI, behavior: Behavior | None = None, **kwargs: Any) -> Any:
    headers = behavior.header() if behavior else {}
    return client.chat.completions.create(model="gpt-4o-mini", messages=USER, extra_headers=headers, **kwargs)


def chat_helpers(client: Any) -> Any:
    """Where chat's ``parse``/``stream`` helpers live: ``beta.chat.completions`` in openai 1.x."""
    completions = client.chat.completions
    return completions if hasattr(completions, "stream") else client.beta.chat.completions


def http_library(client: Any) -> ModuleType:
    """The HTTP library the SDK speaks through: httpx2 from openai 3.0, httpx before."""
    return importlib.import_module(type(client.base_url).__module__.partition(".")[0])


@contextmanager
def raises_connection_drop(client: Any) -> Iterator[None]:
    """Expect what a stream raises when the server drops the connection mid-body.

    openai 3.14 wraps the HTTP library's `RemoteProtocolError` in `openai.APIConnectionError`;
    earlier releases let it through as it is.
    """
    protocol_error = http_library(client).RemoteProtocolError
    if OPENAI_VERSION < (3, 14):
        with pytest.raises(protocol_error):
            yield
        return
    with pytest.raises(openai.APIConnectionError) as err:
        yield
    assert isinstance(err.value.__cause__, protocol_error)


def raw_sse(provider: FakeProvider, path: str, body: dict[str, Any]) -> list[tuple[str | None, str]]:
    """(event name, data) of every SSE event, read with plain httpx."""
    events: list[tuple[str | None, str]] = []
    response = httpx.post(provider.openai_base_url + path, json=body)
    for block in response.text.split("\n\n"):
        if block.strip():
            fields = dict(line.split(": ", 1) for line in block.split("\n"))
            events.append((fields.get("event"), fields["data"]))
    return events


# -- server basics -------------------------------------------------------------------------------


def test_urls_point_at_the_bound_port(provider: FakeProvider) -> None:
    assert provider.url == f"http://127.0.0.1:{provider.port}"
    assert provider.openai_base_url == provider.url + "/v1"
    assert provider.port > 0


def test_unknown_route_is_a_404_in_the_provider_format(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as err:
        client.post("/nope", cast_to=object, body={})
    assert err.value.body == {
        "message": "Invalid URL (POST /v1/nope)",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }


def test_connections_are_kept_alive(provider: FakeProvider) -> None:
    client_ports = []
    with httpx.Client() as http:
        for text in ("a", "b"):
            body = {"model": "e", "input": text}
            with http.stream("POST", provider.openai_base_url + "/embeddings", json=body) as reply:
                client_ports.append(reply.extensions["network_stream"].get_extra_info("client_addr"))
                reply.read()
    assert client_ports[0] == client_ports[1]  # the second request reused the connection


def test_stream_connections_are_kept_alive(provider: FakeProvider) -> None:
    client_ports = []
    with httpx.Client() as http:
        for _ in range(2):
            body = {"model": "m", "messages": USER, "stream": True}
            with http.stream("POST", provider.openai_base_url + "/chat/completions", json=body) as reply:
                client_ports.append(reply.extensions["network_stream"].get_extra_info("client_addr"))
                assert reply.read().endswith(b"data: [DONE]\n\n")
    assert client_ports[0] == client_ports[1]  # chunked framing ends cleanly


def test_requests_are_recorded_with_lowercased_headers_and_body(provider: FakeProvider, client: openai.OpenAI) -> None:
    chat(client, stream=True, stream_options={"include_usage": True}).close()
    [request] = provider.requests
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.headers["x-stainless-retry-count"] == "0"
    assert request.headers["authorization"] == "Bearer test"
    assert request.body["stream_options"] == {"include_usage": True}
    assert request.body["messages"] == USER
    assert request.behavior == Behavior()


def test_request_record_is_bounded() -> None:
    with FakeProvider(max_recorded=2) as fake:
        for word in ("a", "b", "c"):
            httpx.post(fake.openai_base_url + "/embeddings", json={"model": "e", "input": word})
        assert [r.body["input"] for r in fake.requests] == ["b", "c"]
        fake.reset()
        assert fake.requests == []


def test_retries_are_visible_in_the_record(provider: FakeProvider) -> None:
    provider.push(Behavior(status=429, retry_after=0.01))
    with openai.OpenAI(base_url=provider.openai_base_url, api_key="test", max_retries=2) as sdk:
        reply = chat(sdk)
    assert reply.choices[0].message.content == FULL_REPLY
    assert [r.headers["x-stainless-retry-count"] for r in provider.requests] == ["0", "1"]


def test_stop_returns_while_a_request_hangs(provider: FakeProvider, client: openai.OpenAI) -> None:
    errors: list[Exception] = []

    def call() -> None:
        try:
            chat(client, Behavior(hang=600), timeout=600)
        except Exception as exc:
            errors.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    provider.wait_for_requests(1)
    stopper = threading.Thread(target=provider.stop)
    stopper.start()
    stopper.join(timeout=30)
    caller.join(timeout=30)
    assert not stopper.is_alive()
    assert not caller.is_alive()
    assert [type(e) for e in errors] == [openai.APIConnectionError]


def test_stop_returns_while_a_stream_is_slow(provider: FakeProvider, client: openai.OpenAI) -> None:
    stream = chat(client, Behavior(chunk_delay=600), stream=True)
    first = next(stream)
    assert first.choices[0].delta.role == "assistant"
    provider.stop()
    with raises_connection_drop(client):
        next(stream)


def test_wait_for_requests_times_out(provider: FakeProvider) -> None:
    with pytest.raises(TimeoutError):
        provider.wait_for_requests(1, timeout=0.01)


BURST = 64  # well above the stdlib's default listen backlog of 5


def test_a_burst_of_threaded_clients_all_succeed(provider: FakeProvider) -> None:
    clients = [openai.OpenAI(base_url=provider.openai_base_url, api_key="t", max_retries=0) for _ in range(BURST)]
    start = threading.Barrier(BURST)

    def call(sdk: openai.OpenAI) -> str | None:
        start.wait(timeout=30)  # every client opens its connection at the same moment
        with sdk:
            return chat(sdk).choices[0].message.content

    with ThreadPoolExecutor(BURST) as pool:
        assert list(pool.map(call, clients)) == [FULL_REPLY] * BURST
    assert len(provider.requests) == BURST


def test_a_burst_of_asyncio_tasks_all_succeed(provider: FakeProvider) -> None:
    async def burst() -> list[str | None]:
        async with openai.AsyncOpenAI(base_url=provider.openai_base_url, api_key="t", max_retries=0) as sdk:
            replies = await asyncio.gather(
                *(sdk.chat.completions.create(model="m", messages=USER) for _ in range(BURST // 2)),
                *(sdk.responses.create(model="m", input="x") for _ in range(BURST // 2)),
            )
        return [r.output_text if isinstance(r, Response) else r.choices[0].message.content for r in replies]

    assert asyncio.run(burst()) == [FULL_REPLY] * BURST


# -- behaviour selection -------------------------------------------------------------------------


def test_script_is_consumed_in_fifo_order(provider: FakeProvider, client: openai.OpenAI) -> None:
    provider.push(Behavior(output_tokens=1), times=2)
    provider.push(Behavior(output_tokens=2))
    counts = [chat(client).usage.completion_tokens for _ in range(4)]
    assert counts == [1, 1, 2, 12]


def test_script_model_filter(provider: FakeProvider, client: openai.OpenAI) -> None:
    provider.push(Behavior(status=503), model="gpt-4o")
    assert chat(client).choices[0].finish_reason == "stop"  # gpt-4o-mini: not scripted
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="gpt-4o", messages=USER)
    assert client.chat.completions.create(model="gpt-4o", messages=USER).usage is not None


def test_header_beats_script_and_leaves_it_untouched(provider: FakeProvider, client: openai.OpenAI) -> None:
    provider.push(Behavior(output_tokens=3))
    assert chat(client, Behavior(output_tokens=5)).usage.completion_tokens == 5
    assert chat(client).usage.completion_tokens == 3


def test_default_behavior_is_settable(provider: FakeProvider, client: openai.OpenAI) -> None:
    provider.default_behavior = Behavior(output_tokens=4)
    assert chat(client).usage.completion_tokens == 4
    assert provider.requests[-1].behavior == Behavior(output_tokens=4)


def test_invalid_behavior_header_is_a_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="unknown Behavior fields: colour"):
        client.chat.completions.create(model="m", messages=USER, extra_headers={BEHAVIOR_HEADER: '{"colour": "red"}'})


def test_behavior_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        Behavior(latency=-1)
    with pytest.raises(ValueError):
        Behavior(status=200)
    with pytest.raises(TypeError):
        Behavior(drop_after_chunks=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        FakeProvider().push(Behavior(), times=0)


@given(
    st.builds(
        Behavior,
        latency=st.floats(0, 5),
        status=st.none() | st.integers(400, 599),
        error_code=st.none() | st.text(max_size=10),
        drop_after_chunks=st.none() | st.integers(0, 50),
        output_tokens=st.integers(0, 100),
        tool_call=st.booleans(),
    )
)
def test_behavior_header_round_trips(behavior: Behavior) -> None:
    [(name, value)] = behavior.header().items()
    assert name == BEHAVIOR_HEADER
    assert Behavior.from_json(value) == behavior


# -- chat completions ----------------------------------------------------------------------------


def test_chat_json(client: openai.OpenAI) -> None:
    reply = chat(client)
    assert reply.id.startswith("chatcmpl-")
    assert (reply.object, reply.model, reply.system_fingerprint) == ("chat.completion", "gpt-4o-mini", "fp_llmotelfake")
    [choice] = reply.choices
    assert (choice.index, choice.finish_reason) == (0, "stop")
    assert (choice.message.role, choice.message.content) == ("assistant", FULL_REPLY)
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens, reply.usage.total_tokens) == (
        PROMPT_TOKENS,
        12,
        18,
    )


def test_chat_json_validates_against_the_sdk_model(provider: FakeProvider) -> None:
    body = httpx.post(provider.openai_base_url + "/chat/completions", json={"model": "m", "messages": USER}).json()
    ChatCompletion.model_validate(body, strict=False)
    assert set(body) >= {"id", "object", "created", "model", "choices", "usage", "system_fingerprint"}


def test_chat_counts_text_parts(client: openai.OpenAI) -> None:
    parts = [{"type": "text", "text": "one two"}, {"type": "image_url", "image_url": {"url": "x"}}]
    reply = client.chat.completions.create(model="m", messages=[{"role": "user", "content": parts}])
    assert reply.usage.prompt_tokens == 2


@pytest.mark.parametrize("limit", ["max_tokens", "max_completion_tokens"])
def test_chat_max_tokens_cuts_the_reply(client: openai.OpenAI, limit: str) -> None:
    reply = chat(client, **{limit: 5})
    assert reply.choices[0].finish_reason == "length"
    assert reply.choices[0].message.content == "This is a deterministic reply."
    assert reply.usage.completion_tokens == 5


def test_chat_usage_details(client: openai.OpenAI) -> None:
    usage = chat(client, Behavior(cached_tokens=4, reasoning_tokens=7, output_tokens=3)).usage
    assert usage.prompt_tokens_details.cached_tokens == 4
    assert usage.completion_tokens_details.reasoning_tokens == 7
    assert (usage.completion_tokens, usage.total_tokens) == (10, 16)  # reasoning counts as output


def test_cached_tokens_never_exceed_the_prompt(client: openai.OpenAI) -> None:
    assert chat(client, Behavior(cached_tokens=1000)).usage.prompt_tokens_details.cached_tokens == PROMPT_TOKENS


def test_chat_n_choices(client: openai.OpenAI) -> None:
    reply = chat(client, n=3)
    assert [c.index for c in reply.choices] == [0, 1, 2]
    assert len({c.message.content for c in reply.choices}) == 3
    assert reply.usage.completion_tokens == 36


def test_chat_stream_without_usage(client: openai.OpenAI) -> None:
    chunks = list(chat(client, stream=True))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == FULL_REPLY
    assert len(chunks) == 1 + 12 + 1
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.usage is None and c.object == "chat.completion.chunk" for c in chunks)


def test_chat_stream_with_usage(client: openai.OpenAI) -> None:
    chunks = list(chat(client, Behavior(cached_tokens=2), stream=True, stream_options={"include_usage": True}))
    *content, last = chunks
    assert last.choices == []
    assert (last.usage.prompt_tokens, last.usage.completion_tokens, last.usage.total_tokens) == (6, 12, 18)
    assert last.usage.prompt_tokens_details.cached_tokens == 2
    assert content[-1].choices[0].finish_reason == "stop"
    assert all(c.usage is None for c in content)


def test_chat_stream_wire(provider: FakeProvider) -> None:
    body = {"model": "m", "messages": USER, "stream": True}
    plain = raw_sse(provider, "/chat/completions", body)
    with_usage = raw_sse(provider, "/chat/completions", {**body, "stream_options": {"include_usage": True}})
    assert plain[-1] == (None, "[DONE]") and with_usage[-1] == (None, "[DONE]")
    assert all("usage" not in json.loads(data) for _, data in plain[:-1])  # key absent, not null
    assert all(json.loads(data)["usage"] is None for _, data in with_usage[:-2])
    for _, data in with_usage[:-1]:
        ChatCompletionChunk.model_validate_json(data)


def test_chat_stream_n_choices_interleave(client: openai.OpenAI) -> None:
    texts = ["", ""]
    for chunk in chat(client, stream=True, n=2):
        [choice] = chunk.choices
        texts[choice.index] += choice.delta.content or ""
    assert texts[0] == FULL_REPLY
    assert texts[1] != texts[0] and len(texts[1].split()) == 12


def test_chat_stream_max_tokens(client: openai.OpenAI) -> None:
    chunks = list(chat(client, stream=True, max_tokens=2, stream_options={"include_usage": True}))
    assert chunks[-2].choices[0].finish_reason == "length"
    assert chunks[-1].usage.completion_tokens == 2


def test_async_chat_stream() -> None:
    async def run(provider: FakeProvider) -> tuple[str, int]:
        async with openai.AsyncOpenAI(base_url=provider.openai_base_url, api_key="t", max_retries=0) as sdk:
            stream = await sdk.chat.completions.create(
                model="m", messages=USER, stream=True, stream_options={"include_usage": True}
            )
            text, total = "", 0
            async for chunk in stream:
                text += "".join(c.delta.content or "" for c in chunk.choices)
                total = chunk.usage.total_tokens if chunk.usage else total
            return text, total

    with FakeProvider() as fake:
        assert asyncio.run(run(fake)) == (FULL_REPLY, 18)


# -- tool calls ----------------------------------------------------------------------------------


def test_chat_tool_call_json(client: openai.OpenAI) -> None:
    reply = chat(client, Behavior(tool_call=True), tools=[WEATHER_TOOL])
    [choice] = reply.choices
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    [call] = choice.message.tool_calls
    assert call.id.startswith("call_") and call.type == "function"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == WEATHER_ARGS


def test_chat_tool_call_stream_helper(client: openai.OpenAI) -> None:
    with chat_helpers(client).stream(
        model="m",
        messages=USER,
        tools=[WEATHER_TOOL],
        extra_headers=Behavior(tool_call=True).header(),
        stream_options={"include_usage": True},
    ) as stream:
        events = [event.type for event in stream]
        final = stream.get_final_completion()
    assert "tool_calls.function.arguments.delta" in events
    [call] = final.choices[0].message.tool_calls
    assert (call.function.name, json.loads(call.function.arguments)) == ("get_weather", WEATHER_ARGS)
    assert final.choices[0].finish_reason == "tool_calls"
    # one token per argument fragment: {" city ":" fake "," unit ":" celsius "," days ": 1 }
    assert final.usage.completion_tokens == 13


def test_chat_tool_call_stream_sends_id_and_name_first(client: openai.OpenAI) -> None:
    chunks = list(chat(client, Behavior(tool_call=True), tools=[WEATHER_TOOL], stream=True))
    [first] = chunks[0].choices[0].delta.tool_calls
    assert (first.index, first.type, first.function.name, first.function.arguments) == (
        0,
        "function",
        "get_weather",
        "",
    )
    later = [c.choices[0].delta.tool_calls[0] for c in chunks[1:-1]]
    assert all(t.id is None and t.function.name is None for t in later)
    assert json.loads("".join(t.function.arguments for t in later)) == WEATHER_ARGS


def test_tool_call_without_tools_is_a_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="needs a function tool"):
        chat(client, Behavior(tool_call=True))


# -- legacy completions --------------------------------------------------------------------------


def test_legacy_completion_json(client: openai.OpenAI) -> None:
    reply = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="say something nice", max_tokens=4)
    assert reply.id.startswith("cmpl-") and reply.object == "text_completion"
    assert (reply.choices[0].text, reply.choices[0].finish_reason) == ("This is a deterministic.", "length")
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens, reply.usage.total_tokens) == (3, 4, 7)


def test_legacy_completion_token_prompts_and_n(client: openai.OpenAI) -> None:
    reply = client.completions.create(model="m", prompt=[[1, 2, 3], [4, 5]], n=2)
    assert [c.index for c in reply.choices] == [0, 1, 2, 3]
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (5, 48)


def test_legacy_completion_stream(client: openai.OpenAI) -> None:
    chunks = list(
        client.completions.create(model="m", prompt="hi", stream=True, stream_options={"include_usage": True})
    )
    assert "".join(c.choices[0].text for c in chunks[:-1]) == FULL_REPLY
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 13


def test_legacy_completion_json_validates(provider: FakeProvider) -> None:
    body = httpx.post(provider.openai_base_url + "/completions", json={"model": "m", "prompt": "hi"}).json()
    Completion.model_validate(body)


# -- embeddings ----------------------------------------------------------------------------------


def test_embeddings_float(client: openai.OpenAI) -> None:
    reply = client.embeddings.create(model="text-embedding-3-small", input=["a b c", "d"], encoding_format="float")
    assert [(d.index, len(d.embedding)) for d in reply.data] == [(0, 8), (1, 8)]
    assert (reply.usage.prompt_tokens, reply.usage.total_tokens) == (4, 4)
    assert sum(x * x for x in reply.data[0].embedding) == pytest.approx(1.0, abs=1e-6)


def test_embeddings_are_deterministic_and_base64_matches_float(client: openai.OpenAI) -> None:
    floats = client.embeddings.create(model="m", input="same text", encoding_format="float", dimensions=5)
    default = client.embeddings.create(model="m", input="same text", dimensions=5)  # the SDK asks for base64
    assert default.data[0].embedding == floats.data[0].embedding
    assert len(floats.data[0].embedding) == 5


def test_embeddings_base64_wire(provider: FakeProvider) -> None:
    url = provider.openai_base_url + "/embeddings"
    as_float = httpx.post(url, json={"model": "m", "input": "x", "encoding_format": "float"}).json()
    as_b64 = httpx.post(url, json={"model": "m", "input": "x", "encoding_format": "base64"}).json()
    decoded = struct.unpack("<8f", base64.b64decode(as_b64["data"][0]["embedding"]))
    assert list(decoded) == as_float["data"][0]["embedding"]
    CreateEmbeddingResponse.model_validate(as_float)


def test_embeddings_token_arrays(client: openai.OpenAI) -> None:
    reply = client.embeddings.create(model="m", input=[[1, 2, 3], [4]], encoding_format="float")
    assert len(reply.data) == 2 and reply.usage.prompt_tokens == 4


# -- responses -----------------------------------------------------------------------------------


def cached_tokens(usage: ResponseUsage) -> int:
    """``usage.input_tokens_details.cached_tokens``.

    openai 1.66's `ResponseUsage` has no ``input_tokens_details`` field: it keeps the object as a plain dict.
    """
    details: Any = usage.input_tokens_details
    if "input_tokens_details" in ResponseUsage.model_fields:
        return details.cached_tokens
    assert isinstance(details, dict)
    return details["cached_tokens"]


def test_responses_json(client: openai.OpenAI) -> None:
    reply = client.responses.create(model="gpt-4.1", instructions="be nice", input="hello world")
    assert reply.id.startswith("resp_") and reply.status == "completed"
    assert reply.output_text == FULL_REPLY
    assert reply.output[0].type == "message" and reply.output[0].id.startswith("msg_")
    usage = reply.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (4, 12, 16)
    assert cached_tokens(usage) == 0
    assert usage.output_tokens_details.reasoning_tokens == 0


def test_responses_counts_input_items(client: openai.OpenAI) -> None:
    items = [
        {"role": "user", "content": "one two"},
        {"role": "user", "content": [{"type": "input_text", "text": "three"}]},
    ]
    assert client.responses.create(model="m", input=items).usage.input_tokens == 3


def test_responses_json_validates(provider: FakeProvider) -> None:
    body = httpx.post(provider.openai_base_url + "/responses", json={"model": "m", "input": "x"}).json()
    Response.model_validate(body)


def test_responses_max_output_tokens_is_incomplete(client: openai.OpenAI) -> None:
    reply = client.responses.create(model="m", input="x", max_output_tokens=3)
    assert reply.status == "incomplete"
    assert reply.incomplete_details.reason == "max_output_tokens"
    assert (reply.output_text, reply.usage.output_tokens) == ("This is a.", 3)


def test_responses_usage_details(client: openai.OpenAI) -> None:
    usage = client.responses.create(
        model="m", input="a b c", extra_headers=Behavior(cached_tokens=2, reasoning_tokens=5).header()
    ).usage
    assert (cached_tokens(usage), usage.output_tokens_details.reasoning_tokens) == (2, 5)
    assert (usage.output_tokens, usage.total_tokens) == (17, 20)


def test_responses_stream_helper(client: openai.OpenAI) -> None:
    with client.responses.stream(model="m", input="hello world") as stream:
        events = list(stream)
        final = stream.get_final_response()
    assert [e.type for e in events[:4]] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert [e.type for e in events[-4:]] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == FULL_REPLY
    numbers = [getattr(e, "sequence_number", None) for e in events]
    if "sequence_number" in ResponseTextDeltaEvent.model_fields:
        assert numbers == list(range(len(events)))
    else:  # openai 1.66's events have no such field; its helper rebuilds these three kinds without the extra
        rebuilt = {"response.output_text.delta", "response.output_text.done", "response.completed"}
        assert numbers == [None if e.type in rebuilt else i for i, e in enumerate(events)]
    assert final.output_text == FULL_REPLY
    assert (final.usage.input_tokens, final.usage.output_tokens) == (2, 12)


def test_responses_stream_wire(provider: FakeProvider) -> None:
    events = raw_sse(provider, "/responses", {"model": "m", "input": "x", "stream": True})
    adapter: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
    for name, data in events:
        assert adapter.validate_json(data).type == name  # every event named, and valid
    assert events[-1][0] == "response.completed"  # no [DONE] on this API


def test_responses_tool_call(client: openai.OpenAI) -> None:
    tool = {"type": "function", **WEATHER_TOOL["function"]}
    reply = client.responses.create(model="m", input="x", tools=[tool], extra_headers=Behavior(tool_call=True).header())
    [call] = reply.output
    assert call.type == "function_call" and call.call_id.startswith("call_")
    assert (call.name, json.loads(call.arguments)) == ("get_weather", WEATHER_ARGS)


def test_responses_echo_function_tools_as_the_api_does(provider: FakeProvider) -> None:
    tool = {"type": "function", **WEATHER_TOOL["function"]}
    loose = {**tool, "name": "loose", "description": "as sent", "strict": False}
    search = {"type": "web_search_preview"}
    body = {"model": "m", "input": "x", "tools": [tool, loose, search]}
    reply = httpx.post(provider.openai_base_url + "/responses", json=body).json()
    Response.model_validate(reply)
    closed = {**tool["parameters"], "required": ["city", "unit", "days"], "additionalProperties": False}
    strict = {"type": "function", "description": None, "name": "get_weather", "parameters": closed, "strict": True}
    assert reply["tools"] == [strict, {"type": "function", **loose}, search]  # strict mode unless opted out


def test_responses_tool_call_stream_helper(client: openai.OpenAI) -> None:
    tool = {"type": "function", **WEATHER_TOOL["function"]}
    with client.responses.stream(
        model="m", input="x", tools=[tool], extra_headers=Behavior(tool_call=True).header()
    ) as stream:
        types = [e.type for e in stream]
        final = stream.get_final_response()
    assert "response.function_call_arguments.delta" in types
    assert json.loads(final.output[0].arguments) == WEATHER_ARGS


def test_async_responses_stream() -> None:
    async def run(provider: FakeProvider) -> str:
        sdk = openai.AsyncOpenAI(base_url=provider.openai_base_url, api_key="t", max_retries=0)
        async with sdk, sdk.responses.stream(model="m", input="x") as stream:
            return (await stream.get_final_response()).output_text

    with FakeProvider() as fake:
        assert asyncio.run(run(fake)) == FULL_REPLY


# -- structured outputs --------------------------------------------------------------------------


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Address(BaseModel):
    street: str
    zip_code: int = Field(ge=10000, le=99999)


class Person(BaseModel):
    name: str
    age: int
    score: float = Field(gt=0, lt=1)
    admin: bool
    tags: list[str]
    colour: Colour  # a $ref into $defs
    kind: Literal["human", "robot"]
    home: Address
    past: list[Address]
    nickname: str | None  # anyOf [string, null]
    born: datetime.datetime


class Node(BaseModel):
    value: int
    children: list[Node]
    parent: Node | None


HOME = Address(street="fake", zip_code=10000)
PERSON = Person(
    name="fake",
    age=1,
    score=0.5,
    admin=True,
    tags=["fake"],
    colour=Colour.RED,
    kind="human",
    home=HOME,
    past=[HOME],
    nickname="fake",
    born=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc),
)
JSON_REPLY = json.dumps({"text": FULL_REPLY}, separators=(",", ":"))


def fragments(text: str) -> int:
    """Tokens of a JSON reply: one per run of word / non-word characters (= one per stream chunk)."""
    return len(re.findall(r"\w+|\W+", text))


def test_chat_parse(provider: FakeProvider, client: openai.OpenAI) -> None:
    reply = chat_helpers(client).parse(model="m", messages=USER, response_format=Person)
    [choice] = reply.choices
    assert (choice.message.parsed, choice.finish_reason) == (PERSON, "stop")
    assert reply.usage.completion_tokens == fragments(choice.message.content) == 67
    sent = provider.requests[-1].body["response_format"]
    assert sent["type"] == "json_schema" and "$defs" in sent["json_schema"]["schema"]


def test_chat_stream_helper_parses(client: openai.OpenAI) -> None:
    with chat_helpers(client).stream(
        model="m", messages=USER, response_format=Person, stream_options={"include_usage": True}
    ) as stream:
        # the first chunk carries the role and an empty content, as the live API's does
        deltas = [event.delta for event in stream if event.type == "content.delta" and event.delta]
        final = stream.get_final_completion()
    assert final.choices[0].message.parsed == PERSON
    assert Person.model_validate_json("".join(deltas)) == PERSON
    assert final.usage.completion_tokens == len(deltas)  # one token per streamed fragment


def test_responses_parse(provider: FakeProvider, client: openai.OpenAI) -> None:
    reply = client.responses.parse(model="m", input="x", text_format=Person)
    assert reply.output_parsed == PERSON
    assert reply.usage.output_tokens == fragments(reply.output_text) == 67
    assert provider.requests[-1].body["text"]["format"]["type"] == "json_schema"
    assert reply.text.format.type == "json_schema"  # the request's format is echoed


def test_responses_stream_helper_parses(client: openai.OpenAI) -> None:
    with client.responses.stream(model="m", input="x", text_format=Person) as stream:
        deltas = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert final.output_parsed == PERSON
    assert final.usage.output_tokens == len(deltas)


def test_async_structured_outputs() -> None:
    async def run(provider: FakeProvider) -> list[Any]:
        async with openai.AsyncOpenAI(base_url=provider.openai_base_url, api_key="t", max_retries=0) as sdk:
            chat = await chat_helpers(sdk).parse(model="m", messages=USER, response_format=Person)
            async with chat_helpers(sdk).stream(model="m", messages=USER, response_format=Person) as stream:
                chat_streamed = await stream.get_final_completion()
            response = await sdk.responses.parse(model="m", input="x", text_format=Person)
            async with sdk.responses.stream(model="m", input="x", text_format=Person) as stream:
                response_streamed = await stream.get_final_response()
        return [
            chat.choices[0].message.parsed,
            chat_streamed.choices[0].message.parsed,
            response.output_parsed,
            response_streamed.output_parsed,
        ]

    with FakeProvider() as fake:
        assert asyncio.run(run(fake)) == [PERSON] * 4


def test_recursive_schema_is_unrolled_once(client: openai.OpenAI) -> None:
    node = chat_helpers(client).parse(model="m", messages=USER, response_format=Node).choices[0].message.parsed
    leaf = Node(value=1, children=[], parent=None)
    assert node.children[0].children == [leaf] and node.children[0].parent == leaf


def test_json_object_mode(client: openai.OpenAI) -> None:
    fmt = {"type": "json_object"}
    reply = chat(client, response_format=fmt)
    assert reply.choices[0].message.content == JSON_REPLY
    assert reply.usage.completion_tokens == 12  # one token per word of the sentence, as in plain text
    chunks = list(chat(client, Behavior(output_tokens=1), response_format=fmt, stream=True))
    assert [c.choices[0].delta.content for c in chunks] == ["", '{"text":"This."}', None]
    response = client.responses.create(model="m", input="x", text={"format": fmt}, max_output_tokens=2)
    assert (response.status, response.output_text) == ("incomplete", '{"text":"This is')  # cut JSON stays cut


def test_json_schema_without_a_schema_answers_a_json_object(client: openai.OpenAI) -> None:
    reply = chat(client, response_format={"type": "json_schema", "json_schema": {"name": "anything"}})
    assert reply.choices[0].message.content == JSON_REPLY


def test_structured_output_is_cut_by_max_tokens(client: openai.OpenAI) -> None:
    with pytest.raises(openai.LengthFinishReasonError):
        chat_helpers(client).parse(model="m", messages=USER, response_format=Person, max_completion_tokens=5)
    schema = Person.model_json_schema()
    fmt = {"type": "json_schema", "json_schema": {"name": "p", "schema": schema}}
    reply = chat(client, response_format=fmt, max_tokens=5)
    assert (reply.choices[0].message.content, reply.choices[0].finish_reason) == ('{"name":"fake","', "length")
    text = {"format": {"type": "json_schema", "name": "p", "schema": schema}}
    cut = client.responses.create(model="m", input="x", max_output_tokens=3, text=text)
    assert (cut.status, cut.output_text) == ("incomplete", '{"name":"')


def test_tool_call_wins_over_the_response_format(client: openai.OpenAI) -> None:
    reply = chat(client, Behavior(tool_call=True), tools=[WEATHER_TOOL], response_format={"type": "json_object"})
    assert reply.choices[0].message.content is None
    assert json.loads(reply.choices[0].message.tool_calls[0].function.arguments) == WEATHER_ARGS


def test_invalid_schemas_are_a_400(client: openai.OpenAI) -> None:
    dangling = {"type": "json_schema", "json_schema": {"name": "p", "schema": {"$ref": "#/$defs/Missing"}}}
    with pytest.raises(openai.BadRequestError, match="does not resolve") as err:
        chat(client, response_format=dangling)
    assert err.value.param == "response_format"
    with pytest.raises(openai.BadRequestError, match=r"response_format\.json_schema"):
        chat(client, response_format={"type": "json_schema"})
    with pytest.raises(openai.BadRequestError, match="no finite instance") as err:
        text = {"format": {"type": "json_schema", "name": "loop", "schema": {"$ref": "#"}}}
        client.responses.create(model="m", input="x", text=text)
    assert err.value.param == "text.format"


@pytest.mark.parametrize(
    ("schema", "instance"),
    [
        ({"type": "string", "format": "date"}, "2024-01-01"),
        ({"type": "string", "minLength": 6}, "fakefa"),
        ({"type": "string", "maxLength": 2}, "fa"),
        ({"const": 3, "type": "integer"}, 3),
        ({"type": ["null", "integer"]}, 1),
        ({"anyOf": [{"type": "null"}, {"type": "boolean"}]}, True),
        (
            {"allOf": [{"properties": {"a": {"type": "integer"}}}, {"properties": {"b": {"type": "boolean"}}}]},
            {"a": 1, "b": True},
        ),
        ({"type": "array", "items": {"type": "integer"}, "minItems": 3}, [1, 1, 1]),
        ({"type": "array", "items": {"type": "integer"}, "maxItems": 0}, []),
        ({"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]}, ["fake", 1]),
        ({"type": "object", "additionalProperties": {"type": "integer"}}, {}),
        ({"type": "integer", "exclusiveMinimum": 5}, 6),
        ({"type": "integer", "maximum": 0.5}, 0),
        ({"type": "integer", "exclusiveMinimum": 1.5, "maximum": 3}, 2),
        ({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 0.5}, 0.25),
        ({"$defs": {"a/b": {"enum": ["x", "y"]}}, "$ref": "#/$defs/a~1b"}, "x"),
        ({}, None),
    ],
)
def test_schema_instances(schema: dict[str, Any], instance: object) -> None:
    assert json.loads(instance_json(schema)) == instance


@given(
    integer=st.booleans(),
    low=st.none() | st.integers(-20, 20),
    high=st.none() | st.integers(-20, 20),
    low_open=st.booleans(),
    high_open=st.booleans(),
)
def test_numbers_respect_their_bounds(
    integer: bool, low: int | None, high: int | None, low_open: bool, high_open: bool
) -> None:
    scale = 1 if integer else 4  # quarter steps make narrow float ranges such as (0.25, 0.5)
    lo, hi = (None if x is None else x / scale for x in (low, high))
    if lo is not None and hi is not None:  # skip empty ranges
        if integer:
            assume(lo + low_open <= hi - high_open)
        else:
            assume(lo < hi or (lo == hi and not (low_open or high_open)))
    bounds = {} if lo is None else {"gt" if low_open else "ge": lo}
    bounds |= {} if hi is None else {"lt" if high_open else "le": hi}
    adapter: TypeAdapter[Any] = TypeAdapter(Annotated[int if integer else float, Field(**bounds)])
    adapter.validate_json(instance_json(adapter.json_schema()))  # pydantic checks the bounds


# -- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "exception", "error_type", "code"),
    [
        (400, openai.BadRequestError, "invalid_request_error", None),
        (401, openai.AuthenticationError, "invalid_request_error", "invalid_api_key"),
        (403, openai.PermissionDeniedError, "request_forbidden", "unsupported_country_region_territory"),
        (404, openai.NotFoundError, "invalid_request_error", "model_not_found"),
        (409, openai.ConflictError, "invalid_request_error", None),
        (422, openai.UnprocessableEntityError, "invalid_request_error", None),
        (429, openai.RateLimitError, "requests", "rate_limit_exceeded"),
        (500, openai.InternalServerError, "server_error", None),
        (503, openai.InternalServerError, "server_error", None),
    ],
)
def test_error_status_maps_to_sdk_exception(
    client: openai.OpenAI, status: int, exception: type[openai.APIStatusError], error_type: str, code: str | None
) -> None:
    with pytest.raises(exception) as err:
        chat(client, Behavior(status=status))
    assert err.value.status_code == status
    assert err.value.type == error_type and err.value.code == code
    sent = err.value.response.json()
    assert err.value.body == sent["error"]
    # openai 3.38 words the message from the error's own; earlier releases append the whole body
    detail = sent["error"]["message"] if OPENAI_VERSION >= (3, 38) else sent
    assert err.value.message == f"Error code: {status} - {detail}"
    assert err.value.request_id.startswith("req_")


def test_rate_limit_headers(client: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as err:
        chat(client, Behavior(status=429, retry_after=7))
    headers = err.value.response.headers
    assert headers["retry-after"] == "7"
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert headers["x-ratelimit-reset-requests"] == "7s"


def test_rate_limit_default_retry_after(client: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as err:
        chat(client, Behavior(status=429))
    assert err.value.response.headers["retry-after"] == "1"


def test_insufficient_quota(client: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as err:
        chat(client, Behavior(status=429, error_code="insufficient_quota"))
    assert (err.value.type, err.value.code) == ("insufficient_quota", "insufficient_quota")


def test_context_length_exceeded(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        chat(client, Behavior(status=400, error_code="context_length_exceeded"))
    assert (err.value.code, err.value.param) == ("context_length_exceeded", "messages")


def test_error_status_on_a_stream_request_is_plain_json(client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError):
        chat(client, Behavior(status=500), stream=True)


def test_success_responses_carry_openai_headers(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(model="m", messages=USER)
    assert raw.headers["x-request-id"].startswith("req_")
    assert raw.headers["x-ratelimit-remaining-requests"] == "9999"
    assert raw.headers["openai-version"] == "2020-10-01"


def test_missing_model_is_a_400(provider: FakeProvider) -> None:
    reply = httpx.post(provider.openai_base_url + "/chat/completions", json={"messages": USER})
    assert reply.status_code == 400 and reply.json()["error"]["param"] == "model"


def test_hang_makes_the_client_time_out(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APITimeoutError):
        chat(client, Behavior(hang=600), timeout=0.2)


def test_latency_and_pacing_keep_the_content(client: openai.OpenAI) -> None:
    behavior = Behavior(latency=0.01, ttft=0.01, chunk_delay=0.001)
    chunks = list(chat(client, behavior, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == FULL_REPLY


@pytest.mark.parametrize("n", [0, 1, 3, 14])
def test_drop_after_chunks(client: openai.OpenAI, n: int) -> None:
    received = []
    with raises_connection_drop(client):
        for chunk in chat(client, Behavior(drop_after_chunks=n), stream=True):
            received.append(chunk)
    assert len(received) == n  # 14 = every chunk: only the [DONE] terminator is missing


def test_drop_after_chunks_async() -> None:
    async def run(provider: FakeProvider) -> int:
        async with openai.AsyncOpenAI(base_url=provider.openai_base_url, api_key="t", max_retries=0) as sdk:
            stream = await sdk.responses.create(
                model="m", input="x", stream=True, extra_headers=Behavior(drop_after_chunks=5).header()
            )
            count = 0
            with raises_connection_drop(sdk):
                async for _ in stream:
                    count += 1
            return count

    with FakeProvider() as fake:
        assert asyncio.run(run(fake)) == 5


def test_stream_error_after_chunks(client: openai.OpenAI) -> None:
    received = []
    with pytest.raises(openai.APIError) as err:
        for chunk in chat(client, Behavior(stream_error_after_chunks=3, error_code="server_error"), stream=True):
            received.append(chunk)
    assert len(received) == 3
    assert type(err.value) is openai.APIError
    assert err.value.body == {
        "message": "The server had an error while processing your request. Sorry about that!",
        "type": "server_error",
        "param": None,
        "code": "server_error",
    }


def test_legacy_completion_stream_error(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIError):
        list(
            client.completions.create(
                model="m", prompt="x", stream=True, extra_headers=Behavior(stream_error_after_chunks=1).header()
            )
        )


def test_responses_stream_error(client: openai.OpenAI) -> None:
    received = []
    with pytest.raises(openai.APIError) as err:
        for event in client.responses.create(
            model="m", input="x", stream=True, extra_headers=Behavior(stream_error_after_chunks=6).header()
        ):
            received.append(event.type)
    assert len(received) == 6 and received[-1] == "response.output_text.delta"
    assert err.value.body["type"] == "server_error"


def test_responses_stream_error_wire(provider: FakeProvider) -> None:
    body = {"model": "m", "input": "x", "stream": True}
    with httpx.Client() as http:
        headers = Behavior(stream_error_after_chunks=2).header()
        reply = http.post(provider.openai_base_url + "/responses", json=body, headers=headers)
    events = [block.split("\n") for block in reply.text.strip().split("\n\n")]
    names = [lines[0].removeprefix("event: ") for lines in events]
    assert names == ["response.created", "response.in_progress", "error", "response.failed"]
    failed = json.loads(events[-1][1].removeprefix("data: "))
    assert (failed["sequence_number"], failed["response"]["status"]) == (3, "failed")
    assert failed["response"]["error"]["code"] == "server_error"


def test_malformed_json_body(client: openai.OpenAI) -> None:
    with pytest.raises(json.JSONDecodeError):
        chat(client, Behavior(malformed=True))


def test_malformed_stream_chunk(client: openai.OpenAI) -> None:
    with pytest.raises(json.JSONDecodeError):
        list(chat(client, Behavior(malformed=True), stream=True))


def test_invalid_json_request_body_is_a_400(provider: FakeProvider) -> None:
    reply = httpx.post(
        provider.openai_base_url + "/chat/completions", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert reply.status_code == 400
    assert reply.json()["error"]["type"] == "invalid_request_error"
    assert provider.requests[-1].body == "{nope"


def test_hang_that_expires_closes_without_answering(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIConnectionError):
        chat(client, Behavior(hang=0.01), timeout=600)


# -- Azure OpenAI --------------------------------------------------------------------------------


def test_azure_deployment_endpoints(provider: FakeProvider) -> None:
    with openai.AzureOpenAI(azure_endpoint=provider.url, api_key="k", api_version="2024-10-21", max_retries=0) as azure:
        reply = azure.chat.completions.create(model="my-gpt", messages=USER)
        completion = azure.completions.create(model="my-instruct", prompt="hi")
        vectors = azure.embeddings.create(model="my-embedder", input="hi")
        response = azure.responses.parse(model="my-gpt", input="x", text_format=Person)
    assert (reply.model, reply.choices[0].message.content) == ("my-gpt", FULL_REPLY)
    assert (completion.model, completion.choices[0].text) == ("my-instruct", FULL_REPLY)
    assert len(vectors.data[0].embedding) == 8
    assert (response.model, response.output_parsed) == ("my-gpt", PERSON)
    assert [(r.path, r.query, r.headers["api-key"]) for r in provider.requests] == [
        ("/openai/deployments/my-gpt/chat/completions", "api-version=2024-10-21", "k"),
        ("/openai/deployments/my-instruct/completions", "api-version=2024-10-21", "k"),
        ("/openai/deployments/my-embedder/embeddings", "api-version=2024-10-21", "k"),
        ("/openai/responses", "api-version=2024-10-21", "k"),
    ]


def test_azure_client_with_a_fixed_deployment(provider: FakeProvider) -> None:
    with openai.AzureOpenAI(
        azure_endpoint=provider.url, azure_deployment="dep", api_key="k", api_version="2024-10-21"
    ) as azure:
        azure.chat.completions.create(model="gpt-4o", messages=USER)
        azure.responses.create(model="gpt-4o", input="x")
    assert [r.path for r in provider.requests] == ["/openai/deployments/dep/chat/completions", "/openai/responses"]


def test_azure_deployment_is_the_model_when_the_body_has_none(provider: FakeProvider) -> None:
    provider.push(Behavior(output_tokens=2), model="other")
    provider.push(Behavior(output_tokens=3), model="dep%2F1")  # scripts match the (unquoted) deployment
    provider.push(Behavior(output_tokens=4), model="dep/1")
    url = provider.url + "/openai/deployments/dep%2F1/chat/completions?api-version=2024-10-21"
    reply = httpx.post(url, json={"messages": USER}).json()
    assert (reply["model"], reply["usage"]["completion_tokens"]) == ("dep/1", 4)
    ChatCompletion.model_validate(reply)


def test_azure_v1_endpoints(provider: FakeProvider) -> None:
    with openai.OpenAI(base_url=provider.url + "/openai/v1/", api_key="k", max_retries=0) as azure:
        assert azure.responses.parse(model="dep", input="x", text_format=Person).output_parsed == PERSON
        assert azure.chat.completions.create(model="dep", messages=USER).choices[0].message.content == FULL_REPLY
        assert azure.embeddings.create(model="emb", input="x").data[0].index == 0
    assert [r.path for r in provider.requests] == [
        "/openai/v1/responses",
        "/openai/v1/chat/completions",
        "/openai/v1/embeddings",
    ]


def test_async_azure_clients() -> None:
    async def run(provider: FakeProvider) -> list[Any]:
        async with openai.AsyncAzureOpenAI(
            azure_endpoint=provider.url, api_key="k", api_version="2024-10-21", max_retries=0
        ) as azure:
            stream = await azure.chat.completions.create(model="dep", messages=USER, stream=True)
            text = "".join([c.choices[0].delta.content or "" async for c in stream])
            vectors = await azure.embeddings.create(model="emb", input="x")
            parsed = await azure.responses.parse(model="dep", input="x", text_format=Person)
        v1 = openai.AsyncOpenAI(base_url=provider.url + "/openai/v1/", api_key="k", max_retries=0)
        async with v1, v1.responses.stream(model="dep", input="x", text_format=Person) as events:
            streamed = await events.get_final_response()
        return [text, len(vectors.data), parsed.output_parsed, streamed.output_parsed]

    with FakeProvider() as fake:
        assert asyncio.run(run(fake)) == [FULL_REPLY, 1, PERSON, PERSON]
        assert [r.path for r in fake.requests] == [
            "/openai/deployments/dep/chat/completions",
            "/openai/deployments/emb/embeddings",
            "/openai/responses",
            "/openai/v1/responses",
        ]


def test_azure_unknown_paths_are_404s(provider: FakeProvider) -> None:
    for path in ("/openai/deployments/dep/responses", "/openai/deployments//chat/completions", "/openai/nope"):
        assert httpx.post(provider.url + path, json={"model": "m"}).status_code == 404


# -- pluggable wire formats ----------------------------------------------------------------------


class TickerWire:
    """A minimal provider: ``POST /tick`` streams ``count`` numbered events."""

    name = "ticker"

    @property
    def routes(self) -> dict[tuple[str, str], Handler]:
        return {("POST", "/tick"): self.tick}

    def tick(self, req: WireRequest) -> JSONReply | SSEReply:
        if not isinstance(req.body, dict) or not isinstance(req.body.get("count"), int):
            raise WireError(422, "count must be an int")
        events = (SSEEvent({"tick": i}, event="tick") for i in range(req.body["count"]))
        return SSEReply(
            events,
            terminator=[SSEEvent({"done": True}, event="end", paced=False)],
            error_events=lambda sent: [SSEEvent({"failed_after": sent}, event="oops", paced=False)],
        )

    def error_reply(self, req: WireRequest, error: WireError) -> JSONReply:
        return JSONReply({"problem": error.message or "injected", "code": error.code}, status=error.status)

    def response_headers(self, req: WireRequest, status: int) -> dict[str, str]:
        return {"x-ticker": str(status)}


def test_custom_wire_format_gets_the_generic_behaviours() -> None:
    with FakeProvider(wire_formats=[TickerWire()]) as fake, httpx.Client(base_url=fake.url) as http:
        ok = http.post("/tick", json={"count": 2})
        assert (ok.headers["x-ticker"], ok.text) == (
            "200",
            'event: tick\ndata: {"tick":0}\n\nevent: tick\ndata: {"tick":1}\n\nevent: end\ndata: {"done":true}\n\n',
        )
        failed = http.post("/tick", json={"count": 5}, headers=Behavior(stream_error_after_chunks=1).header())
        assert failed.text.endswith('event: oops\ndata: {"failed_after":1}\n\n')
        limited = http.post("/tick", json={"count": 1}, headers=Behavior(status=429, error_code="slow").header())
        assert (limited.status_code, limited.json()) == (429, {"problem": "injected", "code": "slow"})
        assert limited.headers["retry-after"] == "1"
        assert http.post("/tick", json={}).json() == {"problem": "count must be an int", "code": None}
        with pytest.raises(httpx.RemoteProtocolError):
            http.post("/tick", json={"count": 5}, headers=Behavior(drop_after_chunks=2).header())
        assert http.post("/v1/chat/completions", json={}).status_code == 404  # OpenAI not served


def test_overlapping_routes_are_refused() -> None:
    with pytest.raises(ValueError, match="registered by two wire formats"):
        FakeProvider(wire_formats=[TickerWire(), TickerWire()])
