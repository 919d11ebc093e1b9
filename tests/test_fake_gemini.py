"""The fake provider's Gemini wire format, read as raw HTTP: paths, SSE framing, usage, errors, embeddings."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from llm_otel.fake import Behavior, FakeProvider

HI = {"contents": [{"role": "user", "parts": [{"text": "say hello to the test suite"}]}]}
MODEL = "/v1beta/models/gemini-2.5-flash"


def post(fake: FakeProvider, path: str, body: dict[str, Any], behavior: Behavior | None = None) -> httpx.Response:
    headers = behavior.header() if behavior else {}
    return httpx.post(fake.url + path, json=body, headers=headers, timeout=10)


def data_lines(response: httpx.Response) -> list[str]:
    return [line.removeprefix("data: ") for line in response.text.splitlines() if line.startswith("data: ")]


def test_generate_answers_candidates_usage_and_model(fake: FakeProvider) -> None:
    reply = post(fake, MODEL + ":generateContent", HI, Behavior(cached_tokens=4, reasoning_tokens=2)).json()
    [candidate] = reply["candidates"]
    assert candidate["finishReason"] == "STOP"
    assert candidate["content"]["role"] == "model"
    assert reply["usageMetadata"]["promptTokenCount"] == 6
    assert reply["usageMetadata"]["candidatesTokenCount"] == 12  # without the thoughts
    assert reply["usageMetadata"]["thoughtsTokenCount"] == 2
    assert reply["usageMetadata"]["cachedContentTokenCount"] == 4
    assert reply["usageMetadata"]["totalTokenCount"] == 20
    assert reply["modelVersion"] == "gemini-2.5-flash"
    assert reply["responseId"]


def test_stream_is_sse_without_terminator_and_usage_is_cumulative(fake: FakeProvider) -> None:
    streamed = httpx.post(fake.url + MODEL + ":streamGenerateContent?alt=sse", json=HI, timeout=10)
    assert streamed.headers["content-type"].startswith("text/event-stream")
    chunks = [json.loads(line) for line in data_lines(streamed)]  # every line a chunk: no [DONE]
    assert len(chunks) == 12
    assert [chunk["usageMetadata"]["candidatesTokenCount"] for chunk in chunks] == list(range(1, 13))
    assert [chunk["candidates"][0].get("finishReason") for chunk in chunks] == [None] * 11 + ["STOP"]
    whole = post(fake, MODEL + ":generateContent", HI).json()
    text = "".join(chunk["candidates"][0]["content"]["parts"][0]["text"] for chunk in chunks)
    assert whole["candidates"][0]["content"]["parts"][0]["text"] == text


def test_max_output_tokens_cuts_with_max_tokens(fake: FakeProvider) -> None:
    body = {**HI, "generationConfig": {"maxOutputTokens": 2, "candidateCount": 2}}
    reply = post(fake, MODEL + ":generateContent", body).json()
    assert [candidate["finishReason"] for candidate in reply["candidates"]] == ["MAX_TOKENS", "MAX_TOKENS"]
    assert reply["usageMetadata"]["candidatesTokenCount"] == 4


def test_a_function_call_ends_with_stop(fake: FakeProvider) -> None:
    parameters = {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]}
    body = {**HI, "tools": [{"functionDeclarations": [{"name": "get_weather", "parameters": parameters}]}]}
    [candidate] = post(fake, MODEL + ":generateContent", body, Behavior(tool_call=True)).json()["candidates"]
    assert candidate["content"]["parts"] == [{"functionCall": {"name": "get_weather", "args": {"city": "fake"}}}]
    assert candidate["finishReason"] == "STOP"


@pytest.mark.parametrize(
    ("status", "kind"), [(400, "INVALID_ARGUMENT"), (429, "RESOURCE_EXHAUSTED"), (503, "UNAVAILABLE")]
)
def test_error_bodies(fake: FakeProvider, status: int, kind: str) -> None:
    response = post(fake, MODEL + ":generateContent", HI, Behavior(status=status))
    assert response.status_code == status
    error = response.json()["error"]
    assert (error["code"], error["status"]) == (status, kind)
    assert error["message"]


def test_a_request_without_contents_is_invalid(fake: FakeProvider) -> None:
    response = post(fake, MODEL + ":generateContent", {"contents": []})
    assert (response.status_code, response.json()["error"]["status"]) == (400, "INVALID_ARGUMENT")


def test_in_stream_error_is_an_error_chunk(fake: FakeProvider) -> None:
    path = MODEL + ":streamGenerateContent?alt=sse"
    lines = data_lines(post(fake, path, HI, Behavior(stream_error_after_chunks=2)))
    assert len(lines) == 3
    assert json.loads(lines[-1])["error"]["code"] == 500


@pytest.mark.parametrize(
    "resource",
    [
        "/v1/models/gemini-2.5-flash",
        "/v1beta1/publishers/google/models/gemini-2.5-flash",
        "/v1beta1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash",
    ],
)
def test_gemini_and_vertex_paths_are_served(fake: FakeProvider, resource: str) -> None:
    fake.push(Behavior(output_tokens=2), model="gemini-2.5-flash")  # the path names the model for scripts
    reply = post(fake, resource + ":generateContent", HI).json()
    assert reply["usageMetadata"]["candidatesTokenCount"] == 2


def test_embeddings(fake: FakeProvider) -> None:
    one = post(fake, "/v1beta/models/e:embedContent", {"content": {"parts": [{"text": "a b"}]}}).json()
    assert len(one["embedding"]["values"]) == 8
    requests = [{"model": "models/e", "content": {"parts": [{"text": t}]}, "outputDimensionality": 3} for t in "ab"]
    batch = post(fake, "/v1beta/models/e:batchEmbedContents", {"requests": requests}).json()
    assert [len(item["values"]) for item in batch["embeddings"]] == [3, 3]
    assert "usageMetadata" not in batch  # the Gemini API reports none
