"""Bedrock Runtime calls through the real botocore client: Converse and InvokeModel per model family,
the span and metrics each gets, the caller's response unchanged, errors, and every other call untouched."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from opentelemetry.trace import StatusCode

from conftest import CONVERSE_MESSAGES, FULL_REPLY, NOVA, Recorded, bedrock_client
from llm_otel.fake import Behavior, FakeProvider
from llm_otel.resilience import classify

TOOL_CONFIG = {
    "tools": [
        {
            "toolSpec": {
                "name": "get_weather",
                "description": "Weather of a city",
                "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}}},
            }
        }
    ]
}


def test_converse_span_and_metrics(bedrock: Any, bedrock_otel: Recorded, fake: FakeProvider) -> None:
    config = {"maxTokens": 100, "temperature": 0.2, "topP": 0.9, "stopSequences": ["END"]}
    response = bedrock.converse(modelId=NOVA, messages=CONVERSE_MESSAGES, inferenceConfig=config)
    assert response["output"]["message"]["content"] == [{"text": FULL_REPLY}]
    span = bedrock_otel.span()
    assert span.name == f"chat {NOVA}"
    assert span.status.status_code is StatusCode.UNSET
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "aws.bedrock"
    assert attrs["gen_ai.request.model"] == NOVA
    assert (attrs["server.address"], attrs["server.port"]) == ("127.0.0.1", fake.port)
    assert attrs["gen_ai.request.max_tokens"] == 100
    assert attrs["gen_ai.request.temperature"] == 0.2
    assert attrs["gen_ai.request.top_p"] == 0.9
    assert attrs["gen_ai.request.stop_sequences"] == ("END",)
    assert "gen_ai.request.stream" not in attrs
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (6, 12)
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["gen_ai.response.id"] == response["ResponseMetadata"]["RequestId"]
    assert attrs["llm_otel.usage.cost"] == pytest.approx(6 * 0.06e-6 + 12 * 0.24e-6)  # Nova Lite's list price
    duration = bedrock_otel.point("gen_ai.client.operation.duration", gen_ai__provider__name="aws.bedrock")
    assert duration.count == 1  # type: ignore[union-attr]
    assert bedrock_otel.point("gen_ai.client.token.usage", gen_ai__token__type="input").sum == 6  # type: ignore[union-attr]
    assert bedrock_otel.point("gen_ai.client.token.usage", gen_ai__token__type="output").sum == 12  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("behavior", "config", "reason"),
    [
        (Behavior(), {"maxTokens": 3}, "length"),
        (Behavior(tool_call=True), {}, "tool_call"),
    ],
)
def test_converse_stop_reasons(
    bedrock: Any, bedrock_otel: Recorded, fake: FakeProvider, behavior: Behavior, config: Any, reason: str
) -> None:
    fake.push(behavior)
    response = bedrock.converse(
        modelId=NOVA, messages=CONVERSE_MESSAGES, inferenceConfig=config, toolConfig=TOOL_CONFIG
    )
    assert response["stopReason"] in ("max_tokens", "tool_use")
    assert bedrock_otel.attributes()["gen_ai.response.finish_reasons"] == (reason,)


def test_converse_cache_reads_count_as_input(bedrock: Any, bedrock_otel: Recorded, fake: FakeProvider) -> None:
    fake.push(Behavior(cached_tokens=4))
    usage = bedrock.converse(modelId=NOVA, messages=CONVERSE_MESSAGES)["usage"]
    attrs = bedrock_otel.attributes()
    assert "gen_ai.usage.cache_creation.input_tokens" not in attrs
    if "cacheReadInputTokens" not in usage:  # botocore before prompt caching drops the counts it does not model
        assert (usage["inputTokens"], attrs["gen_ai.usage.input_tokens"]) == (2, 2)
        return
    assert (usage["inputTokens"], usage["cacheReadInputTokens"]) == (2, 4)
    assert attrs["gen_ai.usage.input_tokens"] == 6
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 4


ANTHROPIC_BODY = {
    "anthropic_version": "bedrock-2023-05-31",
    "max_tokens": 50,
    "temperature": 0.5,
    "messages": [{"role": "user", "content": "say hello to the test suite"}],
}
NOVA_BODY = {"messages": CONVERSE_MESSAGES, "inferenceConfig": {"max_new_tokens": 50, "temperature": 0.5}}
PROMPT = "say hello to the test suite"
SAMPLING = {"temperature": 0.5}
#: (model id, request body, operation name, finish reason)
FAMILIES = [
    ("us.anthropic.claude-3-5-haiku-20241022-v1:0", ANTHROPIC_BODY, "chat", "stop"),
    ("eu.amazon.nova-micro-v1:0", NOVA_BODY, "chat", "stop"),
    ("meta.llama3-8b-instruct-v1:0", {"prompt": PROMPT, "max_gen_len": 50, **SAMPLING}, "text_completion", "stop"),
    ("mistral.mistral-7b-instruct-v0:2", {"prompt": PROMPT, "max_tokens": 50, **SAMPLING}, "text_completion", "stop"),
    ("cohere.command-r-v1:0", {"message": PROMPT, "max_tokens": 50, "temperature": 0.5}, "chat", "stop"),
]


@pytest.mark.parametrize(("model", "body", "operation", "reason"), FAMILIES)
def test_invoke_model_reads_each_family(
    bedrock: Any, bedrock_otel: Recorded, model: str, body: Any, operation: str, reason: str
) -> None:
    response = bedrock.invoke_model(modelId=model, body=json.dumps(body))
    # The caller reads the whole body, once, from the same kind of object botocore returns.
    assert type(response["body"]).__name__ == "StreamingBody"
    assert FULL_REPLY[:20] in response["body"].read().decode()
    assert response["body"].read() == b""
    attrs = bedrock_otel.attributes()
    assert bedrock_otel.span().name == f"{operation} {model}"
    assert attrs["gen_ai.operation.name"] == operation
    assert attrs["gen_ai.request.max_tokens"] == 50
    assert attrs["gen_ai.request.temperature"] == 0.5
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (6, 12)
    assert attrs["gen_ai.response.finish_reasons"] == (reason,)
    assert attrs["gen_ai.response.id"] == response["ResponseMetadata"]["RequestId"]


def test_invoke_model_length_reason_and_body_usage(bedrock: Any, bedrock_otel: Recorded) -> None:
    body = {"prompt": PROMPT, "max_gen_len": 4}
    response = bedrock.invoke_model(modelId="meta.llama3-8b-instruct-v1:0", body=json.dumps(body).encode())
    assert json.loads(response["body"].read())["generation_token_count"] == 4
    attrs = bedrock_otel.attributes()
    assert attrs["gen_ai.response.finish_reasons"] == ("length",)
    assert attrs["gen_ai.usage.output_tokens"] == 4


def test_invoke_model_reads_usage_from_headers_when_the_body_has_none(bedrock: Any, bedrock_otel: Recorded) -> None:
    body = {"texts": ["say hello", "to the test suite"], "input_type": "search_document"}
    response = bedrock.invoke_model(modelId="cohere.embed-english-v3", body=json.dumps(body))
    assert len(json.loads(response["body"].read())["embeddings"]) == 2
    attrs = bedrock_otel.attributes()
    assert bedrock_otel.span().name == "embeddings cohere.embed-english-v3"
    assert attrs["gen_ai.operation.name"] == "embeddings"
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (6, 0)
    assert "gen_ai.response.finish_reasons" not in attrs


def test_invoke_model_by_arn_reads_the_family(bedrock: Any, bedrock_otel: Recorded) -> None:
    arn = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
    bedrock.invoke_model(modelId=arn, body=json.dumps(ANTHROPIC_BODY))["body"].read()
    attrs = bedrock_otel.attributes()
    assert attrs["gen_ai.request.model"] == arn
    assert attrs["gen_ai.request.max_tokens"] == 50
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)


def test_invoke_model_with_a_file_body_is_traced_without_request_details(bedrock: Any, bedrock_otel: Recorded) -> None:
    import io

    body = io.BytesIO(json.dumps({"prompt": PROMPT, "max_gen_len": 50}).encode())
    bedrock.invoke_model(modelId="meta.llama3-8b-instruct-v1:0", body=body)["body"].read()
    attrs = bedrock_otel.attributes()
    assert "gen_ai.request.max_tokens" not in attrs
    assert attrs["gen_ai.usage.output_tokens"] == 12


@pytest.mark.parametrize(
    ("status", "code", "error_type", "reason"),
    [
        (429, None, "botocore.ThrottlingException", "rate_limited"),
        (400, None, "botocore.ValidationException", "bad_request"),
        (408, None, "botocore.ModelTimeoutException", "timeout"),
        (503, None, "botocore.ServiceUnavailableException", "server_error"),
        (400, "SomeNewException", "botocore.SomeNewException", "bad_request"),  # not in the service model
        (502, "SomeNewException", "botocore.SomeNewException", "server_error"),
    ],
)
def test_errors_are_named_by_their_code(
    bedrock: Any, bedrock_otel: Recorded, fake: FakeProvider, status: int, code: Any, error_type: str, reason: str
) -> None:
    fake.push(Behavior(status=status, error_code=code))
    with pytest.raises(ClientError) as raised:
        bedrock.converse(modelId=NOVA, messages=CONVERSE_MESSAGES)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    span = bedrock_otel.span()
    assert span.status.status_code is StatusCode.ERROR
    assert dict(span.attributes or {})["error.type"] == error_type
    point = bedrock_otel.point("gen_ai.client.operation.duration", error__type=error_type)
    assert point.count == 1  # type: ignore[union-attr]
    assert classify(raised.value).reason == reason


def test_other_services_and_operations_pass_through(bedrock: Any, bedrock_otel: Recorded, fake: FakeProvider) -> None:
    with pytest.raises(ClientError):  # the fake serves no control plane: a 404
        bedrock_client(fake.url, "bedrock").list_foundation_models()
    if hasattr(bedrock, "apply_guardrail"):  # newer than the oldest botocore supported
        with pytest.raises(ClientError):
            bedrock.apply_guardrail(guardrailIdentifier="g", guardrailVersion="1", source="INPUT", content=[])
    assert bedrock_otel.spans() == []
    assert len(fake.requests) == 1 + hasattr(bedrock, "apply_guardrail")


def test_uninstrument_restores_the_client(bedrock: Any, bedrock_otel: Recorded) -> None:
    from llm_otel.providers.bedrock import BedrockInstrumentor

    BedrockInstrumentor().uninstrument()
    bedrock.converse(modelId=NOVA, messages=CONVERSE_MESSAGES)
    assert bedrock_otel.spans() == []


def test_unreachable_endpoint_is_a_connection_error(bedrock_otel: Recorded) -> None:
    import socket

    from botocore.exceptions import EndpointConnectionError

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(EndpointConnectionError) as raised:
        bedrock_client(f"http://127.0.0.1:{port}").converse(modelId=NOVA, messages=CONVERSE_MESSAGES)
    assert dict(bedrock_otel.span().attributes or {})["error.type"] == "botocore.EndpointConnectionError"
    assert classify(raised.value).reason == "connection"


def test_invoke_body_cut_short_fails_the_callers_read_as_before(bedrock_otel: Recorded) -> None:
    """A body whose connection breaks: the caller's ``read()`` raises botocore's error, as uninstrumented."""
    import socket
    import threading

    from botocore.exceptions import ResponseStreamingError

    server = socket.create_server(("127.0.0.1", 0))
    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n"

    def answer_half() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(head + b'{"generation": "cut')

    thread = threading.Thread(target=answer_half)
    thread.start()
    client = bedrock_client(f"http://127.0.0.1:{server.getsockname()[1]}")
    response = client.invoke_model(modelId="meta.llama3-8b-instruct-v1:0", body=json.dumps({"prompt": PROMPT}))
    thread.join()
    server.close()
    with pytest.raises(ResponseStreamingError):
        response["body"].read()
    span = bedrock_otel.span()
    assert span.status.status_code is StatusCode.ERROR
    assert dict(span.attributes or {})["error.type"] == "botocore.ResponseStreamingError"


def test_read_timeout_is_a_timeout(bedrock_otel: Recorded, fake: FakeProvider) -> None:
    from botocore.exceptions import ReadTimeoutError

    fake.push(Behavior(hang=5))
    with pytest.raises(ReadTimeoutError) as raised:
        bedrock_client(fake.url, read_timeout=0.2).converse(modelId=NOVA, messages=CONVERSE_MESSAGES)
    assert dict(bedrock_otel.span().attributes or {})["error.type"] == "botocore.ReadTimeoutError"
    assert classify(raised.value).reason == "timeout"
