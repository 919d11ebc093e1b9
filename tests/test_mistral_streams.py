"""Mistral streams (SSE ``data:`` chunks ending with ``[DONE]``): one span, ended exactly once on every
exit path, with the usage and finish reason of the last chunk; the caller's stream is unchanged. Also the
errors of Mistral calls, and their message content."""

from __future__ import annotations

import gc
from typing import Any

import pytest
from opentelemetry.trace import StatusCode

from conftest import (
    FULL_REPLY,
    HI,
    HI_IN,
    MISTRAL_MODEL,
    REPLY_OUT,
    TOOLS,
    ContentCapture,
    MistralApi,
    Recorded,
    drain,
    first,
    make_recorded,
    maybe_await,
)
from llm_otel.fake import Behavior, FakeProvider
from llm_otel.resilience import classify

pytestmark = pytest.mark.anyio

CHUNKS = 14  # the role chunk, 12 pieces, the finishing chunk with the usage


def error_type(exc: BaseException) -> str:
    """What the error is named by: its class in its package (the SDK's, pydantic's or httpx's, by release)."""
    return f"{type(exc).__module__.partition('.')[0]}.{type(exc).__qualname__}"


async def close(stream: Any) -> None:
    """``close()``, or leaving the ``with`` block in releases whose streams have no ``close`` (before 2.x)."""
    if hasattr(stream, "close"):
        await maybe_await(stream.close())
    elif hasattr(stream.__wrapped__, "__aexit__"):
        await stream.__aexit__(None, None, None)
    else:
        stream.__exit__(None, None, None)


async def test_stream_span_ends_on_exhaustion(mistral: MistralApi, mistral_otel: Recorded) -> None:
    events = await drain(await mistral.stream(temperature=0.1))
    assert len(events) == CHUNKS
    assert all(type(event).__name__ == "CompletionEvent" for event in events)
    assert "".join(event.data.choices[0].delta.content or "" for event in events) == FULL_REPLY
    span = mistral_otel.span()
    attrs = dict(span.attributes or {})
    assert span.status.status_code is StatusCode.UNSET
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.request.temperature"] == 0.1
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (6, 12)
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["gen_ai.response.model"] == MISTRAL_MODEL
    assert attrs["gen_ai.response.id"] == events[0].data.id
    assert attrs["gen_ai.response.time_to_first_chunk"] > 0
    assert mistral_otel.point("gen_ai.client.operation.time_to_first_chunk").count == 1
    assert mistral_otel.point("gen_ai.client.operation.time_per_output_chunk").count == CHUNKS - 1
    assert mistral_otel.point("gen_ai.client.token.usage", gen_ai__token__type="output").sum == 12


async def test_stream_is_still_the_sdks_stream(mistral: MistralApi, mistral_otel: Recorded) -> None:
    stream = await mistral.stream()
    assert isinstance(stream, type(stream.__wrapped__))
    assert stream.__class__ is type(stream.__wrapped__)
    assert hasattr(stream, "close") is hasattr(stream.__wrapped__, "close")  # 1.x streams have none
    await drain(stream)


async def test_stream_as_a_context_manager(mistral: MistralApi, mistral_otel: Recorded) -> None:
    stream = await mistral.stream()
    if mistral.mode == "async":
        async with stream as entered:
            assert entered is stream
            await entered.__anext__()
    else:
        with stream as entered:
            assert entered is stream
            next(entered)
    span = mistral_otel.span()
    assert span.status.status_code is StatusCode.UNSET
    assert "gen_ai.usage.output_tokens" not in (span.attributes or {})  # left before the last chunk


async def test_stream_span_ends_on_close_after_break(mistral: MistralApi, mistral_otel: Recorded) -> None:
    stream = await mistral.stream()
    await first(stream)
    assert mistral_otel.spans() == []
    await close(stream)
    span = mistral_otel.span()
    assert span.status.status_code is StatusCode.UNSET
    assert mistral_otel.point("gen_ai.client.operation.duration").count == 1


async def test_stream_span_ends_when_abandoned(mistral: MistralApi, mistral_otel: Recorded) -> None:
    stream = await mistral.stream()
    await first(stream)
    del stream
    gc.collect()
    assert len(mistral_otel.spans()) == 1


async def test_stream_span_ends_on_connection_drop(mistral: MistralApi, mistral_otel: Recorded) -> None:
    with pytest.raises(Exception) as caught:
        await drain(await mistral.stream(Behavior(drop_after_chunks=3)))
    attrs = mistral_otel.attributes()
    assert attrs["error.type"] == error_type(caught.value)
    assert "gen_ai.usage.output_tokens" not in attrs  # no usage arrived
    assert attrs["gen_ai.response.model"] == MISTRAL_MODEL
    assert classify(caught.value).reason == "connection"


async def test_stream_error_event_ends_the_span(mistral: MistralApi, mistral_otel: Recorded) -> None:
    with pytest.raises(Exception) as caught:
        await drain(await mistral.stream(Behavior(stream_error_after_chunks=2)))
    span = mistral_otel.span()
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == error_type(caught.value)
    assert mistral_otel.point("gen_ai.client.operation.time_per_output_chunk").count == 1


async def test_tool_call_stream(mistral: MistralApi, mistral_otel: Recorded) -> None:
    events = await drain(await mistral.stream(Behavior(tool_call=True), tools=TOOLS))
    calls = [call for event in events for call in event.data.choices[0].delta.tool_calls or ()]
    assert [call.function.name for call in calls] == ["get_weather"]
    assert mistral_otel.attributes()["gen_ai.response.finish_reasons"] == ("tool_call",)


async def test_fim_stream(mistral: MistralApi, mistral_otel: Recorded) -> None:
    await drain(await mistral.call("fim.stream", model="codestral-latest", prompt="def f():"))
    attrs = mistral_otel.attributes()
    assert (attrs["gen_ai.operation.name"], attrs["gen_ai.request.stream"]) == ("text_completion", True)
    assert attrs["gen_ai.usage.output_tokens"] == 12


# --- errors ---------------------------------------------------------------------------------------


def mistral_errors() -> Any:
    try:
        from mistralai.client import errors
    except ImportError:  # 1.x
        from mistralai import models as errors
    return errors


def http_library() -> str:
    """The HTTP library the SDK speaks through: httpx2 for 3.x, httpx before."""
    from importlib.metadata import requires

    return "httpx2" if any(r.startswith("httpx2") for r in requires("mistralai") or ()) else "httpx"


@pytest.mark.parametrize(
    ("status", "reason"), [(400, "bad_request"), (401, "auth"), (429, "rate_limited"), (503, "server_error")]
)
async def test_status_errors_are_named_by_status(
    mistral: MistralApi, mistral_otel: Recorded, status: int, reason: str
) -> None:
    with pytest.raises(Exception) as caught:
        await mistral.chat(Behavior(status=status))
    assert type(caught.value).__name__ == "SDKError"
    assert caught.value.status_code == status  # type: ignore[attr-defined]
    span = mistral_otel.span()
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == str(status)
    assert mistral_otel.point("gen_ai.client.operation.duration", error__type=str(status)).count == 1
    assert classify(caught.value).reason == reason


async def test_a_stream_error_status_surfaces_at_the_call(mistral: MistralApi, mistral_otel: Recorded) -> None:
    with pytest.raises(Exception) as caught:
        await mistral.stream(Behavior(status=500))
    assert caught.value.status_code == 500  # type: ignore[attr-defined]
    assert mistral_otel.attributes()["error.type"] == "500"
    assert mistral_otel.points("gen_ai.client.operation.time_to_first_chunk") == []


async def test_validation_error(mistral: MistralApi, mistral_otel: Recorded) -> None:
    with pytest.raises(Exception) as caught:
        await mistral.chat(messages=[])
    assert mistral_otel.attributes()["error.type"] == error_type(caught.value)
    assert classify(caught.value).reason == "bad_request"


def test_context_length_is_classified_from_the_body() -> None:
    sdk_error = mistral_errors().SDKError
    http = __import__(http_library())
    message = "Prompt contains 40000 tokens, too large for model with 32768 maximum context length"
    body = {"object": "error", "message": message, "type": "invalid_request_error", "param": None, "code": "3051"}
    response = http.Response(400, json=body, request=http.Request("POST", "https://api.mistral.ai/v1/chat/completions"))
    if http.__name__ == "httpx2":
        error = sdk_error("API error occurred", response, response.text)
    else:  # 1.x: a dataclass of the status and the body
        error = sdk_error("API error occurred", 400, response.text, response)
    assert classify(error).reason == "context_length"


async def test_unreachable_server_is_a_connection_error(mistral_otel: Recorded) -> None:
    api = MistralApi("sync", "http://127.0.0.1:9")
    with pytest.raises(Exception) as caught:
        await api.chat()
    assert classify(caught.value).reason == "connection"
    assert mistral_otel.attributes()["error.type"].endswith("ConnectError")


# --- content --------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
async def test_chat_content_is_captured(
    mistral: MistralApi, mistral_otel: Recorded, capture: ContentCapture, stream: bool
) -> None:
    capture("SPAN_ONLY")
    result = await (mistral.stream if stream else mistral.chat)(Behavior(output_tokens=3), messages=HI)
    if stream:
        await drain(result)
    assert mistral_otel.content() == {"gen_ai.input.messages": HI_IN, "gen_ai.output.messages": REPLY_OUT}


async def test_content_is_off_by_default(mistral: MistralApi, mistral_otel: Recorded, capture: ContentCapture) -> None:
    await mistral.chat(messages=HI)
    assert mistral_otel.content() == {}


async def test_embeddings_record_no_content(
    mistral: MistralApi, mistral_otel: Recorded, capture: ContentCapture
) -> None:
    capture("SPAN_ONLY")
    await mistral.call("embeddings.create", model="mistral-embed", inputs=["hi"])
    assert mistral_otel.content() == {}


# --- the SDK's own tracing (2.x and later) ---------------------------------------------------------


def sdk_telemetry() -> Any:
    try:
        from mistralai.extra.observability.telemetry import configure_telemetry
    except ImportError:
        pytest.skip("this release has no tracing of its own to configure")
    return configure_telemetry


@pytest.mark.parametrize("stream", [False, True])
async def test_a_call_traced_by_the_sdk_too_has_our_span_only(
    fake: FakeProvider, mistral_otel: Recorded, stream: bool
) -> None:
    api = MistralApi("sync", fake.mistral_server_url)
    sdk_telemetry()(api.client, provider=mistral_otel.tracer_provider)
    result = await (api.stream if stream else api.chat)()
    if stream:
        await drain(result)
    span = mistral_otel.span()  # the SDK's own span would be a second one, under ours
    assert span.instrumentation_scope.name == "llm_otel"  # type: ignore[union-attr]
    trace_id, span_id = f"{span.context.trace_id:032x}", f"{span.context.span_id:016x}"  # type: ignore[union-attr]
    assert fake.requests[-1].headers["traceparent"].split("-")[1:3] == [trace_id, span_id]


async def test_the_sdks_tracing_is_untouched_outside_our_calls(fake: FakeProvider) -> None:
    recorded = make_recorded()
    api = MistralApi("sync", fake.mistral_server_url)
    sdk_telemetry()(api.client, provider=recorded.tracer_provider)
    await api.chat()
    assert [span.instrumentation_scope.name for span in recorded.spans()] == ["mistralai_sdk_tracer"]  # type: ignore[union-attr]
