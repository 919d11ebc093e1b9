"""Google GenAI streams (SSE ``data:`` chunks, no terminator, each with the usage so far): one span per
request, ended exactly once on every exit path, with the usage of the last chunk; the caller's stream is
the SDK's own. Also the errors of Gemini calls, and their message content."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable

import pytest
from opentelemetry.trace import StatusCode

from conftest import (
    FULL_REPLY,
    GEMINI_MODEL,
    GEMINI_TOOLS,
    HI_IN,
    REPLY_OUT,
    ContentCapture,
    GeminiApi,
    Recorded,
    drain,
    first,
    maybe_await,
)
from llm_otel.fake import Behavior, FakeProvider
from llm_otel.resilience import classify

pytest.importorskip("google.genai")  # not in the virtualenv of the other SDKs' floors (see the Makefile)
pytestmark = pytest.mark.anyio


async def finalized(gemini: GeminiApi) -> None:
    """Let asyncio finalize what a closed async stream left open.

    The SDK's async stream is a chain of async generators; closing the caller's leaves the inner ones,
    ours among them, to the event loop's async-generator finalizer, which closes each in a task of
    its own on the next turns of the loop. Sync generators close at once.
    """
    if gemini.mode == "async":
        for _ in range(10):
            await asyncio.sleep(0)


async def test_stream_span_ends_on_exhaustion(gemini: GeminiApi, gemini_otel: Recorded) -> None:
    chunks = await drain(await gemini.stream(config={"temperature": 0.1}))
    assert len(chunks) == 12
    assert "".join(chunk.text for chunk in chunks) == FULL_REPLY
    span = gemini_otel.span()
    attrs = dict(span.attributes or {})
    assert span.status.status_code is StatusCode.UNSET
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.request.temperature"] == 0.1
    # Every chunk reports the usage so far: the last one's, not their sum (78).
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (6, 12)
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["gen_ai.response.model"] == GEMINI_MODEL
    if getattr(chunks[0], "response_id", None):  # read since 2.x
        assert attrs["gen_ai.response.id"] == chunks[0].response_id
    assert attrs["gen_ai.response.time_to_first_chunk"] > 0
    assert gemini_otel.point("gen_ai.client.operation.time_to_first_chunk").count == 1
    assert gemini_otel.point("gen_ai.client.operation.time_per_output_chunk").count == 11
    assert gemini_otel.point("gen_ai.client.token.usage", gen_ai__token__type="output").sum == 12


async def test_stream_is_the_sdks_generator_and_lazy(
    gemini: GeminiApi, fake: FakeProvider, gemini_otel: Recorded
) -> None:
    stream = await gemini.stream()
    assert type(stream).__name__ in ("generator", "async_generator")
    if gemini.mode == "sync":
        assert fake.requests == []  # a sync stream sends its request when first read, as before
    await drain(stream)
    assert len(gemini_otel.spans()) == 1


async def test_stream_span_ends_on_close_after_break(gemini: GeminiApi, gemini_otel: Recorded) -> None:
    stream = await gemini.stream()
    await first(stream)
    await maybe_await(stream.aclose() if gemini.mode == "async" else stream.close())
    await finalized(gemini)
    span = gemini_otel.span()
    assert span.status.status_code is StatusCode.UNSET
    assert (span.attributes or {})["gen_ai.usage.output_tokens"] == 1  # the usage reported so far
    assert gemini_otel.point("gen_ai.client.operation.duration").count == 1


async def test_stream_span_ends_when_abandoned(gemini: GeminiApi, gemini_otel: Recorded) -> None:
    stream = await gemini.stream()
    await first(stream)
    del stream
    gc.collect()
    await finalized(gemini)
    assert len(gemini_otel.spans()) == 1


async def test_stream_span_ends_on_connection_drop(gemini: GeminiApi, gemini_otel: Recorded) -> None:
    with pytest.raises(Exception) as caught:
        await drain(await gemini.stream(Behavior(drop_after_chunks=3)))
    attrs = gemini_otel.attributes()
    assert attrs["error.type"] == f"{type(caught.value).__module__.partition('.')[0]}.{type(caught.value).__name__}"
    assert attrs["gen_ai.usage.output_tokens"] == 3
    assert classify(caught.value).reason == "connection"


async def test_stream_error_chunk_ends_the_span(gemini: GeminiApi, gemini_otel: Recorded) -> None:
    try:
        await drain(await gemini.stream(Behavior(stream_error_after_chunks=2)))
    except Exception as exc:
        caught = exc
    else:
        pytest.skip("this release reads an error chunk as an empty response")
    assert type(caught).__name__ == "ServerError"
    span = gemini_otel.span()
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "500"
    assert gemini_otel.point("gen_ai.client.operation.time_per_output_chunk").count == 1
    assert classify(caught).reason == "server_error"


async def test_function_call_stream(gemini: GeminiApi, gemini_otel: Recorded) -> None:
    chunks = await drain(await gemini.stream(Behavior(tool_call=True), config={"tools": GEMINI_TOOLS}))
    assert [call.name for chunk in chunks for call in chunk.function_calls or ()] == ["get_weather"]
    assert gemini_otel.attributes()["gen_ai.response.finish_reasons"] == ("tool_call",)


async def test_stream_of_two_candidates(gemini: GeminiApi, gemini_otel: Recorded) -> None:
    await drain(await gemini.stream(config={"candidate_count": 2, "max_output_tokens": 4}))
    attrs = gemini_otel.attributes()
    assert attrs["gen_ai.response.finish_reasons"] == ("length", "length")
    assert attrs["gen_ai.usage.output_tokens"] == 8


# --- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind", "reason"),
    [
        (400, "ClientError", "bad_request"),
        (401, "ClientError", "auth"),
        (404, "ClientError", "not_found"),
        (429, "ClientError", "rate_limited"),
        (503, "ServerError", "server_error"),
    ],
)
async def test_status_errors_are_named_by_status(
    gemini: GeminiApi, gemini_otel: Recorded, status: int, kind: str, reason: str
) -> None:
    with pytest.raises(Exception) as caught:
        await gemini.generate(Behavior(status=status))
    assert type(caught.value).__name__ == kind
    assert caught.value.code == status  # type: ignore[attr-defined]
    span = gemini_otel.span()
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == str(status)
    assert gemini_otel.point("gen_ai.client.operation.duration", error__type=str(status)).count == 1
    assert classify(caught.value).reason == reason


async def test_a_stream_error_status_surfaces_at_the_first_read(gemini: GeminiApi, gemini_otel: Recorded) -> None:
    with pytest.raises(Exception) as caught:
        await drain(await gemini.stream(Behavior(status=429)))
    assert caught.value.code == 429  # type: ignore[attr-defined]
    assert gemini_otel.attributes()["error.type"] == "429"
    assert gemini_otel.points("gen_ai.client.operation.time_to_first_chunk") == []


def test_context_length_is_classified_from_the_message() -> None:
    from google.genai import errors

    message = "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)."
    error = errors.ClientError(400, {"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}}, None)
    assert classify(error).reason == "context_length"


def test_other_sdk_errors_are_named_by_their_package() -> None:
    from google.genai import errors

    from llm_otel.telemetry import error_type

    # google is a namespace package: the distribution's two first levels name the class.
    assert error_type(errors.UnsupportedFunctionError("no MCP here")) == "google.genai.UnsupportedFunctionError"


async def test_unreachable_server_is_a_connection_error(
    gemini_otel: Recorded, make_gemini: Callable[..., GeminiApi]
) -> None:
    api = make_gemini("sync", "http://127.0.0.1:9")
    with pytest.raises(Exception) as caught:
        await api.generate()
    assert classify(caught.value).reason == "connection"
    assert gemini_otel.attributes()["error.type"].endswith("ConnectError")


# --- content --------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
async def test_content_is_captured(
    gemini: GeminiApi, gemini_otel: Recorded, capture: ContentCapture, stream: bool
) -> None:
    capture("SPAN_ONLY")
    result = await (gemini.stream if stream else gemini.generate)(
        Behavior(output_tokens=3), contents="hi", config={"system_instruction": "be brief"}
    )
    if stream:
        await drain(result)
    assert gemini_otel.content(-1) == {
        "gen_ai.input.messages": HI_IN,
        "gen_ai.output.messages": REPLY_OUT,
        "gen_ai.system_instructions": [{"type": "text", "content": "be brief"}],
    }


async def test_content_is_off_by_default(gemini: GeminiApi, gemini_otel: Recorded, capture: ContentCapture) -> None:
    await gemini.generate(contents="hi")
    assert gemini_otel.content(-1) == {}


@pytest.mark.parametrize("stream", [False, True])
async def test_function_calls_and_tools_are_captured(
    gemini: GeminiApi, gemini_otel: Recorded, capture: ContentCapture, stream: bool
) -> None:
    capture("SPAN_ONLY")
    result = await (gemini.stream if stream else gemini.generate)(
        Behavior(tool_call=True), contents="weather in Paris?", config={"tools": GEMINI_TOOLS}
    )
    if stream:
        await drain(result)
    captured = gemini_otel.content(-1)
    assert captured["gen_ai.output.messages"] == [
        {
            "role": "assistant",
            "parts": [{"type": "tool_call", "id": None, "name": "get_weather", "arguments": {"city": "fake"}}],
            "finish_reason": "tool_call",
        }
    ]
    [definition] = captured["gen_ai.tool.definitions"]
    assert (definition["type"], definition["name"], definition["description"]) == (
        "function",
        "get_weather",
        "Weather of a city",
    )
    assert definition["parameters"]["properties"]["city"]["type"].lower() == "string"


async def test_a_history_is_captured_with_its_roles(
    gemini: GeminiApi, gemini_otel: Recorded, capture: ContentCapture
) -> None:
    from google.genai import types

    capture("SPAN_ONLY")
    call = types.Part.from_function_call(name="get_weather", args={"city": "Paris"})
    answer = types.Part.from_function_response(name="get_weather", response={"result": "sunny"})
    history = [
        types.Content(role="user", parts=[types.Part(text="weather in Paris?")]),
        types.Content(role="model", parts=[call]),
        types.Content(role="user", parts=[answer]),
    ]
    await gemini.generate(contents=[*history, "thanks"])
    assert gemini_otel.content(-1)["gen_ai.input.messages"] == [
        {"role": "user", "parts": [{"type": "text", "content": "weather in Paris?"}]},
        {
            "role": "assistant",
            "parts": [{"type": "tool_call", "id": None, "name": "get_weather", "arguments": {"city": "Paris"}}],
        },
        {
            "role": "tool",
            "parts": [
                {"type": "tool_call_response", "id": None, "name": "get_weather", "response": {"result": "sunny"}}
            ],
        },
        {"role": "user", "parts": [{"type": "text", "content": "thanks"}]},
    ]


async def test_embeddings_record_no_content(gemini: GeminiApi, gemini_otel: Recorded, capture: ContentCapture) -> None:
    capture("SPAN_ONLY")
    await gemini.call("models.embed_content", model="gemini-embedding-001", contents=["hi"])
    assert gemini_otel.content(-1) == {}
