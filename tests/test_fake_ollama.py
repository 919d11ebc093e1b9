"""The fake provider's Ollama wire format, read as raw HTTP: NDJSON framing, defaults, errors, faults."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from llm_otel.fake import Behavior, FakeProvider

HI = [{"role": "user", "content": "say hello to the test suite"}]


def post(fake: FakeProvider, path: str, body: dict[str, Any], behavior: Behavior | None = None) -> httpx.Response:
    headers = behavior.header() if behavior else {}
    return httpx.post(fake.url + path, json=body, headers=headers, timeout=10)


def lines(response: httpx.Response) -> list[dict[str, Any]]:
    return [json.loads(line) for line in response.text.splitlines()]


def test_chat_streams_ndjson_unless_told_not_to(fake: FakeProvider) -> None:
    streamed = post(fake, "/api/chat", {"model": "m", "messages": HI})
    assert streamed.headers["content-type"] == "application/x-ndjson"
    chunks = lines(streamed)
    assert [chunk["done"] for chunk in chunks] == [False] * 12 + [True]
    final = chunks[-1]
    assert (final["done_reason"], final["prompt_eval_count"], final["eval_count"]) == ("stop", 6, 12)
    assert final["total_duration"] == final["load_duration"] + final["prompt_eval_duration"] + final["eval_duration"]
    whole = post(fake, "/api/chat", {"model": "m", "messages": HI, "stream": False}).json()
    assert whole["message"]["content"] == "".join(chunk["message"]["content"] for chunk in chunks)


def test_num_predict_cuts_the_reply(fake: FakeProvider) -> None:
    body = post(fake, "/api/generate", {"model": "m", "prompt": "hi", "stream": False, "options": {"num_predict": 2}})
    assert (body.json()["done_reason"], body.json()["eval_count"]) == ("length", 2)


@pytest.mark.parametrize(("status", "message"), [(404, 'model "m" not found, try pulling it first'), (500, None)])
def test_error_bodies(fake: FakeProvider, status: int, message: str | None) -> None:
    response = post(fake, "/api/chat", {"model": "m", "messages": HI}, Behavior(status=status))
    assert response.status_code == status
    assert set(response.json()) == {"error"}
    if message:
        assert response.json()["error"] == message


def test_in_stream_error_is_an_error_line(fake: FakeProvider) -> None:
    chunks = lines(post(fake, "/api/chat", {"model": "m", "messages": HI}, Behavior(stream_error_after_chunks=2)))
    assert [set(chunk) for chunk in chunks[2:]] == [{"error"}]
    assert len(chunks) == 3


def test_a_request_without_a_model_is_refused(fake: FakeProvider) -> None:
    response = post(fake, "/api/embed", {"input": "x"})
    assert (response.status_code, response.json()) == (400, {"error": "model is required"})


def test_embed_and_legacy_embeddings(fake: FakeProvider) -> None:
    embedded = post(fake, "/api/embed", {"model": "e", "input": ["a b", "c"], "dimensions": 3}).json()
    assert [len(vector) for vector in embedded["embeddings"]] == [3, 3]
    assert embedded["prompt_eval_count"] == 3
    legacy = post(fake, "/api/embeddings", {"model": "e", "prompt": "a b"}).json()
    assert set(legacy) == {"embedding"}
