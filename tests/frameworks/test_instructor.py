"""instructor: structured output through tool calls, whole and as a stream of partial objects."""

from __future__ import annotations

from collections.abc import AsyncIterator

import openai
import pytest
from pydantic import BaseModel

from conftest import MESSAGES, MODEL
from llm_otel.fake import Behavior

from .conftest import Traced

instructor = pytest.importorskip("instructor")

pytestmark = pytest.mark.anyio

TOOL_CALL = Behavior(tool_call=True).header()


class Person(BaseModel):
    name: str
    age: int


async def test_structured_output_whole_and_partial(traced: Traced) -> None:
    client = instructor.from_openai(openai.OpenAI(base_url=traced.fake.openai_base_url, api_key="k", max_retries=0))
    kwargs = {"model": MODEL, "messages": MESSAGES, "response_model": Person, "extra_headers": TOOL_CALL}
    whole = client.chat.completions.create(**kwargs)
    partials = list(client.chat.completions.create_partial(**kwargs))
    assert isinstance(whole, Person) and partials[-1].model_dump() == whole.model_dump()
    spans = traced.check(calls=2)
    assert [s.attributes and s.attributes["gen_ai.response.finish_reasons"] for s in spans] == [("tool_calls",)] * 2


async def test_async_partial_stream(traced: Traced) -> None:
    raw = openai.AsyncOpenAI(base_url=traced.fake.openai_base_url, api_key="k", max_retries=0)
    client = instructor.from_openai(raw)
    kwargs = {"model": MODEL, "messages": MESSAGES, "response_model": Person, "extra_headers": TOOL_CALL}
    partials = [p async for p in client.chat.completions.create_partial(**kwargs)]
    assert partials[-1].name
    traced.check(calls=1)
    await raw.close()


async def test_a_sync_stream_is_no_async_iterator(traced: Traced) -> None:
    """instructor tells sync from async streams with isinstance(stream, AsyncIterator)."""
    client = openai.OpenAI(base_url=traced.fake.openai_base_url, api_key="k", max_retries=0)
    stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    assert not isinstance(stream, AsyncIterator)
    assert list(stream)
    traced.check(calls=1)
