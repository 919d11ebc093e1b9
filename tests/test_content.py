"""Opt-in message content: off by default, span attributes and/or the details event, every provider path."""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

import pytest

import llm_otel
from conftest import (
    CONTENT_KEYS,
    HI,
    HI_IN,
    MODEL,
    REPLY,
    REPLY_OUT,
    Api,
    Claude,
    ContentCapture,
    Llama,
    Recorded,
    chat_helpers,
    claude_kwargs,
    drain,
    maybe_await,
)
from llm_otel import Content, ContentMode, capture_content
from llm_otel.fake import Behavior, FakeProvider
from llm_otel.telemetry._content import CAPTURE_ENV, TRUNCATED, _mode_from_env, _serialise, content_mode

pytestmark = pytest.mark.anyio

THREE_WORDS = Behavior(output_tokens=3)
WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
CHAT_TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "w", "parameters": WEATHER}}]
WEATHER_DEF = [{"type": "function", "name": "get_weather", "description": "w", "parameters": WEATHER}]


def structured(value: Any) -> Any:
    """A log attribute as plain JSON values (the SDK stores sequences as tuples)."""
    return json.loads(json.dumps(value))


# --- the switch -----------------------------------------------------------------------------------


async def test_content_is_off_by_default(api: Api, otel: Recorded, capture: ContentCapture) -> None:
    await api.chat(THREE_WORDS, messages=HI)
    assert content_mode() is ContentMode.NO_CONTENT
    assert otel.content() == {}
    assert capture.events() == []


@pytest.mark.parametrize(
    ("value", "mode"),
    [
        ("", ContentMode.NO_CONTENT),
        ("SPAN_ONLY", ContentMode.SPAN_ONLY),
        ("event_only", ContentMode.EVENT_ONLY),
        (" Span_And_Event ", ContentMode.SPAN_AND_EVENT),
        ("true", ContentMode.SPAN_AND_EVENT),
        ("false", ContentMode.NO_CONTENT),
        ("everything", ContentMode.NO_CONTENT),
    ],
)
def test_mode_is_read_from_the_genai_environment_variable(
    value: str, mode: ContentMode, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CAPTURE_ENV, value)
    assert _mode_from_env() is mode


async def test_span_only_records_chat_messages_on_the_span(api: Api, otel: Recorded, capture: ContentCapture) -> None:
    capture("SPAN_ONLY")
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
    reply = await api.chat(THREE_WORDS, messages=messages)
    assert reply.choices[0].message.content == REPLY
    assert otel.content() == {
        "gen_ai.input.messages": [
            {"role": "system", "parts": [{"type": "text", "content": "be brief"}]},
            *HI_IN,
        ],
        "gen_ai.output.messages": REPLY_OUT,
    }
    assert capture.events() == []


async def test_event_only_emits_the_details_event_in_the_span_context(
    api: Api, otel: Recorded, capture: ContentCapture, fake: Any
) -> None:
    capture("EVENT_ONLY")
    await api.chat(THREE_WORDS, messages=HI, tools=CHAT_TOOLS)
    span = otel.span()
    assert otel.content() == {}
    [event] = capture.events()
    assert event.event_name == "gen_ai.client.inference.operation.details"
    assert (event.trace_id, event.span_id) == (span.context.trace_id, span.context.span_id)
    assert structured(dict(event.attributes or {})) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": MODEL,
        "gen_ai.response.model": MODEL,
        "server.address": "127.0.0.1",
        "server.port": fake.port,
        "gen_ai.input.messages": HI_IN,
        "gen_ai.output.messages": REPLY_OUT,
        "gen_ai.tool.definitions": WEATHER_DEF,
    }


async def test_per_call_override_forces_and_suppresses(api: Api, otel: Recorded, capture: ContentCapture) -> None:
    with capture_content():
        await api.chat(THREE_WORDS, messages=HI)
    capture("SPAN_AND_EVENT")
    with capture_content(False):
        await api.chat(THREE_WORDS, messages=HI)
        with capture_content("EVENT_ONLY"):  # the innermost block wins
            await api.chat(THREE_WORDS, messages=HI)
    forced, suppressed, inner = otel.spans()
    assert json.loads(str((forced.attributes or {})["gen_ai.output.messages"])) == REPLY_OUT
    assert not set(CONTENT_KEYS) & set(suppressed.attributes or {})
    assert not set(CONTENT_KEYS) & set(inner.attributes or {})
    assert [event.span_id for event in capture.events()] == [inner.context.span_id]
    assert content_mode() is ContentMode.SPAN_AND_EVENT


async def test_failed_call_records_its_input(api: Api, otel: Recorded, capture: ContentCapture) -> None:
    capture("SPAN_ONLY")
    with pytest.raises(Exception, match="500"):
        await api.chat(Behavior(status=500), messages=HI)
    assert otel.content() == {"gen_ai.input.messages": HI_IN}


# --- OpenAI paths -----------------------------------------------------------------------------------


async def test_chat_stream_assembles_text(api: Api, otel: Recorded, capture: ContentCapture) -> None:
    capture("SPAN_ONLY")
    chunks = await drain(await api.chat(THREE_WORDS, messages=HI, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == REPLY
    assert otel.content()["gen_ai.output.messages"] == REPLY_OUT


async def test_chat_stream_assembles_tool_calls_and_history_round_trips(
    api: Api, otel: Recorded, capture: ContentCapture
) -> None:
    capture("SPAN_ONLY")
    chunks = await drain(await api.chat(Behavior(tool_call=True), messages=HI, tools=CHAT_TOOLS, stream=True))
    call_id = chunks[0].choices[0].delta.tool_calls[0].id
    call = {"type": "tool_call", "id": call_id, "name": "get_weather", "arguments": {"city": "fake"}}
    assert otel.content() == {
        "gen_ai.input.messages": HI_IN,
        "gen_ai.output.messages": [{"role": "assistant", "parts": [call], "finish_reason": "tool_call"}],
        "gen_ai.tool.definitions": WEATHER_DEF,
    }
    otel.exporter.clear()
    function = {"name": "get_weather", "arguments": '{"city": "fake"}'}
    history = [
        *HI,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": call_id, "type": "function", "function": function}],
        },
        {"role": "tool", "tool_call_id": call_id, "content": "sunny"},
    ]
    await api.chat(THREE_WORDS, messages=history)
    assert otel.content()["gen_ai.input.messages"] == [
        *HI_IN,
        {"role": "assistant", "parts": [call]},
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": call_id, "response": "sunny"}]},
    ]


async def test_chat_parse(api: Api, otel: Recorded, capture: ContentCapture) -> None:
    capture("SPAN_ONLY")
    await maybe_await(chat_helpers(api.client).parse(model=MODEL, messages=HI, extra_headers=THREE_WORDS.header()))
    assert otel.content() == {"gen_ai.input.messages": HI_IN, "gen_ai.output.messages": REPLY_OUT}


async def test_legacy_completion_prompt_and_stream(api: Api, otel: Recorded, capture: ContentCapture) -> None:
    capture("SPAN_ONLY")
    await api.call("completions.create", model=MODEL, prompt="hi", extra_headers=THREE_WORDS.header())
    await drain(
        await api.call(
            "completions.create", model=MODEL, prompt=["hi"], stream=True, extra_headers=THREE_WORDS.header()
        )
    )
    for span in otel.spans():
        attrs = span.attributes or {}
        assert json.loads(str(attrs["gen_ai.input.messages"])) == HI_IN
        assert json.loads(str(attrs["gen_ai.output.messages"])) == REPLY_OUT


async def test_responses_input_instructions_and_output(api: Api, otel: Recorded, capture: ContentCapture) -> None:
    capture("SPAN_ONLY")
    await api.call(
        "responses.create", model=MODEL, input="hi", instructions="be nice", extra_headers=THREE_WORDS.header()
    )
    await drain(
        await api.call("responses.create", model=MODEL, input=HI, stream=True, extra_headers=THREE_WORDS.header())
    )
    plain, streamed = otel.spans()
    for span in (plain, streamed):
        attrs = span.attributes or {}
        assert json.loads(str(attrs["gen_ai.input.messages"])) == HI_IN
        assert json.loads(str(attrs["gen_ai.output.messages"])) == REPLY_OUT
    assert json.loads(str((plain.attributes or {})["gen_ai.system_instructions"])) == [
        {"type": "text", "content": "be nice"}
    ]


async def test_embeddings_record_no_content(api: Api, otel: Recorded, capture: ContentCapture) -> None:
    capture("SPAN_AND_EVENT")
    await api.call("embeddings.create", model="text-embedding-3-small", input="secret words")
    assert otel.content() == {}
    assert capture.events() == []


# --- Anthropic paths ------------------------------------------------------------------------------


async def test_anthropic_messages_system_tools_and_blocks(
    claude: Claude, anthropic_otel: Recorded, capture: ContentCapture
) -> None:
    capture("SPAN_ONLY")
    tools = [{"name": "get_weather", "description": "w", "input_schema": WEATHER}]
    history = [
        *HI,
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "get_weather", "input": {"city": "x"}}],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "sunny"}]},
    ]
    await claude.chat(THREE_WORDS, messages=history, system=[{"type": "text", "text": "be brief"}], tools=tools)
    assert anthropic_otel.content() == {
        "gen_ai.input.messages": [
            *HI_IN,
            {
                "role": "assistant",
                "parts": [{"type": "tool_call", "id": "t1", "name": "get_weather", "arguments": {"city": "x"}}],
            },
            {"role": "user", "parts": [{"type": "tool_call_response", "id": "t1", "response": "sunny"}]},
        ],
        "gen_ai.output.messages": REPLY_OUT,
        "gen_ai.system_instructions": [{"type": "text", "content": "be brief"}],
        "gen_ai.tool.definitions": WEATHER_DEF,
    }


async def test_anthropic_raw_stream_assembles_text(
    claude: Claude, anthropic_otel: Recorded, capture: ContentCapture
) -> None:
    capture("SPAN_ONLY")
    await drain(await claude.call("messages.create", **claude_kwargs(THREE_WORDS, messages=HI, stream=True)))
    assert anthropic_otel.content() == {"gen_ai.input.messages": HI_IN, "gen_ai.output.messages": REPLY_OUT}


async def test_anthropic_stream_helper_assembles_tool_use(
    claude: Claude, anthropic_otel: Recorded, capture: ContentCapture
) -> None:
    capture("SPAN_ONLY")
    tools = [{"name": "get_weather", "input_schema": WEATHER}]
    manager = claude.client.messages.stream(**claude_kwargs(Behavior(tool_call=True), messages=HI, tools=tools))
    if claude.mode == "async":
        async with manager as stream:
            message = await stream.get_final_message()
    else:
        with manager as stream:
            message = stream.get_final_message()
    call = {"type": "tool_call", "id": message.content[0].id, "name": "get_weather", "arguments": {"city": "fake"}}
    assert anthropic_otel.content()["gen_ai.output.messages"] == [
        {"role": "assistant", "parts": [call], "finish_reason": "tool_call"}
    ]
    assert message.content[0].input == {"city": "fake"}  # the caller's message is untouched


# --- Ollama paths ---------------------------------------------------------------------------------


async def test_ollama_chat_history_tools_and_tool_call(
    llama: Llama, fake: FakeProvider, ollama_otel: Recorded, capture: ContentCapture
) -> None:
    capture("SPAN_ONLY")
    history = [
        {"role": "system", "content": "be brief"},
        *HI,
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "x"}}}],
        },
        {"role": "tool", "content": "sunny", "tool_name": "get_weather"},
    ]
    fake.push(Behavior(tool_call=True))
    await llama.chat(messages=history, tools=CHAT_TOOLS)
    call = {"type": "tool_call", "id": None, "name": "get_weather", "arguments": {"city": "x"}}
    response = {"type": "tool_call_response", "id": None, "response": "sunny"}
    if "tool_name" in fake.requests[-1].body["messages"][-1]:  # sent by releases after 0.4
        response["name"] = "get_weather"
    assert ollama_otel.content() == {
        "gen_ai.input.messages": [
            {"role": "system", "parts": [{"type": "text", "content": "be brief"}]},
            *HI_IN,
            {"role": "assistant", "parts": [call]},
            {"role": "tool", "parts": [response]},
        ],
        "gen_ai.output.messages": [
            {"role": "assistant", "parts": [{**call, "arguments": {"city": "fake"}}], "finish_reason": "tool_call"}
        ],
        "gen_ai.tool.definitions": WEATHER_DEF,
    }


async def test_ollama_stream_assembles_text(
    llama: Llama, fake: FakeProvider, ollama_otel: Recorded, capture: ContentCapture
) -> None:
    capture("SPAN_ONLY")
    fake.push(THREE_WORDS)
    await drain(await llama.chat(messages=HI, stream=True))
    assert ollama_otel.content() == {"gen_ai.input.messages": HI_IN, "gen_ai.output.messages": REPLY_OUT}


@pytest.mark.parametrize("stream", [False, True])
async def test_ollama_generate_prompt_and_system(
    llama: Llama, fake: FakeProvider, ollama_otel: Recorded, capture: ContentCapture, stream: bool
) -> None:
    capture("SPAN_ONLY")
    fake.push(THREE_WORDS)
    result = await llama.call("generate", "llama3.2", "hi", system="be brief", stream=stream)
    if stream:
        await drain(result)
    assert ollama_otel.content() == {
        "gen_ai.input.messages": HI_IN,
        "gen_ai.output.messages": REPLY_OUT,
        "gen_ai.system_instructions": [{"type": "text", "content": "be brief"}],
    }


async def test_ollama_embed_records_no_content(llama: Llama, ollama_otel: Recorded, capture: ContentCapture) -> None:
    capture("SPAN_ONLY")
    await llama.call("embed", "nomic-embed-text", "hi")
    assert ollama_otel.content() == {}


# --- redaction and truncation --------------------------------------------------------------------------


async def test_redactor_hook_sees_structured_content_before_serialisation(
    api: Api, otel: Recorded, capture: ContentCapture
) -> None:
    seen: list[Content] = []

    def hide_users(given: Content) -> None:
        seen.append(copy.deepcopy(given))
        for message in given.input_messages:
            message["parts"] = [{"type": "text", "content": "[hidden]"}]

    capture("SPAN_ONLY", redactors=[hide_users])
    await api.chat(THREE_WORDS, messages=HI)
    assert seen == [Content(HI_IN, REPLY_OUT)]
    assert otel.content()["gen_ai.input.messages"] == [
        {"role": "user", "parts": [{"type": "text", "content": "[hidden]"}]}
    ]


async def test_builtin_redactors(api: Api, otel: Recorded, capture: ContentCapture) -> None:
    capture("SPAN_ONLY", redactors=[llm_otel.redact_emails, llm_otel.redact_phone_numbers, llm_otel.redact_api_keys])
    text = "mail ann.lee@example.co.uk or +44 20 7946 0958, key sk-proj-Abc123def456ghi789, Bearer abcdef123456789 ok"
    await api.chat(THREE_WORDS, messages=[{"role": "user", "content": text}])
    assert otel.content()["gen_ai.input.messages"] == [
        {"role": "user", "parts": [{"type": "text", "content": "mail [EMAIL] or [PHONE], key [API_KEY], [API_KEY] ok"}]}
    ]


async def test_failing_redactor_drops_content_not_the_call(
    api: Api, otel: Recorded, capture: ContentCapture, caplog: pytest.LogCaptureFixture
) -> None:
    class RedactorBroke(Exception):
        pass

    def broken(_content: Content) -> None:
        raise RedactorBroke

    capture("SPAN_AND_EVENT", redactors=[broken])
    reply = await api.chat(THREE_WORDS, messages=HI)
    assert reply.choices[0].message.content == REPLY
    assert otel.content() == {}
    assert capture.events() == []
    assert otel.span().attributes["gen_ai.usage.output_tokens"] == 3  # type: ignore[index]
    caplog.clear()  # the redactor's failure is logged as ours, on purpose


async def test_truncation_keeps_valid_json_within_the_budget(api: Api, otel: Recorded, capture: ContentCapture) -> None:
    capture("SPAN_ONLY", max_bytes=120)
    await api.chat(THREE_WORDS, messages=[{"role": "user", "content": "é" * 500}])
    raw = str((otel.span().attributes or {})["gen_ai.input.messages"])
    assert len(raw.encode()) <= 120
    [message] = json.loads(raw)
    text = message["parts"][0]["content"]
    assert text.endswith(TRUNCATED) and set(text.removesuffix(TRUNCATED)) == {"é"}
    assert otel.content()["gen_ai.output.messages"] == REPLY_OUT  # small values are untouched


def test_truncation_drops_oldest_items_when_cutting_strings_is_not_enough() -> None:
    items = [{"n": i} for i in range(50)]
    assert _serialise(items, 30) == '[{"n":47},{"n":48},{"n":49}]'
    assert _serialise(items, 5) == "[]"
    assert _serialise([{"n": 1}], 10_000) == '[{"n":1}]'


def test_redactor_failure_is_logged_once_as_ours(caplog: pytest.LogCaptureFixture) -> None:
    from llm_otel.telemetry import _content

    class Distinct(Exception):
        pass

    def broken(_content: Content) -> None:
        raise Distinct

    llm_otel.set_content_capture("SPAN_ONLY", redactors=[broken])
    try:
        with caplog.at_level(logging.WARNING, "llm_otel"):
            assert _content._redact(Content(HI_IN)) is None
    finally:
        llm_otel.set_content_capture("NO_CONTENT")
    assert [r.getMessage() for r in caplog.records] == [
        "llm-otel: internal error in redactor ignored; telemetry for this call may be incomplete"
    ]
    caplog.clear()
