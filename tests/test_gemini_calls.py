"""Google GenAI calls: exact span attributes and metric points, sync and async, on the real SDK over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from conftest import GEMINI_MODEL, GEMINI_TOOLS, GeminiApi, Recorded, drain, maybe_await
from llm_otel.fake import Behavior, FakeProvider

pytest.importorskip("google.genai")  # not in the virtualenv of the other SDKs' floors (see the Makefile)
pytestmark = pytest.mark.anyio

# gemini-2.5-flash in the shipped table: USD per token of input, cached input, output (thoughts included).
INPUT, CACHED, OUTPUT = 0.3e-6, 0.03e-6, 2.5e-6


async def test_generate_records_span_and_metrics(gemini: GeminiApi, fake: FakeProvider, gemini_otel: Recorded) -> None:
    reply = await gemini.generate()
    assert type(reply).__name__ == "GenerateContentResponse"
    span = gemini_otel.span()
    assert span.name == f"chat {GEMINI_MODEL}"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    # Releases before the response id was read (1.x) drop it (the fake sends one).
    identified = {"gen_ai.response.id": reply.response_id} if getattr(reply, "response_id", None) else {}
    assert dict(span.attributes or {}) == {
        **identified,
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "gcp.gemini",
        "gen_ai.request.model": GEMINI_MODEL,
        "server.address": "127.0.0.1",
        "server.port": fake.port,
        "gen_ai.response.model": GEMINI_MODEL,
        "gen_ai.usage.input_tokens": 6,
        "gen_ai.usage.output_tokens": 12,
        "gen_ai.response.finish_reasons": ("stop",),
        "llm_otel.usage.cost": pytest.approx(6 * INPUT + 12 * OUTPUT),
    }
    duration = gemini_otel.point("gen_ai.client.operation.duration")
    assert dict(duration.attributes or {}) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "gcp.gemini",
        "gen_ai.request.model": GEMINI_MODEL,
        "gen_ai.response.model": GEMINI_MODEL,
        "server.address": "127.0.0.1",
        "server.port": fake.port,
    }
    assert duration.count == 1
    assert gemini_otel.point("gen_ai.client.token.usage", gen_ai__token__type="input").sum == 6
    assert gemini_otel.point("gen_ai.client.token.usage", gen_ai__token__type="output").sum == 12
    assert fake.requests[-1].path.endswith(f"/models/{GEMINI_MODEL}:generateContent")  # v1beta, or v1 since 2.x


CONFIG = {
    "temperature": 0.2,
    "top_p": 0.9,
    "top_k": 40,
    "max_output_tokens": 100,
    "stop_sequences": ["never"],
    "candidate_count": 2,
    "seed": 7,
    "presence_penalty": 0.25,
    "frequency_penalty": 0.5,
    "response_mime_type": "application/json",
}
REQUESTED = {
    "gen_ai.request.model": GEMINI_MODEL,
    "gen_ai.request.temperature": 0.2,
    "gen_ai.request.top_p": 0.9,
    "gen_ai.request.top_k": 40,
    "gen_ai.request.max_tokens": 100,
    "gen_ai.request.stop_sequences": ("never",),
    "gen_ai.request.choice.count": 2,
    "gen_ai.request.seed": 7,
    "gen_ai.request.presence_penalty": 0.25,
    "gen_ai.request.frequency_penalty": 0.5,
    "gen_ai.output.type": "json",
}


@pytest.mark.parametrize("typed", [False, True])
async def test_generation_config_is_recorded(gemini: GeminiApi, gemini_otel: Recorded, typed: bool) -> None:
    from google.genai import types

    await gemini.generate(config=types.GenerateContentConfig(**CONFIG) if typed else CONFIG)
    attrs = gemini_otel.attributes()
    assert {key: value for key, value in attrs.items() if key.startswith(("gen_ai.request.", "gen_ai.output"))} == (
        REQUESTED
    )
    assert attrs["gen_ai.response.finish_reasons"] == ("stop", "stop")
    assert attrs["gen_ai.usage.output_tokens"] == 24


async def test_the_models_prefix_is_not_part_of_the_model(gemini: GeminiApi, gemini_otel: Recorded) -> None:
    await gemini.generate(model=f"models/{GEMINI_MODEL}")
    span = gemini_otel.span()
    assert (span.name, (span.attributes or {})["gen_ai.request.model"]) == (f"chat {GEMINI_MODEL}", GEMINI_MODEL)


async def test_max_tokens_cut_is_finish_reason_length(gemini: GeminiApi, gemini_otel: Recorded) -> None:
    reply = await gemini.generate(config={"max_output_tokens": 3})
    assert reply.candidates[0].finish_reason.value == "MAX_TOKENS"
    attrs = gemini_otel.attributes()
    assert (attrs["gen_ai.usage.output_tokens"], attrs["gen_ai.response.finish_reasons"]) == (3, ("length",))


async def test_function_call_is_finish_reason_tool_call(gemini: GeminiApi, gemini_otel: Recorded) -> None:
    reply = await gemini.generate(Behavior(tool_call=True), config={"tools": GEMINI_TOOLS})
    assert reply.candidates[0].finish_reason.value == "STOP"  # Gemini ends a function call with STOP
    assert reply.function_calls[0].name == "get_weather"
    assert gemini_otel.attributes()["gen_ai.response.finish_reasons"] == ("tool_call",)


async def test_cached_and_thought_tokens_are_recorded(gemini: GeminiApi, gemini_otel: Recorded) -> None:
    reply = await gemini.generate(Behavior(cached_tokens=4, reasoning_tokens=5))
    if not hasattr(reply.usage_metadata, "thoughts_token_count"):
        pytest.skip("this release drops the usage fields it does not model (thoughts)")
    assert (reply.usage_metadata.candidates_token_count, reply.usage_metadata.thoughts_token_count) == (12, 5)
    attrs = gemini_otel.attributes()
    assert attrs["gen_ai.usage.input_tokens"] == 6  # the cached content included
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 4
    assert attrs["gen_ai.usage.output_tokens"] == 17  # the candidates and the thoughts
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == 5
    assert attrs["llm_otel.usage.cost"] == pytest.approx(2 * INPUT + 4 * CACHED + 17 * OUTPUT)


async def test_cached_tokens_are_recorded_without_thoughts(gemini: GeminiApi, gemini_otel: Recorded) -> None:
    await gemini.generate(Behavior(cached_tokens=4))
    attrs = gemini_otel.attributes()
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.cache_read.input_tokens"]) == (6, 4)
    assert (attrs["gen_ai.usage.output_tokens"], "gen_ai.usage.reasoning.output_tokens" in attrs) == (12, False)


async def test_embeddings_are_recorded(gemini: GeminiApi, fake: FakeProvider, gemini_otel: Recorded) -> None:
    reply = await gemini.call(
        "models.embed_content",
        model="gemini-embedding-001",
        contents=["one two", "three"],
        config={"output_dimensionality": 4},
    )
    assert [len(item.values) for item in reply.embeddings] == [4, 4]
    assert fake.requests[-1].path.endswith("/models/gemini-embedding-001:batchEmbedContents")
    span = gemini_otel.span()
    assert span.name == "embeddings gemini-embedding-001"
    assert dict(span.attributes or {}) == {
        "gen_ai.operation.name": "embeddings",
        "gen_ai.provider.name": "gcp.gemini",
        "gen_ai.request.model": "gemini-embedding-001",
        "server.address": "127.0.0.1",
        "server.port": fake.port,
        "gen_ai.embeddings.dimension.count": 4,
    }  # the Gemini API reports no usage for embeddings


async def test_vertex_ai_express_mode_is_its_provider(
    fake: FakeProvider, gemini_otel: Recorded, make_gemini: Callable[..., GeminiApi]
) -> None:
    api = make_gemini("sync", fake.url, vertexai=True)
    await api.generate()
    assert fake.requests[-1].path.startswith("/v1beta1/publishers/google/models/")
    attrs = gemini_otel.attributes()
    assert (attrs["gen_ai.provider.name"], attrs["gen_ai.usage.input_tokens"]) == ("gcp.vertex_ai", 6)
    assert gemini_otel.point("gen_ai.client.operation.duration", gen_ai__provider__name="gcp.vertex_ai").count == 1


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_vertex_ai_project_is_its_provider(
    fake: FakeProvider, gemini_otel: Recorded, make_gemini: Callable[..., GeminiApi], mode: str
) -> None:
    from google.oauth2.credentials import Credentials

    # An access token that needs no refresh: Vertex AI's Google auth, offline.
    credentials = Credentials(token="test-token")
    api = make_gemini(mode, fake.url, api_key=None, vertexai=True, project="p", location="l", credentials=credentials)
    await api.generate(model=f"publishers/google/models/{GEMINI_MODEL}")
    assert fake.requests[-1].path.endswith(f"/locations/l/publishers/google/models/{GEMINI_MODEL}:generateContent")
    attrs = gemini_otel.attributes()
    assert (attrs["gen_ai.provider.name"], attrs["gen_ai.request.model"]) == ("gcp.vertex_ai", GEMINI_MODEL)


async def test_a_chat_message_is_traced_once(gemini: GeminiApi, gemini_otel: Recorded) -> None:
    chat = gemini.client.chats.create(model=GEMINI_MODEL, config={"temperature": 0.3})
    await maybe_await(chat.send_message("hello there"))
    reply = await maybe_await(chat.send_message("and again"))
    assert reply.text
    spans = gemini_otel.spans()
    assert [span.name for span in spans] == [f"chat {GEMINI_MODEL}"] * 2
    # The second request carries the history: 2 words, the 12 of the reply, then 2 more.
    assert [(span.attributes or {})["gen_ai.usage.input_tokens"] for span in spans] == [2, 16]
    assert all((span.attributes or {})["gen_ai.request.temperature"] == 0.3 for span in spans)


async def test_a_chat_stream_is_traced_once(gemini: GeminiApi, gemini_otel: Recorded) -> None:
    chat = gemini.client.chats.create(model=GEMINI_MODEL)
    stream = await maybe_await(chat.send_message_stream("hello there"))
    assert len(await drain(stream)) == 12
    attrs = gemini_otel.attributes()
    assert (attrs["gen_ai.request.stream"], attrs["gen_ai.usage.output_tokens"]) == (True, 12)


def get_weather(city: str) -> str:
    """Weather of a city."""
    return f"sunny in {city}"


# The types themselves, not this module's postponed strings: early releases read them as they are.
get_weather.__annotations__ = {"city": str, "return": str}


async def test_each_request_of_automatic_function_calling_has_its_span(
    gemini: GeminiApi, fake: FakeProvider, gemini_otel: Recorded
) -> None:
    fake.push(Behavior(tool_call=True))  # the first request calls the function, the second answers
    reply = await gemini.generate(config={"tools": [get_weather]})
    assert reply.text.startswith("This is")
    assert len(fake.requests) == 2
    spans = gemini_otel.spans()
    assert [(span.attributes or {})["gen_ai.response.finish_reasons"] for span in spans] == [("tool_call",), ("stop",)]
    assert gemini_otel.point("gen_ai.client.operation.duration").count == 2


@pytest.mark.parametrize(
    ("model", "priced"),
    [
        ("gemini-2.5-pro", "gemini-2.5-pro"),
        ("gemini-2.0-flash", "gemini-2.0-flash"),
        ("gemini-2.5-flash-lite", "gemini-2.5-flash-lite"),
    ],
)
def test_sdk_model_names_are_priced_for_both_providers(model: str, priced: str) -> None:
    from llm_otel.telemetry._pricing import prices

    found: Any = prices.per_token("gcp.gemini", model)
    assert found == prices.per_token("gcp.vertex_ai", priced) is not None


@pytest.mark.parametrize(
    ("reason", "called", "expected"),
    [
        ("STOP", False, "stop"),
        ("STOP", True, "tool_call"),
        ("MAX_TOKENS", False, "length"),
        ("SAFETY", False, "content_filter"),
        ("RECITATION", False, "content_filter"),
        ("MALFORMED_FUNCTION_CALL", True, "error"),
        ("OTHER", False, "other"),
    ],
)
def test_finish_reasons_map_to_the_conventions(reason: str, called: bool, expected: str) -> None:
    from google.genai import types

    from llm_otel.providers.google_genai._read import finish_reason

    assert finish_reason(types.FinishReason(reason), called) == finish_reason(reason, called) == expected


def test_a_blocked_prompt_is_content_filtered() -> None:
    from google.genai import types

    from llm_otel.providers.google_genai._read import read_response

    feedback = types.GenerateContentResponsePromptFeedback(block_reason=types.BlockedReason.SAFETY)
    usage = types.GenerateContentResponseUsageMetadata(prompt_token_count=9, total_token_count=9)
    outcome = read_response(types.GenerateContentResponse(prompt_feedback=feedback, usage_metadata=usage), True)
    assert (outcome.finish_reasons, outcome.input_tokens, outcome.output_tokens) == (["content_filter"], 9, None)


def test_uninstrument_restores_every_original() -> None:
    import wrapt
    from google.genai import models

    from llm_otel.providers.google_genai import METHODS, GoogleGenAIInstrumentor

    names = [method for method, _ in METHODS]
    originals = {(cls, name): vars(cls)[name] for cls in (models.Models, models.AsyncModels) for name in names}
    GoogleGenAIInstrumentor().instrument()
    assert all(isinstance(vars(cls)[name], wrapt.FunctionWrapper) for cls, name in originals)
    GoogleGenAIInstrumentor().uninstrument()
    assert all(vars(cls)[name] is original for (cls, name), original in originals.items())
