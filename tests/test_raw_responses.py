"""Results read through ``with_raw_response`` / ``with_streaming_response`` and ``client.post()`` are
observed as fully as a direct call's: one span per call, the same attributes, the same metrics."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import openai
import pytest

from conftest import CLAUDE, MESSAGES, MODEL, Api, Claude, Recorded, drain, maybe_await
from llm_otel.fake import FakeProvider

pytestmark = pytest.mark.anyio

# Differ from call to call: the time to the first chunk, and the fake's generated ids.
VARYING = {"gen_ai.response.time_to_first_chunk", "gen_ai.response.id"}


@dataclass(frozen=True)
class Flavour:
    """One API: the resource path under the client, and the keywords of a streamed request."""

    name: str
    resource: str
    stream_kwargs: dict[str, Any]

    def client_of(self, mode: str, fake: FakeProvider) -> Api:
        return Claude(mode, fake.url) if self.name == "anthropic" else Api(mode, fake.openai_base_url)


FLAVOURS = [
    Flavour(
        "chat", "chat.completions", {"model": MODEL, "messages": MESSAGES, "stream_options": {"include_usage": True}}
    ),
    Flavour("responses", "responses", {"model": MODEL, "input": "say hello"}),
    Flavour("anthropic", "messages", {"model": CLAUDE, "max_tokens": 100, "messages": MESSAGES}),
]


@pytest.fixture(params=FLAVOURS, ids=[f.name for f in FLAVOURS])
def flavour(request: pytest.FixtureRequest) -> Flavour:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(params=["sync", "async"])
async def client(request: pytest.FixtureRequest, flavour: Flavour, fake: FakeProvider) -> AsyncIterator[Api]:
    built = flavour.client_of(request.param, fake)
    yield built
    await maybe_await(built.client.close())


@pytest.fixture
def recorded(
    flavour: Flavour,
    otel_with: Callable[..., Recorded],
    anthropic_otel_with: Callable[..., Recorded],
) -> Recorded:
    return anthropic_otel_with() if flavour.name == "anthropic" else otel_with()


def stable(span: Any) -> dict[str, Any]:
    return {key: value for key, value in (span.attributes or {}).items() if key not in VARYING}


def reset(recorded: Recorded) -> None:
    gc.collect()
    recorded.exporter.clear()


async def direct_stream(client: Api, flavour: Flavour, recorded: Recorded) -> dict[str, Any]:
    """The span attributes of the same stream read through ``create(stream=True)``; then a clean slate."""
    await drain(await client.call(f"{flavour.resource}.create", stream=True, **flavour.stream_kwargs))
    expected = stable(recorded.span())
    reset(recorded)
    return expected


def streamed(client: Api, flavour: Flavour) -> Any:
    """``with_streaming_response.create(stream=True)``, entered by the caller."""
    return client.call_manager(
        f"{flavour.resource}.with_streaming_response.create", stream=True, **flavour.stream_kwargs
    )


def assert_complete(recorded: Recorded, expected: dict[str, Any]) -> None:
    span = recorded.span()
    assert stable(span) == expected
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.usage.output_tokens"] > 0
    assert attrs["gen_ai.response.finish_reasons"]
    assert attrs["gen_ai.response.model"]
    assert attrs["gen_ai.response.time_to_first_chunk"] > 0


async def test_raw_response_stream_parse_is_observed(client: Api, flavour: Flavour, recorded: Recorded) -> None:
    expected = await direct_stream(client, flavour, recorded)
    raw = await client.call(f"{flavour.resource}.with_raw_response.create", stream=True, **flavour.stream_kwargs)
    assert raw.headers["content-type"].startswith("text/event-stream")
    assert recorded.spans() == []  # the body is not read yet
    stream = await maybe_await(raw.parse())
    assert stream is await maybe_await(raw.parse())  # parsing again gives the caller the same stream
    chunks = await drain(stream)
    assert chunks
    assert_complete(recorded, expected)
    output = recorded.point("gen_ai.client.token.usage", gen_ai__token__type="output")
    assert output.count == 2  # the direct call's and this one
    assert recorded.point("gen_ai.client.operation.time_to_first_chunk").count == 2


async def test_streaming_response_parse_is_observed(client: Api, flavour: Flavour, recorded: Recorded) -> None:
    expected = await direct_stream(client, flavour, recorded)
    manager = client.call_manager(
        f"{flavour.resource}.with_streaming_response.create", stream=True, **flavour.stream_kwargs
    )
    async with manager as response:
        assert recorded.spans() == []
        chunks = await drain(await maybe_await(response.parse()))
    assert chunks
    assert_complete(recorded, expected)


async def test_streaming_response_without_stream_reads_the_parsed_result(
    client: Api, flavour: Flavour, recorded: Recorded
) -> None:
    kwargs = {k: v for k, v in flavour.stream_kwargs.items() if k != "stream_options"}
    await client.call(f"{flavour.resource}.create", **kwargs)
    expected = stable(recorded.span())
    reset(recorded)
    async with client.call_manager(f"{flavour.resource}.with_streaming_response.create", **kwargs) as response:
        result = await maybe_await(response.parse())
        assert result is await maybe_await(response.parse())
        assert len(recorded.spans()) == 1  # ended once the body was parsed
    assert stable(recorded.span()) == expected
    assert (recorded.span().attributes or {})["gen_ai.usage.output_tokens"] > 0


async def test_streaming_response_read_as_lines_ends_with_what_is_known(
    client: Api, flavour: Flavour, recorded: Recorded
) -> None:
    manager = client.call_manager(
        f"{flavour.resource}.with_streaming_response.create", stream=True, **flavour.stream_kwargs
    )
    async with manager as response:
        lines = [line async for line in _lines(response)]
        assert recorded.spans() == []
    assert any(line.startswith("data:") for line in lines)  # the caller's bytes, untouched
    attrs = dict(recorded.span().attributes or {})
    assert attrs["gen_ai.request.model"] == flavour.stream_kwargs["model"]
    assert attrs["gen_ai.request.stream"] is True
    assert "gen_ai.usage.output_tokens" not in attrs
    assert recorded.point("gen_ai.client.operation.duration").count == 1


async def test_streaming_response_left_early_ends_the_span_once(
    client: Api, flavour: Flavour, recorded: Recorded
) -> None:
    manager = client.call_manager(
        f"{flavour.resource}.with_streaming_response.create", stream=True, **flavour.stream_kwargs
    )
    async with manager as response:
        stream = await maybe_await(response.parse())
        await maybe_await(stream.__anext__() if hasattr(stream, "__anext__") else next(stream))
    assert recorded.span().end_time is not None
    assert recorded.point("gen_ai.client.operation.time_to_first_chunk").count == 1


async def test_raw_stream_never_parsed_ends_when_collected(client: Api, flavour: Flavour, recorded: Recorded) -> None:
    raw = await client.call(f"{flavour.resource}.with_raw_response.create", stream=True, **flavour.stream_kwargs)
    await maybe_await(raw.http_response.aclose() if client.mode == "async" else raw.http_response.close())
    del raw
    assert recorded.span().end_time is not None


async def _lines(response: Any) -> AsyncIterator[str]:
    lines = response.iter_lines()  # an async generator on the async clients' responses
    if hasattr(lines, "__aiter__"):
        async for line in lines:
            yield line
    else:
        for line in lines:
            yield line


# --- below the resource methods: the client's post(), as litellm calls it -------------------------


def _post_kwargs(api: Api, stream: bool, raw: bool) -> dict[str, Any]:
    from openai.types.chat import ChatCompletion, ChatCompletionChunk

    body: dict[str, Any] = {"model": MODEL, "messages": MESSAGES, "temperature": 0.5}
    kwargs: dict[str, Any] = {"cast_to": ChatCompletion, "body": body}
    if stream:
        body.update(stream=True, stream_options={"include_usage": True})
        stream_cls = openai.AsyncStream if api.mode == "async" else openai.Stream
        kwargs.update(stream=True, stream_cls=stream_cls[ChatCompletionChunk])
    if raw:  # litellm asks for the raw response, to read the headers
        kwargs["options"] = {"headers": {"X-Stainless-Raw-Response": "true"}}
    return kwargs


@pytest.mark.parametrize("raw", [False, True], ids=["parsed", "raw"])
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_client_post_gets_one_complete_span(api: Api, otel: Recorded, stream: bool, raw: bool) -> None:
    direct = {k: v for k, v in _post_kwargs(api, stream, raw=False)["body"].items()}
    result = await api.chat(**direct)
    if stream:
        await drain(result)
    expected = stable(otel.span())
    reset(otel)
    body = _post_kwargs(api, stream, raw)
    sent = dict(body["body"])
    result = await api.call("post", "/chat/completions", **body)
    if raw:
        assert result.headers["content-type"]
        result = await maybe_await(result.parse())
    if stream:
        assert otel.spans() == []
        await drain(result)
    else:
        assert result.choices[0].message.content
    assert body["body"] == sent  # the caller's body is read, never edited
    span = otel.span()
    assert span.name == f"chat {MODEL}"
    assert stable(span) == expected
    assert (span.attributes or {})["gen_ai.request.temperature"] == 0.5


async def test_client_post_to_other_paths_is_not_traced(api: Api, otel: Recorded) -> None:
    from openai.types.chat import ChatCompletion

    with pytest.raises(openai.NotFoundError):
        await api.call("post", "/no/such/path", cast_to=ChatCompletion, body={"model": MODEL})
    assert otel.spans() == []
