"""The fake provider's Mistral wire format, read as raw HTTP: SSE framing, usage, errors, faults."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from llm_otel.fake import Behavior, FakeProvider

HI = [{"role": "user", "content": "say hello to the test suite"}]


def post(fake: FakeProvider, path: str, body: dict[str, Any], behavior: Behavior | None = None) -> httpx.Response:
    headers = behavior.header() if behavior else {}
    return httpx.post(fake.mistral_server_url + path, json=body, headers=headers, timeout=10)


def data_lines(response: httpx.Response) -> list[str]:
    return [line.removeprefix("data: ") for line in response.text.splitlines() if line.startswith("data: ")]


def test_chat_streams_sse_ending_with_done(fake: FakeProvider) -> None:
    streamed = post(fake, "/v1/chat/completions", {"model": "m", "messages": HI, "stream": True})
    assert streamed.headers["content-type"].startswith("text/event-stream")
    lines = data_lines(streamed)
    assert lines[-1] == "[DONE]"
    chunks = [json.loads(line) for line in lines[:-1]]
    assert [chunk["choices"][0]["finish_reason"] for chunk in chunks] == [None] * 13 + ["stop"]
    assert ["usage" in chunk for chunk in chunks] == [False] * 13 + [True]  # on the last chunk only
    assert chunks[-1]["usage"] == {"prompt_tokens": 6, "completion_tokens": 12, "total_tokens": 18}
    whole = post(fake, "/v1/chat/completions", {"model": "m", "messages": HI}).json()
    text = "".join(chunk["choices"][0]["delta"]["content"] for chunk in chunks)
    assert whole["choices"][0]["message"]["content"] == text
    assert (whole["object"], whole["choices"][0]["finish_reason"]) == ("chat.completion", "stop")


def test_max_tokens_cuts_and_cached_tokens_are_reported(fake: FakeProvider) -> None:
    body = {"model": "m", "messages": HI, "max_tokens": 2}
    reply = post(fake, "/v1/chat/completions", body, Behavior(cached_tokens=4)).json()
    assert reply["choices"][0]["finish_reason"] == "length"
    assert reply["usage"]["prompt_tokens_details"] == {"cached_tokens": 4}


@pytest.mark.parametrize(("status", "kind"), [(400, "invalid_request_error"), (429, "rate_limited"), (503, None)])
def test_error_bodies(fake: FakeProvider, status: int, kind: str | None) -> None:
    response = post(fake, "/v1/chat/completions", {"model": "m", "messages": HI}, Behavior(status=status))
    assert response.status_code == status
    assert response.json()["object"] == "error"
    if kind:
        assert response.json()["type"] == kind
    assert "mistral-correlation-id" in response.headers


def test_a_validation_error_has_mistrals_detail(fake: FakeProvider) -> None:
    response = post(fake, "/v1/chat/completions", {"model": "m", "messages": []})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "messages"]


def test_in_stream_error_is_an_error_object(fake: FakeProvider) -> None:
    body = {"model": "m", "messages": HI, "stream": True}
    lines = data_lines(post(fake, "/v1/chat/completions", body, Behavior(stream_error_after_chunks=2)))
    assert len(lines) == 3
    assert json.loads(lines[-1])["object"] == "error"  # and no [DONE]


def test_fim_and_embeddings(fake: FakeProvider) -> None:
    fim = post(fake, "/v1/fim/completions", {"model": "codestral-latest", "prompt": "a b", "suffix": "c"}).json()
    assert fim["usage"]["prompt_tokens"] == 3
    embedded = post(fake, "/v1/embeddings", {"model": "e", "input": ["a b", "c"], "output_dimension": 3}).json()
    assert [len(item["embedding"]) for item in embedded["data"]] == [3, 3]
    assert embedded["usage"] == {"prompt_tokens": 3, "completion_tokens": 0, "total_tokens": 3}


def test_openai_paths_stay_openais(fake: FakeProvider) -> None:
    response = httpx.post(fake.openai_base_url + "/chat/completions", json={"model": "m", "messages": HI}, timeout=10)
    assert response.json()["object"] == "chat.completion"
    assert "system_fingerprint" in response.json()  # OpenAI's body, not Mistral's
