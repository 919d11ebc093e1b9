"""Bedrock streams (botocore's ``EventStream`` over AWS's binary event stream): ``converse_stream``'s
events and ``invoke_model_with_response_stream``'s chunks. One span, ended exactly once on every exit
path, with the usage and stop reason the stream carried; the caller's stream stays lazy and unchanged."""

from __future__ import annotations

import gc
import json
from typing import Any

import pytest
from botocore.exceptions import EventStreamError
from opentelemetry.trace import StatusCode

from conftest import CONVERSE_MESSAGES, FULL_REPLY, NOVA, Recorded
from llm_otel.fake import Behavior, FakeProvider
from llm_otel.resilience import classify
from test_bedrock_calls import FAMILIES

EVENTS = 16  # messageStart, 12 deltas, contentBlockStop, messageStop, metadata


def stream(client: Any, **kwargs: Any) -> Any:
    return client.converse_stream(modelId=NOVA, messages=CONVERSE_MESSAGES, **kwargs)["stream"]


def test_converse_stream_span_ends_on_exhaustion(bedrock: Any, bedrock_otel: Recorded) -> None:
    response = bedrock.converse_stream(modelId=NOVA, messages=CONVERSE_MESSAGES, inferenceConfig={"temperature": 0.1})
    assert bedrock_otel.spans() == []  # nothing read yet
    events = list(response["stream"])
    assert len(events) == EVENTS
    assert "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e) == FULL_REPLY
    assert events[-1]["metadata"]["usage"]["outputTokens"] == 12
    span = bedrock_otel.span()
    attrs = dict(span.attributes or {})
    assert span.status.status_code is StatusCode.UNSET
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.request.temperature"] == 0.1
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (6, 12)
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["gen_ai.response.id"] == response["ResponseMetadata"]["RequestId"]
    assert attrs["gen_ai.response.time_to_first_chunk"] > 0
    assert bedrock_otel.point("gen_ai.client.operation.time_to_first_chunk").count == 1  # type: ignore[union-attr]
    assert bedrock_otel.point("gen_ai.client.operation.time_per_output_chunk").count == EVENTS - 1  # type: ignore[union-attr]


def test_converse_stream_reports_a_tool_call(bedrock: Any, bedrock_otel: Recorded, fake: FakeProvider) -> None:
    from test_bedrock_calls import TOOL_CONFIG

    fake.push(Behavior(tool_call=True))
    events = list(stream(bedrock, toolConfig=TOOL_CONFIG))
    assert events[1]["contentBlockStart"]["start"]["toolUse"]["name"] == "get_weather"
    assert bedrock_otel.attributes()["gen_ai.response.finish_reasons"] == ("tool_call",)


def test_converse_stream_span_ends_when_closed_early(bedrock: Any, bedrock_otel: Recorded) -> None:
    events = stream(bedrock)
    assert "messageStart" in next(iter(events))
    events.close()
    span = bedrock_otel.span()
    assert span.status.status_code is StatusCode.UNSET
    assert "gen_ai.usage.output_tokens" not in dict(span.attributes or {})


def test_converse_stream_span_ends_when_abandoned(bedrock: Any, bedrock_otel: Recorded) -> None:
    events = stream(bedrock)
    for event in events:
        if "contentBlockDelta" in event:
            break
    assert bedrock_otel.exporter.get_finished_spans() == ()
    del events, event
    gc.collect()
    assert len(bedrock_otel.spans()) == 1


def test_converse_stream_span_ends_when_never_read(bedrock: Any, bedrock_otel: Recorded) -> None:
    response = bedrock.converse_stream(modelId=NOVA, messages=CONVERSE_MESSAGES)
    del response
    gc.collect()
    assert len(bedrock_otel.spans()) == 1


def test_converse_stream_error_event_ends_the_span_with_it(
    bedrock: Any, bedrock_otel: Recorded, fake: FakeProvider
) -> None:
    fake.push(Behavior(stream_error_after_chunks=3))
    events = stream(bedrock)
    seen = []
    with pytest.raises(EventStreamError) as raised:
        for event in events:
            seen.append(event)
    assert len(seen) == 3
    assert raised.value.response["Error"]["Code"] == "modelStreamErrorException"
    span = bedrock_otel.span()
    assert span.status.status_code is StatusCode.ERROR
    assert dict(span.attributes or {})["error.type"] == "botocore.ModelStreamErrorException"
    assert classify(raised.value).reason == "server_error"
    with pytest.raises(StopIteration):  # the caller's stream is as spent as botocore's
        next(iter(events))
    assert len(bedrock_otel.spans()) == 1


def test_converse_stream_cut_connection_ends_the_span(bedrock: Any, bedrock_otel: Recorded, fake: FakeProvider) -> None:
    from urllib3.exceptions import ProtocolError

    fake.push(Behavior(drop_after_chunks=4))
    events = stream(bedrock)
    seen = []
    with pytest.raises(ProtocolError) as raised:  # botocore lets urllib3's error through
        for event in events:
            seen.append(event)
    assert len(seen) == 4
    span = bedrock_otel.span()
    assert span.status.status_code is StatusCode.ERROR
    assert dict(span.attributes or {})["error.type"] == "urllib3.ProtocolError"
    assert classify(raised.value).reason == "connection"


def test_converse_stream_result_keeps_its_shape(bedrock: Any, bedrock_otel: Recorded) -> None:
    from botocore.eventstream import EventStream

    response = bedrock.converse_stream(modelId=NOVA, messages=CONVERSE_MESSAGES)
    assert type(response) is dict
    assert sorted(response) == ["ResponseMetadata", "stream"]
    assert isinstance(response["stream"], EventStream)  # the proxy passes for botocore's
    list(response["stream"])
    assert len(bedrock_otel.spans()) == 1


def chunks(events: list[Any]) -> list[Any]:
    return [json.loads(event["chunk"]["bytes"]) for event in events]


@pytest.mark.parametrize(("model", "body", "operation", "reason"), FAMILIES)
def test_invoke_stream_reads_each_family(
    bedrock: Any, bedrock_otel: Recorded, model: str, body: Any, operation: str, reason: str
) -> None:
    response = bedrock.invoke_model_with_response_stream(modelId=model, body=json.dumps(body))
    assert bedrock_otel.spans() == []
    events = list(response["body"])
    metrics = chunks(events)[-1]["amazon-bedrock-invocationMetrics"]
    assert (metrics["inputTokenCount"], metrics["outputTokenCount"]) == (6, 12)
    span = bedrock_otel.span()
    attrs = dict(span.attributes or {})
    assert span.name == f"{operation} {model}"
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.request.max_tokens"] == 50
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (6, 12)
    assert attrs["gen_ai.response.finish_reasons"] == (reason,)
    assert bedrock_otel.point("gen_ai.client.operation.time_per_output_chunk").count == len(events) - 1  # type: ignore[union-attr]


def test_invoke_stream_cut_short_reports_what_it_saw(bedrock: Any, bedrock_otel: Recorded) -> None:
    body = {"prompt": "say hello to the test suite", "max_gen_len": 50}
    events = bedrock.invoke_model_with_response_stream(modelId="meta.llama3-8b-instruct-v1:0", body=json.dumps(body))
    iterator = iter(events["body"])
    first = json.loads(next(iterator)["chunk"]["bytes"])
    assert first["prompt_token_count"] == 6
    events["body"].close()
    attrs = bedrock_otel.attributes()
    assert "gen_ai.usage.input_tokens" not in attrs  # the metrics ride on the last chunk only
    assert "gen_ai.response.finish_reasons" not in attrs


def test_invoke_stream_error_event(bedrock: Any, bedrock_otel: Recorded, fake: FakeProvider) -> None:
    fake.push(Behavior(stream_error_after_chunks=1))
    response = bedrock.invoke_model_with_response_stream(
        modelId="cohere.command-r-v1:0", body=json.dumps({"message": "hi"})
    )
    with pytest.raises(EventStreamError):
        list(response["body"])
    assert dict(bedrock_otel.span().attributes or {})["error.type"] == "botocore.ModelStreamErrorException"
