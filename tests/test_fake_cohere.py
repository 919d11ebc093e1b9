"""The fake provider's Cohere v2 wire format, read as raw HTTP: typed SSE events, usage, errors, faults."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from llm_otel.fake import Behavior, FakeProvider

HI = [{"role": "user", "content": "say hello to the test suite"}]
TOOLS = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}]


def post(fake: FakeProvider, path: str, body: dict[str, Any], behavior: Behavior | None = None) -> httpx.Response:
    headers = behavior.header() if behavior else {}
    return httpx.post(fake.url + path, json=body, headers=headers, timeout=10)


def sse(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    """(event name, data) of every event; each event is an ``event:`` line, then a ``data:`` line."""
    blocks = [block.splitlines() for block in response.text.split("\n\n") if block.strip()]
    assert all(len(lines) == 2 for lines in blocks), blocks
    return [(lines[0].removeprefix("event: "), json.loads(lines[1].removeprefix("data: "))) for lines in blocks]


def test_chat_streams_typed_events_named_by_their_type(fake: FakeProvider) -> None:
    streamed = post(fake, "/v2/chat", {"model": "m", "messages": HI, "stream": True})
    assert streamed.headers["content-type"].startswith("text/event-stream")
    events = sse(streamed)
    assert all(name == data["type"] for name, data in events)
    kinds = [name for name, _ in events]
    assert kinds == ["message-start", "content-start", *["content-delta"] * 12, "content-end", "message-end"]
    start, end = events[0][1], events[-1][1]
    assert start["delta"]["message"]["role"] == "assistant"
    tokens = {"input_tokens": 6, "output_tokens": 12}
    assert end["delta"] == {"finish_reason": "COMPLETE", "usage": {"billed_units": tokens, "tokens": tokens}}
    whole = post(fake, "/v2/chat", {"model": "m", "messages": HI}).json()
    text = "".join(data["delta"]["message"]["content"]["text"] for name, data in events if name == "content-delta")
    assert whole["message"]["content"] == [{"type": "text", "text": text}]
    assert (whole["finish_reason"], whole["usage"]["tokens"]) == ("COMPLETE", tokens)


def test_max_tokens_cuts_and_cached_tokens_are_reported(fake: FakeProvider) -> None:
    reply = post(fake, "/v2/chat", {"model": "m", "messages": HI, "max_tokens": 2}, Behavior(cached_tokens=4)).json()
    assert reply["finish_reason"] == "MAX_TOKENS"
    assert (reply["usage"]["tokens"]["output_tokens"], reply["usage"]["cached_tokens"]) == (2, 4)


def test_a_tool_call_streams_its_plan_and_arguments(fake: FakeProvider) -> None:
    body = {"model": "m", "messages": HI, "tools": TOOLS, "stream": True}
    events = sse(post(fake, "/v2/chat", body, Behavior(tool_call=True)))
    assert [name for name, _ in events] == [
        "message-start",
        "tool-plan-delta",
        "tool-call-start",
        "tool-call-delta",
        "tool-call-end",
        "message-end",
    ]
    assert events[2][1]["delta"]["message"]["tool_calls"]["function"] == {"name": "f", "arguments": ""}
    assert events[3][1]["delta"]["message"]["tool_calls"]["function"]["arguments"] == "{}"
    assert events[-1][1]["delta"]["finish_reason"] == "TOOL_CALL"
    whole = post(fake, "/v2/chat", {**body, "stream": False}, Behavior(tool_call=True)).json()
    assert whole["message"]["tool_calls"][0]["function"] == {"name": "f", "arguments": "{}"}
    assert "content" not in whole["message"]


@pytest.mark.parametrize("status", [400, 401, 429, 500, 503])
def test_error_bodies(fake: FakeProvider, status: int) -> None:
    response = post(fake, "/v2/chat", {"model": "m", "messages": HI}, Behavior(status=status))
    assert response.status_code == status
    assert set(response.json()) == {"id", "message"}
    assert "x-debug-trace-id" in response.headers


def test_in_stream_error_is_a_message_end_with_finish_reason_error(fake: FakeProvider) -> None:
    body = {"model": "m", "messages": HI, "stream": True}
    events = sse(post(fake, "/v2/chat", body, Behavior(stream_error_after_chunks=2)))
    assert [name for name, _ in events] == ["message-start", "content-start", "message-end"]
    assert events[-1][1]["delta"]["finish_reason"] == "ERROR"
    assert events[-1][1]["delta"]["error"]


def test_embed_by_type_with_billed_units(fake: FakeProvider) -> None:
    body = {"model": "e", "texts": ["a b", "c"], "input_type": "search_query", "embedding_types": ["float", "int8"]}
    embedded = post(fake, "/v2/embed", {**body, "output_dimension": 3}).json()
    assert embedded["response_type"] == "embeddings_by_type"
    assert [len(vector) for vector in embedded["embeddings"]["float"]] == [3, 3]
    assert all(-127 <= value <= 127 for vector in embedded["embeddings"]["int8"] for value in vector)
    assert embedded["meta"]["billed_units"] == {"input_tokens": 3}
    missing = post(fake, "/v2/embed", {"model": "e", "texts": ["a"]})
    assert missing.status_code == 400


def test_rerank_orders_by_the_query_words(fake: FakeProvider) -> None:
    body = {"model": "r", "query": "cat ran", "documents": ["the cat", "a dog", "the cat ran"], "top_n": 2}
    reranked = post(fake, "/v2/rerank", body).json()
    assert reranked["results"] == [{"index": 2, "relevance_score": 1.0}, {"index": 0, "relevance_score": 0.5}]
    assert reranked["meta"]["billed_units"] == {"search_units": 1}


def test_reasoning_tokens_are_a_thinking_item_before_the_text(fake: FakeProvider) -> None:
    body = {"model": "m", "messages": HI}
    whole = post(fake, "/v2/chat", body, Behavior(reasoning_tokens=2, output_tokens=1)).json()
    assert whole["message"]["content"] == [{"type": "thinking", "thinking": "Is a."}, {"type": "text", "text": "This."}]
    assert whole["usage"]["tokens"]["output_tokens"] == 3
    events = sse(post(fake, "/v2/chat", {**body, "stream": True}, Behavior(reasoning_tokens=2, output_tokens=1)))
    items = [(data["index"], data["delta"]["message"]["content"]) for name, data in events if name == "content-delta"]
    assert items == [(0, {"thinking": "Is"}), (0, {"thinking": " a."}), (1, {"text": "This."})]
