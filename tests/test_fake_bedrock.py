"""The fake provider's Bedrock wire format, read as raw HTTP: AWS's binary event stream (decoded by
botocore's own parser, which checks both CRCs), the invoke stream's base64 chunks, errors."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from typing import Any

import httpx
from botocore.eventstream import EventStreamBuffer, EventStreamMessage

from llm_otel.fake import Behavior, FakeProvider

HI = [{"role": "user", "content": [{"text": "say hello to the test suite"}]}]
NOVA = "amazon.nova-lite-v1:0"


def post(fake: FakeProvider, path: str, body: dict[str, Any], behavior: Behavior | None = None) -> httpx.Response:
    headers = behavior.header() if behavior else {}
    return httpx.post(f"{fake.url}/model/{path}", json=body, headers=headers, timeout=10)


def messages(response: httpx.Response) -> list[EventStreamMessage]:
    buffer = EventStreamBuffer()
    buffer.add_data(response.content)
    return list(buffer)


def test_converse_stream_is_framed_in_the_event_stream(fake: FakeProvider) -> None:
    response = post(fake, f"{NOVA}/converse-stream", {"messages": HI})
    assert response.headers["content-type"] == "application/vnd.amazon.eventstream"
    assert response.headers["x-amzn-requestid"]
    decoded = messages(response)
    assert [m.headers[":event-type"] for m in decoded] == [
        "messageStart",
        *["contentBlockDelta"] * 12,
        "contentBlockStop",
        "messageStop",
        "metadata",
    ]
    assert {(m.headers[":message-type"], m.headers[":content-type"]) for m in decoded} == {
        ("event", "application/json")
    }
    payloads = [json.loads(m.payload) for m in decoded]
    assert payloads[-2] == {"stopReason": "end_turn"}
    assert payloads[-1]["usage"] == {"inputTokens": 6, "outputTokens": 12, "totalTokens": 18}


def test_frames_carry_lengths_and_crcs(fake: FakeProvider) -> None:
    raw = post(fake, f"{NOVA}/converse-stream", {"messages": HI}).content
    total, headers_length, prelude_crc = struct.unpack(">III", raw[:12])
    assert prelude_crc == zlib.crc32(raw[:8])
    assert struct.unpack(">I", raw[total - 4 : total])[0] == zlib.crc32(raw[: total - 4])
    assert raw[12] == len(":event-type")  # the first header's name length
    assert total == 12 + headers_length + len(b'{"role":"assistant"}') + 4


def test_invoke_stream_chunks_are_base64_json_with_metrics_last(fake: FakeProvider) -> None:
    body = {"prompt": "say hello to the test suite", "max_gen_len": 3}
    decoded = messages(post(fake, "meta.llama3-8b-instruct-v1:0/invoke-with-response-stream", body))
    assert {m.headers[":event-type"] for m in decoded} == {"chunk"}
    chunks = [json.loads(base64.b64decode(json.loads(m.payload)["bytes"])) for m in decoded]
    assert [chunk["stop_reason"] for chunk in chunks] == [None, None, "length"]
    assert ["amazon-bedrock-invocationMetrics" in chunk for chunk in chunks] == [False, False, True]
    assert chunks[-1]["amazon-bedrock-invocationMetrics"]["outputTokenCount"] == 3


def test_invoke_reports_usage_headers(fake: FakeProvider) -> None:
    response = post(fake, "mistral.mistral-7b-instruct-v0:2/invoke", {"prompt": "say hello to the test suite"})
    assert response.json()["outputs"][0]["stop_reason"] == "stop"
    assert response.headers["x-amzn-bedrock-input-token-count"] == "6"
    assert response.headers["x-amzn-bedrock-output-token-count"] == "12"


def test_errors_name_their_code_in_a_header(fake: FakeProvider) -> None:
    response = post(fake, f"{NOVA}/converse", {"messages": HI}, Behavior(status=429))
    assert response.status_code == 429
    assert response.headers["x-amzn-errortype"].partition(":")[0] == "ThrottlingException"
    assert response.json() == {"message": "ThrottlingException"}
    unknown = post(fake, "acme.model-v1/invoke", {"prompt": "hi"})
    assert unknown.status_code == 400
    assert unknown.headers["x-amzn-errortype"].startswith("ValidationException")


def test_stream_error_is_an_exception_message(fake: FakeProvider) -> None:
    decoded = messages(post(fake, f"{NOVA}/converse-stream", {"messages": HI}, Behavior(stream_error_after_chunks=2)))
    assert len(decoded) == 3
    last = decoded[-1]
    assert (last.headers[":message-type"], last.headers[":exception-type"]) == (
        "exception",
        "modelStreamErrorException",
    )
    assert ":event-type" not in last.headers
