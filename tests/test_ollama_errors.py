"""Ollama failures: error.type on span and metrics; the client's results and exceptions reach the caller unchanged."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import ollama
import pytest
import wrapt
from opentelemetry.trace import StatusCode

from conftest import Llama, Recorded, Spy, drain
from llm_otel.fake import Behavior, FakeProvider

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("status", [400, 404, 429, 500])
async def test_http_errors_set_error_type(llama: Llama, fake: FakeProvider, ollama_otel: Recorded, status: int) -> None:
    fake.push(Behavior(status=status))
    with pytest.raises(ollama.ResponseError) as caught:
        await llama.chat()
    assert caught.value.status_code == status
    span = ollama_otel.span()
    assert span.status.status_code is StatusCode.ERROR
    assert caught.value.error in (span.status.description or "")
    assert (span.attributes or {})["error.type"] == "ollama.ResponseError"
    point = ollama_otel.point("gen_ai.client.operation.duration")
    assert dict(point.attributes or {})["error.type"] == "ollama.ResponseError"
    assert ollama_otel.points("gen_ai.client.token.usage") == []


async def test_model_not_found_is_ollamas_message(llama: Llama, fake: FakeProvider, ollama_otel: Recorded) -> None:
    fake.push(Behavior(status=404))
    with pytest.raises(ollama.ResponseError) as caught:
        await llama.chat(model="missing")
    assert caught.value.error == 'model "missing" not found, try pulling it first'


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_connection_refused_sets_error_type(ollama_otel: Recorded, mode: str) -> None:
    port = unused_port()
    client = Llama(mode, f"http://127.0.0.1:{port}")
    with pytest.raises(Exception) as caught:
        await client.chat()
    cls = type(caught.value)
    # ollama 0.4.7+ raises the builtin ConnectionError, earlier releases httpx.ConnectError.
    expected = cls.__qualname__ if cls.__module__ == "builtins" else f"httpx.{cls.__qualname__}"
    attrs = dict(ollama_otel.span().attributes or {})
    assert (attrs["error.type"], attrs["server.port"]) == (expected, port)


async def test_client_side_validation_sends_and_records_nothing(llama: Llama, ollama_otel: Recorded) -> None:
    with pytest.raises(ValueError):  # pydantic refuses an empty model before any request
        await llama.chat(model="")
    assert ollama_otel.spans() == []


@pytest.fixture
def spy() -> Iterator[Spy]:
    """Records what the client's request method returned or raised, beneath our wrapper."""
    spy = Spy()
    wrapt.wrap_function_wrapper(ollama.Client, "_request_raw", spy.sync)
    wrapt.wrap_function_wrapper(ollama.AsyncClient, "_request_raw", spy.asynchronous)
    yield spy
    for cls in (ollama.Client, ollama.AsyncClient):
        cls._request_raw = cls._request_raw.__wrapped__  # type: ignore[method-assign]


async def test_exception_is_the_clients_own_object(
    llama: Llama, fake: FakeProvider, ollama_otel: Recorded, spy: Spy
) -> None:
    fake.push(Behavior(status=429))
    with pytest.raises(ollama.ResponseError) as caught:
        await llama.chat()
    assert caught.value is spy.raised


async def test_results_equal_with_and_without_instrumentation(llama: Llama, ollama_otel_with: Any) -> None:
    async def run() -> list[Any]:
        reply = await llama.chat()
        chunks = await drain(await llama.chat(stream=True))
        vectors = await llama.call("embed", "nomic-embed-text", "hello")
        return [reply, *chunks, vectors]

    volatile = {"created_at"}
    bare = [item.model_dump(exclude=volatile) for item in await run()]
    ollama_otel_with()
    traced = [item.model_dump(exclude=volatile) for item in await run()]
    assert traced == bare
