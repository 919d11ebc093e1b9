"""Cohere v2 chat streams (typed SSE events, ``message-end`` last): one span, ended exactly once on every
exit path, with the id of ``message-start`` and the finish reason and usage of ``message-end``; the
caller's stream is unchanged and as lazy as before. Also the message content of Cohere chats."""

from __future__ import annotations

import gc
import inspect
from typing import Any

import anyio.lowlevel
import pytest
from opentelemetry.trace import StatusCode

from conftest import (
    FULL_REPLY,
    HI,
    HI_IN,
    REPLY_OUT,
    TOOLS,
    CohereApi,
    ContentCapture,
    Recorded,
    drain,
    first,
    maybe_await,
)
from llm_otel.fake import Behavior, FakeProvider
from llm_otel.resilience import classify

pytestmark = pytest.mark.anyio

# message-start, content-start, 12 content-deltas, content-end, message-end
EVENTS = ["message-start", "content-start", *["content-delta"] * 12, "content-end", "message-end"]


def text_of(events: list[Any]) -> str:
    return "".join(event.delta.message.content.text for event in events if event.type == "content-delta")


async def close(stream: Any) -> None:
    await maybe_await(stream.aclose() if hasattr(stream, "aclose") else stream.close())


async def test_stream_span_ends_on_exhaustion(co: CohereApi, cohere_otel: Recorded) -> None:
    events = await drain(await co.stream(temperature=0.1))
    assert [event.type for event in events] == EVENTS
    assert text_of(events) == FULL_REPLY
    span = cohere_otel.span()
    attrs = dict(span.attributes or {})
    assert span.status.status_code is StatusCode.UNSET
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.request.temperature"] == 0.1
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (6, 12)
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["gen_ai.response.id"] == events[0].id
    assert attrs["gen_ai.response.time_to_first_chunk"] > 0
    assert cohere_otel.point("gen_ai.client.operation.time_to_first_chunk").count == 1
    assert cohere_otel.point("gen_ai.client.operation.time_per_output_chunk").count == len(EVENTS) - 1
    assert cohere_otel.point("gen_ai.client.token.usage", gen_ai__token__type="output").sum == 12


async def test_stream_is_still_a_lazy_generator(co: CohereApi, fake: FakeProvider, cohere_otel: Recorded) -> None:
    stream = await co.stream()
    assert (inspect.isasyncgen if co.mode == "async" else inspect.isgenerator)(stream)
    assert fake.requests == []  # nothing is sent before the first read, as without us
    assert cohere_otel.spans() == []
    await drain(stream)
    assert len(fake.requests) == 1


async def test_stream_span_ends_on_close_after_break(co: CohereApi, cohere_otel: Recorded) -> None:
    stream = await co.stream()
    assert (await first(stream)).type == "message-start"
    assert cohere_otel.spans() == []
    await close(stream)
    span = cohere_otel.span()
    assert span.status.status_code is StatusCode.UNSET
    assert "gen_ai.usage.output_tokens" not in (span.attributes or {})  # left before message-end
    assert cohere_otel.point("gen_ai.client.operation.duration").count == 1


async def test_stream_span_ends_when_abandoned(co: CohereApi, cohere_otel: Recorded) -> None:
    stream = await co.stream()
    await first(stream)
    del stream
    gc.collect()
    # The event loop's finalizer hook closes an abandoned async generator in a task it schedules
    # (call_soon, then the task's few steps): yield the loop those turns, no waiting on a clock.
    for _ in range(10):
        await anyio.lowlevel.checkpoint()
    assert len(cohere_otel.spans()) == 1


async def test_stream_span_ends_on_connection_drop(co: CohereApi, cohere_otel: Recorded) -> None:
    with pytest.raises(Exception) as caught:
        await drain(await co.stream(Behavior(drop_after_chunks=3)))
    attrs = cohere_otel.attributes()
    assert attrs["error.type"] == f"httpx.{type(caught.value).__qualname__}"
    assert "gen_ai.usage.output_tokens" not in attrs  # no usage arrived
    assert classify(caught.value).reason == "connection"


async def test_stream_error_event_is_finish_reason_error(co: CohereApi, cohere_otel: Recorded) -> None:
    events = await drain(await co.stream(Behavior(stream_error_after_chunks=2)))
    assert [event.type for event in events] == ["message-start", "content-start", "message-end"]
    assert events[-1].delta.finish_reason == "ERROR"  # Cohere reports it in the stream; the SDK raises nothing
    span = cohere_otel.span()
    assert span.status.status_code is StatusCode.UNSET
    assert (span.attributes or {})["gen_ai.response.finish_reasons"] == ("error",)


async def test_tool_call_stream(co: CohereApi, cohere_otel: Recorded) -> None:
    events = await drain(await co.stream(Behavior(tool_call=True), tools=TOOLS))
    starts = [event for event in events if event.type == "tool-call-start"]
    assert [event.delta.message.tool_calls.function.name for event in starts] == ["get_weather"]
    assert cohere_otel.attributes()["gen_ai.response.finish_reasons"] == ("tool_call",)


async def test_a_stream_error_status_surfaces_at_the_first_read(co: CohereApi, cohere_otel: Recorded) -> None:
    import cohere

    stream = await co.stream(Behavior(status=429))
    with pytest.raises(cohere.TooManyRequestsError):
        await first(stream)
    assert cohere_otel.attributes()["error.type"] == "cohere.TooManyRequestsError"
    assert cohere_otel.points("gen_ai.client.operation.time_to_first_chunk") == []


# --- content --------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
async def test_chat_content_is_captured(
    co: CohereApi, cohere_otel: Recorded, capture: ContentCapture, stream: bool
) -> None:
    capture("SPAN_ONLY")
    result = await (co.stream if stream else co.chat)(Behavior(output_tokens=3), messages=HI)
    if stream:
        await drain(result)
    assert cohere_otel.content() == {"gen_ai.input.messages": HI_IN, "gen_ai.output.messages": REPLY_OUT}


@pytest.mark.parametrize("stream", [False, True])
async def test_tool_call_content_is_captured(
    co: CohereApi, cohere_otel: Recorded, capture: ContentCapture, stream: bool
) -> None:
    import cohere

    capture("SPAN_ONLY")
    history = [
        cohere.SystemChatMessageV2(content="be brief"),
        {"role": "user", "content": [{"type": "text", "text": "weather in Paris?"}]},
    ]
    result = await (co.stream if stream else co.chat)(Behavior(tool_call=True), messages=history, tools=TOOLS)
    if stream:
        await drain(result)
    captured = cohere_otel.content()
    assert captured["gen_ai.input.messages"] == [
        {"role": "system", "parts": [{"type": "text", "content": "be brief"}]},
        {"role": "user", "parts": [{"type": "text", "content": "weather in Paris?"}]},
    ]
    [output] = captured["gen_ai.output.messages"]
    [call] = output["parts"]
    assert (output["finish_reason"], call["type"], call["name"]) == ("tool_call", "tool_call", "get_weather")
    assert call["arguments"] == {"city": "fake"}
    assert call["id"].startswith("call_")
    assert captured["gen_ai.tool.definitions"] == [
        {
            "type": "function",
            "name": "get_weather",
            **{k: TOOLS[0]["function"][k] for k in ("description", "parameters")},
        }
    ]


async def test_content_is_off_by_default(co: CohereApi, cohere_otel: Recorded, capture: ContentCapture) -> None:
    await co.chat(messages=HI)
    assert cohere_otel.content() == {}


async def test_embed_records_no_content(co: CohereApi, cohere_otel: Recorded, capture: ContentCapture) -> None:
    capture("SPAN_ONLY")
    await co.embed(texts=["hi"])
    assert cohere_otel.content() == {}


async def test_a_tool_round_trip_is_captured_as_input(
    co: CohereApi, cohere_otel: Recorded, capture: ContentCapture
) -> None:
    capture("SPAN_ONLY")
    call = {
        "id": "get_weather_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
    }
    history = [
        {"role": "user", "content": "weather in Paris?"},
        {"role": "assistant", "tool_plan": "I will look it up.", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "get_weather_1", "content": "rainy"},
    ]
    await co.chat(messages=history, tools=TOOLS)
    assert cohere_otel.content()["gen_ai.input.messages"] == [
        {"role": "user", "parts": [{"type": "text", "content": "weather in Paris?"}]},
        {
            "role": "assistant",
            "parts": [
                {"type": "tool_call", "id": "get_weather_1", "name": "get_weather", "arguments": {"city": "Paris"}}
            ],
        },
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "get_weather_1", "response": "rainy"}]},
    ]


async def test_a_malformed_event_is_skipped_by_the_sdk_and_by_us(co: CohereApi, cohere_otel: Recorded) -> None:
    events = await drain(await co.stream(Behavior(malformed=True)))
    # The cut message-start is skipped (5.x) or kept by its event name with an empty id (7.x).
    assert [event.type for event in events if event.type != "message-start"] == EVENTS[1:]
    assert not any(getattr(event, "id", None) for event in events)
    attrs = cohere_otel.attributes()
    assert "gen_ai.response.id" not in attrs
    assert (attrs["gen_ai.usage.output_tokens"], attrs["gen_ai.response.finish_reasons"]) == (12, ("stop",))


@pytest.mark.parametrize("stream", [False, True])
async def test_thinking_is_captured_as_reasoning(
    co: CohereApi, cohere_otel: Recorded, capture: ContentCapture, stream: bool
) -> None:
    capture("SPAN_ONLY")
    behavior = Behavior(output_tokens=3, reasoning_tokens=2)
    result = await (co.stream if stream else co.chat)(behavior, messages=HI)
    if stream:
        await drain(result)
    parts = [{"type": "reasoning", "content": "Is a."}, {"type": "text", "content": "This is a."}]
    [output] = cohere_otel.content()["gen_ai.output.messages"]
    assert output == {"role": "assistant", "parts": parts, "finish_reason": "stop"}
    assert cohere_otel.attributes()["gen_ai.usage.output_tokens"] == 5  # Cohere counts thinking as output
