"""langchain-openai and langchain-anthropic: chat models invoked and streamed, sync and async."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import CLAUDE, MODEL, http_module

from .conftest import Traced

langchain_openai = pytest.importorskip("langchain_openai")
langchain_anthropic = pytest.importorskip("langchain_anthropic")

pytestmark = pytest.mark.anyio


def openai_chat(traced: Traced, **options: Any) -> Any:
    # An async HTTP client of the test's own: langchain's shared default outlives the event loop.
    return langchain_openai.ChatOpenAI(
        model=MODEL,
        base_url=traced.fake.openai_base_url,
        api_key="k",
        max_retries=0,
        http_async_client=http_module().AsyncClient(),
        **options,
    )


def claude(traced: Traced) -> Any:
    return langchain_anthropic.ChatAnthropic(model=CLAUDE, base_url=traced.fake.url, api_key="k", max_retries=0)


# Through create() by default; with response headers, through with_raw_response (and its parse()).
OPENAI_OPTIONS = {
    "chat": {"stream_usage": True},
    "chat-raw": {"stream_usage": True, "include_response_headers": True},
    "responses": {"use_responses_api": True},
    "responses-raw": {"use_responses_api": True, "include_response_headers": True},
}


@pytest.mark.parametrize("options", OPENAI_OPTIONS.values(), ids=OPENAI_OPTIONS.keys())
async def test_chat_openai(traced: Traced, options: dict[str, Any]) -> None:
    model = openai_chat(traced, **options)
    reply = model.invoke("say hello")
    chunks = list(model.stream("say hello"))
    areply = await model.ainvoke("say hello")
    achunks = [chunk async for chunk in model.astream("say hello")]
    assert reply.content and areply.content and chunks and achunks
    spans = traced.check(calls=4)
    # The streams asked for their usage, and it reached the span.
    assert all(s.attributes and s.attributes["gen_ai.usage.output_tokens"] == 12 for s in spans)


async def test_chat_anthropic_streams_through_the_raw_response(traced: Traced) -> None:
    model = claude(traced)
    reply = model.invoke("say hello")
    chunks = list(model.stream("say hello"))
    achunks = [chunk async for chunk in model.astream("say hello")]
    assert reply.content and chunks and achunks
    spans = traced.check(calls=3)
    assert [s.attributes and s.attributes["gen_ai.response.finish_reasons"] for s in spans] == [("stop",)] * 3
