"""Secrets never leave: canary keys, org/project ids and auth headers, scanned in every exported byte.

Every wrapped path of both SDKs runs, sync and async, with content capture off and on. Spans,
metrics and log events are serialised as the OTLP exporters would send them; the /v1/stats and
/health documents and our own log lines are scanned too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

import llm_otel
from conftest import CLAUDE, MODEL, ContentCapture, Recorded, chat_helpers, drain, make_recorded, maybe_await
from llm_otel.fake import FakeProvider
from llm_otel.providers.anthropic import AnthropicInstrumentor
from llm_otel.providers.openai import OpenAIInstrumentor
from llm_otel.setup._stats import StatsSource
from llm_otel.telemetry._window import calls

pytestmark = pytest.mark.anyio

MARK = "c4n4ry7f3a"  # in every canary: one scan finds any of them, whole or cut
API_KEY = f"sk-{MARK}-0d9e8f7a6b5c4d3e2f1a"
ORGANIZATION = f"org-{MARK}0d9e8f"
PROJECT = f"proj_{MARK}1a2b3c"
AUTH_HEADER = f"Bearer hdr-{MARK}-99aa88bb"
CANARIES = (MARK, API_KEY, ORGANIZATION, PROJECT, AUTH_HEADER)
# The key also pasted into a message: recorded only as the redactor's marker, when at all.
LEAKY = [{"role": "user", "content": f"my key is {API_KEY} please keep it"}]
WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


@pytest.fixture
def instrumented() -> Iterator[Recorded]:
    recorded = make_recorded()
    instrumentors = (OpenAIInstrumentor(), AnthropicInstrumentor())
    for instrumentor in instrumentors:
        instrumentor.instrument(tracer_provider=recorded.tracer_provider, meter_provider=recorded.meter_provider)
    yield recorded
    for instrumentor in instrumentors:
        instrumentor.uninstrument()


def clients(mode: str, fake: FakeProvider) -> tuple[Any, Any]:
    headers = {"X-Custom-Auth": AUTH_HEADER, "X-Api-Key-Copy": API_KEY}
    oa = openai.AsyncOpenAI if mode == "async" else openai.OpenAI
    an = anthropic.AsyncAnthropic if mode == "async" else anthropic.Anthropic
    return (
        oa(
            base_url=fake.openai_base_url,
            api_key=API_KEY,
            organization=ORGANIZATION,
            project=PROJECT,
            default_headers=headers,
            max_retries=0,
        ),
        an(base_url=fake.url, api_key=API_KEY, default_headers=headers, max_retries=0),
    )


async def entered(manager: Any, is_async: bool) -> None:
    """Enter a stream manager, read it to its end, and leave."""
    if is_async:
        async with manager as stream:
            await (stream.get_final_message() if hasattr(stream, "get_final_message") else drain(stream))
    else:
        with manager as stream:
            stream.get_final_message() if hasattr(stream, "get_final_message") else list(stream)


async def run_every_path(oa: Any, an: Any, is_async: bool) -> int:
    """Each wrapped method once; returns how many calls were made."""
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}}]
    await maybe_await(oa.chat.completions.create(model=MODEL, messages=LEAKY, tools=tools))
    await drain(await maybe_await(oa.chat.completions.create(model=MODEL, messages=LEAKY, stream=True)))
    helpers = chat_helpers(oa)
    await maybe_await(helpers.parse(model=MODEL, messages=LEAKY))
    await entered(helpers.stream(model=MODEL, messages=LEAKY), is_async)
    await maybe_await(oa.completions.create(model=MODEL, prompt=LEAKY[0]["content"]))
    await maybe_await(oa.responses.create(model=MODEL, input=LEAKY, instructions=f"never say {API_KEY}"))
    await drain(await maybe_await(oa.responses.create(model=MODEL, input=LEAKY, stream=True)))
    await maybe_await(oa.embeddings.create(model="text-embedding-3-small", input=LEAKY[0]["content"]))
    await maybe_await(an.messages.create(model=CLAUDE, max_tokens=50, system=f"key {API_KEY}", messages=LEAKY))
    await drain(await maybe_await(an.messages.create(model=CLAUDE, max_tokens=50, messages=LEAKY, stream=True)))
    await entered(an.messages.stream(model=CLAUDE, max_tokens=50, messages=LEAKY), is_async)
    return 11


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("capture_mode", ["NO_CONTENT", "SPAN_AND_EVENT"])
async def test_no_canary_in_any_exported_byte(
    mode: str,
    capture_mode: str,
    instrumented: Recorded,
    capture: ContentCapture,
    fake: FakeProvider,
    caplog: pytest.LogCaptureFixture,
) -> None:
    capture(capture_mode, redactors=[llm_otel.redact_api_keys])
    oa, an = clients(mode, fake)
    with caplog.at_level(logging.DEBUG, "llm_otel"):
        made = await run_every_path(oa, an, mode == "async")
    await maybe_await(oa.close())
    await maybe_await(an.close())

    spans = instrumented.spans()
    events = capture.events()
    assert len(spans) == made
    assert len(events) == (made - 1 if capture_mode == "SPAN_AND_EVENT" else 0)  # embeddings have no content
    stats = StatsSource(instrumented.reader.get_metrics_data, calls, 0.5, "secrets")
    exported = {
        "spans (OTLP)": encode_spans(spans).SerializeToString(),
        "spans (JSON)": json.dumps([json.loads(span.to_json()) for span in spans]).encode(),
        "metrics (OTLP)": encode_metrics(instrumented.reader.get_metrics_data()).SerializeToString(),
        "logs (OTLP)": encode_logs(capture.exporter.get_finished_logs()).SerializeToString(),
        "/v1/stats": json.dumps(stats.stats()).encode(),
        "/health": json.dumps(stats.health()).encode(),
        "our log lines": caplog.text.encode(),
    }
    hits = {where: canary for where, data in exported.items() for canary in CANARIES if canary.encode() in data}
    assert hits == {}
    # Each signal was scanned with something in it (no log events are made with capture off).
    assert [where for where, data in exported.items() if not data] == ([] if events else ["logs (OTLP)"])

    if capture_mode == "SPAN_AND_EVENT":
        # The pasted key was captured, as the redactor's marker.
        first = json.loads(str((spans[0].attributes or {})["gen_ai.input.messages"]))
        assert first == [{"role": "user", "parts": [{"type": "text", "content": "my key is [API_KEY] please keep it"}]}]
        assert exported["logs (OTLP)"].count(b"[API_KEY]") >= made - 1


async def test_without_the_redactor_the_pasted_key_is_user_content(
    instrumented: Recorded, capture: ContentCapture, fake: FakeProvider
) -> None:
    """The control: the scan does find the canary when it is exported, so 0 hits above means something."""
    capture("SPAN_ONLY")
    oa, an = clients("sync", fake)
    oa.chat.completions.create(model=MODEL, messages=LEAKY)
    oa.close()
    an.close()
    assert API_KEY.encode() in encode_spans(instrumented.spans()).SerializeToString()
