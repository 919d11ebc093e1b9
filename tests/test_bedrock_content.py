"""Converse's message content (capture on only): messages, system instructions, tool definitions,
the reply with its text or tool call, streamed or not; InvokeModel records none."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conftest import NOVA, ContentCapture, Recorded
from llm_otel.fake import Behavior, FakeProvider
from test_bedrock_calls import TOOL_CONFIG

MESSAGES = [
    {"role": "user", "content": [{"text": "weather in Paris?"}]},
    {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {"city": "P"}}}]},
    {"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "content": [{"json": {"temp": 20}}]}}]},
    {"role": "user", "content": [{"text": "and then?"}, {"image": {"format": "png", "source": {"bytes": b"\x89PNG"}}}]},
]
INPUT = [
    {"role": "user", "parts": [{"type": "text", "content": "weather in Paris?"}]},
    {
        "role": "assistant",
        "parts": [{"type": "tool_call", "id": "t1", "name": "get_weather", "arguments": {"city": "P"}}],
    },
    {"role": "user", "parts": [{"type": "tool_call_response", "id": "t1", "response": [{"temp": 20}]}]},
    {"role": "user", "parts": [{"type": "text", "content": "and then?"}, {"type": "image"}]},  # never its bytes
]
THREE = {"role": "assistant", "parts": [{"type": "text", "content": "This is a."}], "finish_reason": "length"}


def converse(client: Any, stream: bool, **kwargs: Any) -> None:
    if stream:
        list(client.converse_stream(**kwargs)["stream"])
    else:
        client.converse(**kwargs)


@pytest.mark.parametrize("stream", [False, True])
def test_converse_content_is_captured(
    bedrock: Any, bedrock_otel: Recorded, capture: ContentCapture, fake: FakeProvider, stream: bool
) -> None:
    capture("SPAN_ONLY")
    system = [{"text": "be brief"}]
    converse(bedrock, stream, modelId=NOVA, messages=MESSAGES, system=system, inferenceConfig={"maxTokens": 3})
    found = bedrock_otel.content()
    assert found["gen_ai.input.messages"] == INPUT
    assert found["gen_ai.system_instructions"] == [{"type": "text", "content": "be brief"}]
    assert found["gen_ai.output.messages"] == [THREE]


@pytest.mark.parametrize("stream", [False, True])
def test_converse_tool_call_and_definitions_are_captured(
    bedrock: Any, bedrock_otel: Recorded, capture: ContentCapture, fake: FakeProvider, stream: bool
) -> None:
    capture("SPAN_ONLY")
    fake.push(Behavior(tool_call=True))
    converse(bedrock, stream, modelId=NOVA, messages=MESSAGES[:1], toolConfig=TOOL_CONFIG)
    found = bedrock_otel.content()
    spec = TOOL_CONFIG["tools"][0]["toolSpec"]
    assert found["gen_ai.tool.definitions"] == [
        {
            "type": "function",
            "name": "get_weather",
            "description": spec["description"],
            "parameters": spec["inputSchema"]["json"],
        }
    ]
    (message,) = found["gen_ai.output.messages"]
    (part,) = message["parts"]
    assert (message["finish_reason"], part["type"], part["name"]) == ("tool_call", "tool_call", "get_weather")
    assert part["id"].startswith("tooluse_")
    assert isinstance(part["arguments"], dict)


def test_content_is_off_by_default(bedrock: Any, bedrock_otel: Recorded, capture: ContentCapture) -> None:
    bedrock.converse(modelId=NOVA, messages=MESSAGES)
    assert bedrock_otel.content() == {}


def test_invoke_model_records_no_content(bedrock: Any, bedrock_otel: Recorded, capture: ContentCapture) -> None:
    capture("SPAN_ONLY")
    body = json.dumps({"prompt": "say hello", "max_gen_len": 5})
    bedrock.invoke_model(modelId="meta.llama3-8b-instruct-v1:0", body=body)["body"].read()
    assert bedrock_otel.content() == {}
