"""Failures: error.type on span and metrics, and the SDK's results and exceptions reach the caller unchanged."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from opentelemetry.trace import StatusCode

from conftest import MESSAGES, MODEL, Api, Recorded, Spy, drain, spying
from llm_otel.fake import Behavior, FakeProvider

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, "openai.BadRequestError"),
        (401, "openai.AuthenticationError"),
        (403, "openai.PermissionDeniedError"),
        (404, "openai.NotFoundError"),
        (409, "openai.ConflictError"),
        (422, "openai.UnprocessableEntityError"),
        (429, "openai.RateLimitError"),
        (500, "openai.InternalServerError"),
        (503, "openai.InternalServerError"),
        (418, "418"),  # no class of its own: the generic APIStatusError is named by its status
    ],
)
async def test_http_errors_set_error_type(api: Api, otel: Recorded, status: int, expected: str) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        await api.chat(behavior=Behavior(status=status))
    assert caught.value.status_code == status
    span = otel.span()
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == expected
    point = otel.point("gen_ai.client.operation.duration")
    assert dict(point.attributes or {})["error.type"] == expected
    assert "gen_ai.response.model" not in dict(point.attributes or {})
    assert otel.points("gen_ai.client.token.usage") == []


async def test_timeout_sets_error_type(fake: FakeProvider, otel: Recorded) -> None:
    client = openai.OpenAI(base_url=fake.openai_base_url, api_key="k", max_retries=0, timeout=0.3)
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model=MODEL, messages=MESSAGES, extra_headers=Behavior(hang=10).header())
    assert (otel.span().attributes or {})["error.type"] == "openai.APITimeoutError"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_connection_error_sets_error_type(otel: Recorded) -> None:
    client = openai.AsyncOpenAI(base_url=f"http://127.0.0.1:{_closed_port()}/v1", api_key="k", max_retries=0)
    with pytest.raises(openai.APIConnectionError):
        await client.chat.completions.create(model=MODEL, messages=MESSAGES)
    span = otel.span()
    assert (span.attributes or {})["error.type"] == "openai.APIConnectionError"
    assert (span.attributes or {})["server.address"] == "127.0.0.1"
    await client.close()


async def test_sdk_retries_are_inside_one_span(fake: FakeProvider, otel: Recorded) -> None:
    client = openai.OpenAI(base_url=fake.openai_base_url, api_key="k", max_retries=2)
    fake.push(Behavior(status=503, retry_after=0), times=2)
    client.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert [r.headers.get("x-stainless-retry-count") for r in fake.requests] == ["0", "1", "2"]
    assert otel.span().status.status_code is StatusCode.UNSET


@pytest.fixture
def spy() -> Iterator[Spy]:
    yield from spying(openai._base_client)


async def test_result_is_the_sdks_own_object(api: Api, otel: Recorded, spy: Spy) -> None:
    reply = await api.chat()
    assert reply is spy.returned


async def test_exception_is_the_sdks_own_object(api: Api, otel: Recorded, spy: Spy) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        await api.chat(behavior=Behavior(status=429))
    assert caught.value is spy.raised


async def test_stream_proxy_stands_for_the_sdk_stream(api: Api, otel: Recorded, spy: Spy) -> None:
    stream = await api.chat(stream=True)
    assert stream.__wrapped__ is spy.returned
    assert isinstance(stream, openai.AsyncStream if api.mode == "async" else openai.Stream)
    assert stream.response is spy.returned.response
    await drain(stream)


async def _failing_stream(api: Api) -> tuple[list[Any], openai.APIError]:
    chunks: list[Any] = []
    stream = await api.chat(stream=True, behavior=Behavior(stream_error_after_chunks=2))
    with pytest.raises(openai.APIError) as caught:
        if api.mode == "async":
            async for chunk in stream:
                chunks.append(chunk)
        else:
            for chunk in stream:
                chunks.append(chunk)
    return chunks, caught.value


async def test_mid_stream_error_is_unchanged(api: Api, otel_with: Any) -> None:
    bare_chunks, bare_error = await _failing_stream(api)
    otel_with()
    chunks, error = await _failing_stream(api)
    assert type(error) is type(bare_error)
    assert (error.message, error.body) == (bare_error.message, bare_error.body)
    assert [c.choices[0].delta.content for c in chunks] == [c.choices[0].delta.content for c in bare_chunks]


async def test_results_equal_with_and_without_instrumentation(api: Api, otel_with: Any, fake: FakeProvider) -> None:
    kwargs: dict[str, Any] = {"seed": 1, "temperature": 0.0}
    bare = await api.chat(**kwargs)
    bare_chunks = await drain(await api.chat(stream=True, **kwargs))
    otel_with()
    traced = await api.chat(**kwargs)
    traced_chunks = await drain(await api.chat(stream=True, **kwargs))
    volatile = {"id", "created"}
    assert traced.model_dump(exclude=volatile) == bare.model_dump(exclude=volatile)
    assert [c.model_dump(exclude=volatile) for c in traced_chunks] == [
        c.model_dump(exclude=volatile) for c in bare_chunks
    ]
