"""Cohere v2 calls: exact span attributes and metric points, sync and async, on the real SDK over HTTP;
the errors of those calls, and where they are traced (the raw client layer, whatever reached it)."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
import wrapt
from opentelemetry.trace import SpanKind, StatusCode

from conftest import COHERE_MODEL, TOOLS, CohereApi, Recorded, cohere_options
from llm_otel.fake import Behavior, FakeProvider
from llm_otel.resilience import classify

pytestmark = pytest.mark.anyio

# command-a-03-2025: $2.50 / $10 per million input / output tokens.
INPUT_PRICE, OUTPUT_PRICE = 2.5e-6, 10e-6


async def test_chat_records_span_and_metrics(co: CohereApi, fake: FakeProvider, cohere_otel: Recorded) -> None:
    reply = await co.chat()
    assert reply.finish_reason == "COMPLETE"
    span = cohere_otel.span()
    assert span.name == f"chat {COHERE_MODEL}"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    assert dict(span.attributes or {}) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "cohere",
        "gen_ai.request.model": COHERE_MODEL,
        "server.address": "127.0.0.1",
        "server.port": fake.port,
        "gen_ai.response.id": reply.id,
        "gen_ai.usage.input_tokens": 6,
        "gen_ai.usage.output_tokens": 12,
        "gen_ai.response.finish_reasons": ("stop",),
        "llm_otel.usage.cost": pytest.approx(6 * INPUT_PRICE + 12 * OUTPUT_PRICE),
    }
    duration = cohere_otel.point("gen_ai.client.operation.duration")
    assert dict(duration.attributes or {}) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "cohere",
        "gen_ai.request.model": COHERE_MODEL,
        "server.address": "127.0.0.1",
        "server.port": fake.port,
    }
    assert duration.count == 1
    assert cohere_otel.point("gen_ai.client.token.usage", gen_ai__token__type="input").sum == 6
    assert cohere_otel.point("gen_ai.client.token.usage", gen_ai__token__type="output").sum == 12


async def test_request_parameters_are_recorded(co: CohereApi, cohere_otel: Recorded) -> None:
    await co.chat(
        temperature=0.2,
        p=0.9,
        k=40,
        max_tokens=100,
        seed=7,
        stop_sequences=["never"],
        presence_penalty=0.25,
        frequency_penalty=0.5,
        response_format={"type": "json_object"},
    )
    attrs = cohere_otel.attributes()
    assert {key: value for key, value in attrs.items() if key.startswith(("gen_ai.request.", "gen_ai.output"))} == {
        "gen_ai.request.model": COHERE_MODEL,
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.top_k": 40,
        "gen_ai.request.max_tokens": 100,
        "gen_ai.request.seed": 7,
        "gen_ai.request.stop_sequences": ("never",),
        "gen_ai.request.presence_penalty": 0.25,
        "gen_ai.request.frequency_penalty": 0.5,
        "gen_ai.output.type": "json",
    }


async def test_max_tokens_cut_is_finish_reason_length(co: CohereApi, cohere_otel: Recorded) -> None:
    reply = await co.chat(max_tokens=3)
    assert reply.finish_reason == "MAX_TOKENS"
    attrs = cohere_otel.attributes()
    assert (attrs["gen_ai.usage.output_tokens"], attrs["gen_ai.response.finish_reasons"]) == (3, ("length",))


async def test_tool_call_is_finish_reason_tool_call(co: CohereApi, cohere_otel: Recorded) -> None:
    reply = await co.chat(Behavior(tool_call=True), tools=TOOLS)
    assert (reply.finish_reason, reply.message.tool_calls[0].function.name) == ("TOOL_CALL", "get_weather")
    assert cohere_otel.attributes()["gen_ai.response.finish_reasons"] == ("tool_call",)


async def test_cached_tokens_are_recorded(co: CohereApi, cohere_otel: Recorded) -> None:
    reply = await co.chat(Behavior(cached_tokens=4))
    if getattr(reply.usage, "cached_tokens", None) is None:
        pytest.skip("this release drops the usage fields it does not model")
    attrs = cohere_otel.attributes()
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.cache_read.input_tokens"]) == (6, 4)


async def test_embed_is_recorded_from_its_billed_units(co: CohereApi, cohere_otel: Recorded) -> None:
    reply = await co.embed(texts=["one two", "three"], embedding_types=["float", "int8"])
    assert [len(vector) for vector in reply.embeddings.float_] == [8, 8]
    span = cohere_otel.span()
    assert span.name == "embeddings embed-v4.0"
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.operation.name"] == "embeddings"
    assert attrs["gen_ai.request.encoding_formats"] == ("float", "int8")
    assert attrs["gen_ai.usage.input_tokens"] == 3  # the meta holds billed_units only
    assert attrs["gen_ai.response.id"] == reply.id
    assert attrs["llm_otel.usage.cost"] == pytest.approx(3 * 0.12e-6)
    assert cohere_otel.point("gen_ai.client.token.usage", gen_ai__token__type="input").sum == 3


async def test_embed_output_dimension_is_recorded(co: CohereApi, cohere_otel: Recorded) -> None:
    if "output_dimension" not in inspect.signature(co.client.embed).parameters:
        pytest.skip("this release has no output_dimension")
    reply = await co.embed(texts=["one"], output_dimension=4)
    assert len(reply.embeddings.float_[0]) == 4
    assert cohere_otel.attributes()["gen_ai.embeddings.dimension.count"] == 4


async def test_rerank_is_not_traced(co: CohereApi, cohere_otel: Recorded) -> None:
    documents = ["the cat sat", "a dog ran", "the cat ran"]
    reply = await co.call("rerank", model="rerank-v3.5", query="cat ran", documents=documents, top_n=2)
    assert [(result.index, result.relevance_score) for result in reply.results] == [(2, 1.0), (0, 0.5)]
    assert cohere_otel.spans() == []
    assert cohere_otel.points("gen_ai.client.operation.duration") == []


async def test_the_v1_clients_v2_is_traced(fake: FakeProvider, cohere_otel: Recorded) -> None:
    import cohere

    client = cohere.Client(api_key="test-key", base_url=fake.url)
    reply = client.v2.chat(**cohere_options(model=COHERE_MODEL, messages=[{"role": "user", "content": "hi"}]))
    assert cohere_otel.attributes()["gen_ai.response.id"] == reply.id


async def test_a_raw_response_call_is_traced_once(co: CohereApi, cohere_otel: Recorded) -> None:
    raw = await co.call(
        "with_raw_response.chat", **cohere_options(model=COHERE_MODEL, messages=[{"role": "user", "content": "hi"}])
    )
    assert type(raw).__name__ in ("HttpResponse", "AsyncHttpResponse")
    attrs = cohere_otel.attributes()
    assert (attrs["gen_ai.response.id"], attrs["gen_ai.usage.input_tokens"]) == (raw.data.id, 1)


async def test_a_client_made_before_instrumenting_is_traced(fake: FakeProvider, cohere_otel_with: Any) -> None:
    api = CohereApi("sync", fake.url)
    recorded = cohere_otel_with()
    await api.chat()
    assert recorded.attributes()["gen_ai.usage.output_tokens"] == 12
    await api.aclose()


def test_uninstrument_restores_every_method(cohere_otel_with: Any) -> None:
    from cohere.v2 import raw_client

    from llm_otel.providers.cohere import CohereInstrumentor

    def wrapped() -> list[str]:
        owners = (raw_client.RawV2Client, raw_client.AsyncRawV2Client)
        return [
            name for owner in owners for name, value in vars(owner).items() if isinstance(value, wrapt.FunctionWrapper)
        ]

    cohere_otel_with()
    assert sorted(wrapped()) == sorted(["chat", "chat_stream", "embed"] * 2)
    CohereInstrumentor().uninstrument()
    assert wrapped() == []


# --- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "name", "reason"),
    [
        (400, "BadRequestError", "bad_request"),
        (401, "UnauthorizedError", "auth"),
        (404, "NotFoundError", "not_found"),
        (422, "UnprocessableEntityError", "bad_request"),
        (429, "TooManyRequestsError", "rate_limited"),
        (498, "InvalidTokenError", "auth"),
        (500, "InternalServerError", "server_error"),
        (503, "ServiceUnavailableError", "server_error"),
    ],
)
async def test_status_errors_are_named_by_class(
    co: CohereApi, cohere_otel: Recorded, status: int, name: str, reason: str
) -> None:
    import cohere

    with pytest.raises(cohere.core.ApiError) as caught:
        await co.chat(Behavior(status=status))
    assert (type(caught.value).__name__, caught.value.status_code) == (name, status)
    span = cohere_otel.span()
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == f"cohere.{name}"
    assert cohere_otel.point("gen_ai.client.operation.duration", error__type=f"cohere.{name}").count == 1
    assert classify(caught.value).reason == reason


async def test_a_status_without_a_class_is_named_by_status(co: CohereApi, cohere_otel: Recorded) -> None:
    import cohere

    with pytest.raises(cohere.core.ApiError) as caught:
        await co.chat(Behavior(status=502))
    assert type(caught.value) is cohere.core.ApiError
    assert cohere_otel.attributes()["error.type"] == "502"
    assert classify(caught.value).reason == "server_error"


async def test_unreachable_server_is_a_connection_error(cohere_otel: Recorded) -> None:
    api = CohereApi("sync", "http://127.0.0.1:9")
    with pytest.raises(Exception) as caught:
        await api.chat()
    assert classify(caught.value).reason == "connection"
    assert cohere_otel.attributes()["error.type"] == "httpx.ConnectError"


async def test_a_malformed_reply_is_the_sdks_api_error(co: CohereApi, cohere_otel: Recorded) -> None:
    import cohere

    with pytest.raises(cohere.core.ApiError) as caught:
        await co.chat(Behavior(malformed=True))
    assert caught.value.status_code == 200
    assert cohere_otel.attributes()["error.type"] == "cohere.ApiError"  # no error status to name it by
