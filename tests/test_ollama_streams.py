"""Ollama streams (``stream=True``, NDJSON on the wire): one span, ended exactly once on every exit path,
with the counts and done reason read from the last chunk; the caller's generator is unchanged."""

from __future__ import annotations

import collections.abc
import gc
import inspect
from typing import Any

import httpx
import ollama
import pytest
from opentelemetry import trace
from opentelemetry.trace import StatusCode

from conftest import Llama, Recorded, drain, first, maybe_await
from llm_otel.fake import Behavior, FakeProvider
from test_ollama_calls import TOOLS

pytestmark = pytest.mark.anyio

CHUNKS = 13  # 12 pieces, then the done chunk


async def open_stream(llama: Llama, **kwargs: Any) -> Any:
    return await llama.chat(stream=True, **kwargs)


async def close(llama: Llama, stream: Any) -> None:
    await maybe_await(stream.aclose() if llama.mode == "async" else stream.close())


async def test_stream_span_ends_on_exhaustion(llama: Llama, ollama_otel: Recorded) -> None:
    chunks = await drain(await open_stream(llama, options={"temperature": 0.1}))
    assert len(chunks) == CHUNKS
    assert all(isinstance(chunk, ollama.ChatResponse) for chunk in chunks)
    assert [chunk.done for chunk in chunks].count(True) == 1
    span = ollama_otel.span()
    attrs = dict(span.attributes or {})
    assert span.status.status_code is StatusCode.UNSET
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.request.temperature"] == 0.1
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (6, 12)
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["gen_ai.response.model"] == chunks[0].model
    assert attrs["gen_ai.response.time_to_first_chunk"] > 0
    assert ollama_otel.point("gen_ai.client.operation.time_to_first_chunk").count == 1
    assert ollama_otel.point("gen_ai.client.operation.time_per_output_chunk").count == CHUNKS - 1
    assert ollama_otel.point("gen_ai.client.token.usage", gen_ai__token__type="output").sum == 12


async def test_stream_is_still_the_sdks_generator(llama: Llama, ollama_otel: Recorded) -> None:
    stream = await open_stream(llama)
    if llama.mode == "async":
        assert inspect.isasyncgen(stream)
        assert isinstance(stream, collections.abc.AsyncGenerator)
        assert not hasattr(stream, "close")  # an async generator has only aclose()
    else:
        assert inspect.isgenerator(stream)
        assert isinstance(stream, collections.abc.Generator)
    await drain(stream)


async def test_generate_stream_is_a_text_completion(llama: Llama, ollama_otel: Recorded) -> None:
    chunks = await drain(await llama.call("generate", "llama3.2", "hello there", stream=True))
    assert (
        "".join(chunk.response for chunk in chunks)
        == "This is a deterministic reply from the fake provider with one token."
    )
    attrs = dict(ollama_otel.span().attributes or {})
    assert attrs["gen_ai.operation.name"] == "text_completion"
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (2, 12)


async def test_nothing_is_sent_or_timed_before_the_first_read(
    llama: Llama, fake: FakeProvider, ollama_otel: Recorded
) -> None:
    stream = await open_stream(llama)
    assert fake.requests == []  # the SDK's generator sends its request when first read
    await first(stream)
    assert len(fake.requests) == 1
    await close(llama, stream)


class SpanSeeingTransport(httpx.HTTPTransport):
    """Notes the current span when the client sends a request, as an HTTP instrumentation would."""

    def __init__(self, seen: list[trace.Span]) -> None:
        super().__init__()
        self.seen = seen

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(trace.get_current_span())
        return super().handle_request(request)


class AsyncSpanSeeingTransport(httpx.AsyncHTTPTransport):
    def __init__(self, seen: list[trace.Span]) -> None:
        super().__init__()
        self.seen = seen

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(trace.get_current_span())
        return await super().handle_async_request(request)


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_the_request_is_sent_under_the_calls_span(fake: FakeProvider, ollama_otel: Recorded, mode: str) -> None:
    seen: list[trace.Span] = []
    transport = AsyncSpanSeeingTransport(seen) if mode == "async" else SpanSeeingTransport(seen)
    llama = Llama(mode, fake.url, transport=transport)
    stream = await open_stream(llama)
    assert seen == []
    await drain(stream)
    assert trace.get_current_span() is trace.INVALID_SPAN  # detached again
    span = ollama_otel.span()
    assert [s.get_span_context().span_id for s in seen] == [span.context.span_id]  # type: ignore[union-attr]


async def test_stream_span_ends_on_error_line(llama: Llama, fake: FakeProvider, ollama_otel: Recorded) -> None:
    fake.push(Behavior(stream_error_after_chunks=4))
    stream = await open_stream(llama)
    with pytest.raises(ollama.ResponseError) as caught:
        await drain(stream)
    assert caught.value.error == "an error was encountered while running the model"
    span = ollama_otel.span()
    attrs = dict(span.attributes or {})
    assert span.status.status_code is StatusCode.ERROR
    assert attrs["error.type"] == "ollama.ResponseError"
    assert "gen_ai.usage.output_tokens" not in attrs  # no done chunk arrived
    assert attrs["gen_ai.response.model"] == "llama3.2"  # from the first chunk
    assert ollama_otel.point("gen_ai.client.operation.duration", error__type="ollama.ResponseError").count == 1
    assert ollama_otel.point("gen_ai.client.operation.time_per_output_chunk").count == 3


@pytest.mark.parametrize("status", [404, 500])
async def test_stream_http_error_surfaces_on_first_read(
    llama: Llama, fake: FakeProvider, ollama_otel: Recorded, status: int
) -> None:
    fake.push(Behavior(status=status))
    stream = await open_stream(llama)
    with pytest.raises(ollama.ResponseError) as caught:
        await first(stream)
    assert caught.value.status_code == status
    attrs = dict(ollama_otel.span().attributes or {})
    assert attrs["error.type"] == "ollama.ResponseError"
    assert "gen_ai.response.time_to_first_chunk" not in attrs
    assert ollama_otel.points("gen_ai.client.operation.time_to_first_chunk") == []


async def test_stream_span_ends_on_connection_drop(llama: Llama, fake: FakeProvider, ollama_otel: Recorded) -> None:
    fake.push(Behavior(drop_after_chunks=3))
    with pytest.raises(httpx.HTTPError) as caught:
        await drain(await open_stream(llama))
    cls = type(caught.value)
    assert (ollama_otel.span().attributes or {})["error.type"] == f"httpx.{cls.__qualname__}"


async def test_stream_span_ends_on_close_after_break(llama: Llama, ollama_otel: Recorded) -> None:
    stream = await open_stream(llama)
    await first(stream)
    assert ollama_otel.spans() == []
    await close(llama, stream)
    span = ollama_otel.span()
    assert span.status.status_code is StatusCode.UNSET
    assert "gen_ai.usage.output_tokens" not in (span.attributes or {})
    assert ollama_otel.point("gen_ai.client.operation.duration").count == 1


async def test_stream_span_ends_when_abandoned(llama: Llama, ollama_otel: Recorded) -> None:
    stream = await open_stream(llama)
    await first(stream)
    del stream
    gc.collect()
    assert len(ollama_otel.spans()) == 1


def test_unread_stream_ends_its_span_when_collected(fake: FakeProvider, ollama_otel: Recorded) -> None:
    stream = ollama.Client(host=fake.url).chat("llama3.2", [{"role": "user", "content": "hi"}], stream=True)
    del stream
    span = ollama_otel.span()
    assert "gen_ai.response.time_to_first_chunk" not in (span.attributes or {})
    assert fake.requests == []


async def test_tool_call_stream(llama: Llama, fake: FakeProvider, ollama_otel: Recorded) -> None:
    fake.push(Behavior(tool_call=True))
    chunks = await drain(await open_stream(llama, tools=TOOLS))
    calls = [call for chunk in chunks for call in chunk.message.tool_calls or ()]
    assert [call.function.name for call in calls] == ["get_weather"]
    attrs = dict(ollama_otel.span().attributes or {})
    assert attrs["gen_ai.response.finish_reasons"] == ("tool_call",)


async def test_stream_without_counts(llama: Llama, fake: FakeProvider, ollama_otel: Recorded) -> None:
    fake.push(Behavior(cached_tokens=100))
    await drain(await open_stream(llama))
    attrs = dict(ollama_otel.span().attributes or {})
    assert "gen_ai.usage.input_tokens" not in attrs
    assert attrs["gen_ai.usage.output_tokens"] == 12


async def test_malformed_line_reaches_the_caller_unchanged(
    llama: Llama, fake: FakeProvider, ollama_otel: Recorded
) -> None:
    fake.push(Behavior(malformed=True))
    with pytest.raises(ValueError) as caught:
        await drain(await open_stream(llama))
    assert (ollama_otel.span().attributes or {})["error.type"] == f"json.{type(caught.value).__qualname__}"
