"""litellm: its OpenAI route calls ``client.post()`` below the SDK's resource methods, with raw
responses it parses itself."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import MESSAGES, MODEL

from .conftest import Traced

litellm = pytest.importorskip("litellm")

pytestmark = pytest.mark.anyio


def route(traced: Traced) -> dict[str, Any]:
    return {"api_base": traced.fake.openai_base_url, "api_key": "k", "messages": MESSAGES}


async def test_completion_whole_and_streamed(traced: Traced) -> None:
    kwargs = {"model": f"openai/{MODEL}", **route(traced)}
    whole = litellm.completion(**kwargs)
    chunks = list(litellm.completion(**kwargs, stream=True, stream_options={"include_usage": True}))
    stream = await litellm.acompletion(**kwargs, stream=True, stream_options={"include_usage": True})
    achunks = [chunk async for chunk in stream]
    assert whole.choices[0].message.content and chunks and achunks
    spans = traced.check(calls=3)
    assert all(s.attributes and s.attributes["gen_ai.usage.output_tokens"] == 12 for s in spans)


async def test_embedding(traced: Traced) -> None:
    kwargs = route(traced)
    del kwargs["messages"]
    result = litellm.embedding(model="openai/text-embedding-3-small", input=["hello"], **kwargs)
    assert result.data
    spans = traced.check(calls=1)
    assert spans[0].name == "embeddings text-embedding-3-small"
