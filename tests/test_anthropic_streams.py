"""Anthropic streams, ``create(stream=True)`` and the ``stream()`` managers: one span, ended exactly once
on every exit path, with the usage and stop reason read from the events."""

from __future__ import annotations

import gc
from typing import Any

import anthropic
import pytest
from opentelemetry.trace import StatusCode

from conftest import Claude, Recorded, claude_kwargs, drain, first, maybe_await
from llm_otel.fake import Behavior, FakeProvider
from test_anthropic_calls import TOOLS

pytestmark = pytest.mark.anyio

# message_start, block start, 12 deltas, block stop, message_delta, message_stop (the SDK drops pings)
EVENTS = 17


async def open_stream(claude: Claude, behavior: Behavior | None = None, **kwargs: Any) -> Any:
    return await claude.chat(behavior, stream=True, **kwargs)


def manager(claude: Claude, behavior: Behavior | None = None, path: str = "messages", **kwargs: Any) -> Any:
    target: Any = claude.client
    for part in path.split("."):
        target = getattr(target, part)
    return target.stream(**claude_kwargs(behavior, **kwargs))


async def enter(claude: Claude, mgr: Any) -> Any:
    return await mgr.__aenter__() if claude.mode == "async" else mgr.__enter__()


async def leave(claude: Claude, mgr: Any) -> None:
    await (mgr.__aexit__(None, None, None) if claude.mode == "async" else maybe_await(mgr.__exit__(None, None, None)))


async def test_stream_span_ends_on_exhaustion(claude: Claude, anthropic_otel: Recorded) -> None:
    events = await drain(await open_stream(claude))
    assert [e.type for e in events][:3] == ["message_start", "content_block_start", "content_block_delta"]
    assert len(events) == EVENTS
    span = anthropic_otel.span()
    attrs = dict(span.attributes or {})
    assert span.status.status_code is StatusCode.UNSET
    assert attrs["gen_ai.request.stream"] is True
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (6, 12)
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["gen_ai.response.id"] == events[0].message.id
    assert attrs["gen_ai.response.time_to_first_chunk"] > 0
    assert anthropic_otel.point("gen_ai.client.operation.time_to_first_chunk").count == 1
    assert anthropic_otel.point("gen_ai.client.operation.time_per_output_chunk").count == EVENTS - 1
    assert anthropic_otel.point("gen_ai.client.token.usage", gen_ai__token__type="output").sum == 12


async def test_stream_span_ends_on_error_event(claude: Claude, anthropic_otel: Recorded) -> None:
    stream = await open_stream(claude, Behavior(stream_error_after_chunks=4))
    with pytest.raises(anthropic.APIStatusError) as caught:
        await drain(stream)
    span = anthropic_otel.span()
    assert span.status.status_code is StatusCode.ERROR
    assert caught.value.status_code == 200  # the SDK's generic error, with the stream's own status
    expected = "anthropic.APIStatusError"
    assert (span.attributes or {})["error.type"] == expected
    assert "gen_ai.usage.output_tokens" not in (span.attributes or {})  # no message_delta arrived
    assert anthropic_otel.point("gen_ai.client.operation.duration", error__type=expected).count == 1


async def test_stream_span_ends_on_connection_drop(claude: Claude, anthropic_otel: Recorded) -> None:
    stream = await open_stream(claude, Behavior(drop_after_chunks=3))
    with pytest.raises(Exception) as caught:
        await drain(stream)
    error_type = (anthropic_otel.span().attributes or {})["error.type"]
    cls = type(caught.value)
    assert error_type == f"{cls.__module__.partition('.')[0]}.{cls.__qualname__}"


async def test_stream_span_ends_on_close(claude: Claude, anthropic_otel: Recorded) -> None:
    stream = await open_stream(claude)
    await first(stream)
    assert anthropic_otel.spans() == []
    await maybe_await(stream.close())
    assert anthropic_otel.span().status.status_code is StatusCode.UNSET


async def test_stream_span_ends_on_with_exit_after_break(claude: Claude, anthropic_otel: Recorded) -> None:
    stream = await open_stream(claude)
    if claude.mode == "async":
        async with stream as entered:
            assert entered is stream
            async for _ in entered:
                break
    else:
        with stream as entered:
            assert entered is stream
            for _ in entered:
                break
    assert len(anthropic_otel.exporter.get_finished_spans()) == 1


async def test_stream_span_ends_when_abandoned(claude: Claude, anthropic_otel: Recorded) -> None:
    stream = await open_stream(claude)
    await first(stream)
    del stream
    gc.collect()
    assert len(anthropic_otel.exporter.get_finished_spans()) == 1


async def test_tool_use_stream(claude: Claude, anthropic_otel: Recorded) -> None:
    events = await drain(await open_stream(claude, Behavior(tool_call=True), tools=TOOLS))
    pieces = [e.delta.partial_json for e in events if e.type == "content_block_delta"]
    assert "".join(pieces) == '{"city":"fake"}'
    attrs = dict(anthropic_otel.span().attributes or {})
    assert attrs["gen_ai.response.finish_reasons"] == ("tool_call",)
    assert attrs["gen_ai.usage.output_tokens"] == len(pieces)


# --- the stream() managers ------------------------------------------------------------------------


async def text_of(claude: Claude, stream: Any) -> str:
    if claude.mode == "async":
        return "".join([text async for text in stream.text_stream])
    return "".join(stream.text_stream)


@pytest.mark.parametrize("helper", ["text_stream", "get_final_message", "until_done", "events"])
async def test_manager_helpers_make_one_span(claude: Claude, anthropic_otel: Recorded, helper: str) -> None:
    mgr = manager(claude)
    assert anthropic_otel.spans() == []  # nothing is sent before the manager is entered
    stream = await enter(claude, mgr)
    if helper == "text_stream":
        assert (await text_of(claude, stream)).startswith("This is a deterministic reply")
    elif helper == "get_final_message":
        assert (await maybe_await(stream.get_final_message())).usage.output_tokens == 12
    elif helper == "until_done":
        await maybe_await(stream.until_done())
    else:
        assert len(await drain(stream)) >= EVENTS
    span = anthropic_otel.span()  # ended by the events' end, before the block is left
    await leave(claude, mgr)
    attrs = dict(span.attributes or {})
    assert (attrs["gen_ai.usage.output_tokens"], attrs["gen_ai.response.finish_reasons"]) == (12, ("stop",))
    assert "gen_ai.request.stream" not in attrs  # the SDK's helper, not the caller, asked for a stream
    assert anthropic_otel.point("gen_ai.client.operation.duration").count == 1


async def test_manager_break_ends_span_at_exit(claude: Claude, anthropic_otel: Recorded) -> None:
    mgr = manager(claude)
    stream = await enter(claude, mgr)
    await first(stream)
    assert anthropic_otel.exporter.get_finished_spans() == ()
    await leave(claude, mgr)
    assert len(anthropic_otel.exporter.get_finished_spans()) == 1  # at exit, not at collection


async def test_manager_stream_close_ends_span(claude: Claude, anthropic_otel: Recorded) -> None:
    mgr = manager(claude)
    stream = await enter(claude, mgr)
    await first(stream)
    await maybe_await(stream.close())
    await leave(claude, mgr)
    assert len(anthropic_otel.spans()) == 1


async def test_manager_error_on_entry(claude: Claude, anthropic_otel: Recorded) -> None:
    mgr = manager(claude, Behavior(status=429, retry_after=3))
    with pytest.raises(anthropic.RateLimitError) as caught:
        await enter(claude, mgr)
    assert caught.value.response.headers["retry-after"] == "3"
    span = anthropic_otel.span()
    assert (span.attributes or {})["error.type"] == "anthropic.RateLimitError"


async def test_manager_error_mid_stream(claude: Claude, anthropic_otel: Recorded) -> None:
    mgr = manager(claude, Behavior(stream_error_after_chunks=5))
    stream = await enter(claude, mgr)
    with pytest.raises(anthropic.APIStatusError):
        await maybe_await(stream.get_final_message())
    await leave(claude, mgr)
    assert (anthropic_otel.span().attributes or {})["error.type"] == "anthropic.APIStatusError"


# The async SDK builds the request coroutine before the manager is entered; never entering leaves it unawaited.
@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")
async def test_unentered_manager_records_nothing(claude: Claude, fake: FakeProvider, anthropic_otel: Recorded) -> None:
    manager(claude)
    gc.collect()
    assert anthropic_otel.spans() == []
    assert fake.requests == []


async def test_beta_and_prompt_caching_managers(claude: Claude, anthropic_otel: Recorded) -> None:
    paths = [p for p in ("beta.messages", "beta.prompt_caching.messages") if _has_stream(claude.client, p)]
    assert paths  # every supported release has at least one of them
    for path in paths:
        mgr = manager(claude, path=path)
        stream = await enter(claude, mgr)
        await maybe_await(stream.until_done())
        await leave(claude, mgr)
    assert [dict(s.attributes or {})["gen_ai.usage.output_tokens"] for s in anthropic_otel.spans()] == [12] * len(paths)


def _has_stream(client: Any, path: str) -> bool:
    target: Any = client
    for part in path.split("."):
        target = getattr(target, part, None)
    return hasattr(target, "stream")
