"""Streams end their span exactly once on every exit path, and time their chunks."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable

import openai
import pytest
from opentelemetry.trace import StatusCode

from conftest import MESSAGES, MODEL, Api, Recorded, chat_helpers, drain, first, http_module, maybe_await
from llm_otel.fake import Behavior, FakeProvider

pytestmark = pytest.mark.anyio


async def open_stream(api: Api, behavior: Behavior | None = None, **kwargs: object) -> object:
    return await api.chat(behavior=behavior, stream=True, **kwargs)


async def test_stream_span_ends_on_exhaustion(api: Api, otel: Recorded) -> None:
    chunks = await drain(await open_stream(api, stream_options={"include_usage": True}))
    assert chunks[-1].usage is not None  # the caller asked for usage: they see the usage chunk
    span = otel.span()
    attrs = dict(span.attributes or {})
    assert span.status.status_code is StatusCode.UNSET
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.usage.input_tokens"] == 6
    assert attrs["gen_ai.usage.output_tokens"] == 12
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["gen_ai.response.id"] == chunks[0].id
    assert attrs["gen_ai.response.time_to_first_chunk"] > 0
    ttfc = otel.point("gen_ai.client.operation.time_to_first_chunk")
    assert ttfc.count == 1
    assert otel.point("gen_ai.client.operation.time_per_output_chunk").count == len(chunks) - 1
    assert otel.point("gen_ai.client.operation.duration").count == 1
    assert otel.point("gen_ai.client.token.usage", gen_ai__token__type="output").sum == 12


async def test_stream_without_usage_records_no_tokens(api: Api, otel: Recorded) -> None:
    await drain(await open_stream(api))
    assert "gen_ai.usage.output_tokens" not in (otel.span().attributes or {})
    assert otel.points("gen_ai.client.token.usage") == []


async def test_stream_span_ends_on_error_mid_stream(api: Api, otel: Recorded) -> None:
    stream = await open_stream(api, Behavior(stream_error_after_chunks=3))
    with pytest.raises(openai.APIError) as caught:
        await drain(stream)
    span = otel.span()
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "openai.APIError"
    assert otel.point("gen_ai.client.operation.duration", error__type="openai.APIError").count == 1
    assert caught.value.body is not None


async def test_stream_span_ends_on_connection_drop(api: Api, otel: Recorded) -> None:
    stream = await open_stream(api, Behavior(drop_after_chunks=2))
    # openai 3.14+ wraps the transport's error in APIConnectionError; older releases let it through.
    with pytest.raises(Exception) as caught:
        await drain(stream)
    expected = "openai.APIConnectionError"
    if not isinstance(caught.value, openai.APIConnectionError):
        assert type(caught.value).__name__ == "RemoteProtocolError"
        expected = f"{http_module().__name__}.RemoteProtocolError"
    assert (otel.span().attributes or {})["error.type"] == expected


async def test_stream_span_ends_on_close(api: Api, otel: Recorded) -> None:
    stream = await open_stream(api)
    await first(stream)
    assert otel.spans() == []
    await maybe_await(stream.close())
    span = otel.span()
    assert span.status.status_code is StatusCode.UNSET
    assert otel.point("gen_ai.client.operation.time_to_first_chunk").count == 1


async def test_stream_span_ends_on_with_exit_after_break(api: Api, otel: Recorded) -> None:
    stream = await open_stream(api)
    if api.mode == "async":
        async with stream as entered:
            assert entered is stream
            async for _ in entered:
                break
    else:
        with stream as entered:
            assert entered is stream
            for _ in entered:
                break
    assert len(otel.spans()) == 1


async def test_stream_span_ends_when_abandoned(api: Api, otel: Recorded) -> None:
    stream = await open_stream(api)
    await first(stream)
    del stream
    gc.collect()
    assert len(otel.exporter.get_finished_spans()) == 1


async def test_unconsumed_stream_span_ends_when_abandoned(api: Api, otel: Recorded) -> None:
    await open_stream(api)
    gc.collect()
    span = otel.span()
    assert "gen_ai.response.time_to_first_chunk" not in (span.attributes or {})


async def test_chat_stream_manager_break_ends_span_at_exit(api: Api, otel: Recorded) -> None:
    manager = chat_helpers(api.client).stream(model=MODEL, messages=MESSAGES)
    if api.mode == "async":
        async with manager as stream:
            async for _ in stream:
                break
            assert otel.exporter.get_finished_spans() == ()
    else:
        with manager as stream:
            for _ in stream:
                break
            assert otel.exporter.get_finished_spans() == ()
    assert len(otel.exporter.get_finished_spans()) == 1  # ended at exit, not at collection


async def test_usage_injection_hides_the_usage_chunk(
    api: Api, fake: FakeProvider, otel_with: Callable[..., Recorded]
) -> None:
    recorded = otel_with(stream_usage=True)
    chunks = await drain(await open_stream(api))
    assert all(chunk.choices for chunk in chunks)  # the caller never sees the usage-only chunk
    assert all(chunk.usage is None for chunk in chunks)
    assert fake.requests[-1].body["stream_options"] == {"include_usage": True}
    attrs = dict(recorded.span().attributes or {})
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (6, 12)


async def test_usage_injection_respects_the_callers_choice(
    api: Api, fake: FakeProvider, otel_with: Callable[..., Recorded]
) -> None:
    otel_with(stream_usage=True)
    await drain(await open_stream(api, stream_options={"include_usage": False}))
    assert fake.requests[-1].body["stream_options"] == {"include_usage": False}


async def test_usage_injection_from_environment(
    api: Api, fake: FakeProvider, otel_with: Callable[..., Recorded], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLM_OTEL_OPENAI_STREAM_USAGE", "true")
    recorded = otel_with()
    chunks = await drain(await open_stream(api))
    assert all(chunk.choices for chunk in chunks)
    assert (recorded.span().attributes or {})["gen_ai.usage.output_tokens"] == 12


def test_groq_stream_usage_extension_is_read(otel: Recorded) -> None:
    """Groq puts a stream's usage under ``x_groq`` in the final chunk, not in ``usage``."""
    http = http_module()
    head = {"id": "chatcmpl-g", "object": "chat.completion.chunk", "created": 1, "model": "llama-3.3-70b-versatile"}
    events = [
        {**head, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hi"}, "finish_reason": None}]},
        {
            **head,
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            "x_groq": {"id": "req_1", "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}},
        },
    ]
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
    transport = http.MockTransport(
        lambda request: http.Response(200, content=body.encode(), headers={"content-type": "text/event-stream"})
    )
    client = openai.OpenAI(
        base_url="https://api.groq.com/openai/v1", api_key="k", http_client=http.Client(transport=transport)
    )
    list(client.chat.completions.create(model="llama-3.3-70b-versatile", messages=MESSAGES, stream=True))
    attrs = dict(otel.span().attributes or {})
    assert attrs["gen_ai.provider.name"] == "groq"
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (9, 2)
