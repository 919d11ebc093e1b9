"""Bedrock with OpenTelemetry's contrib botocore instrumentation also active: its Bedrock extension
starts a GenAI span of its own, so with both, whichever was instrumented first, a call has one
inference span (ours), and the contrib instrumentation still traces every other AWS call."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from opentelemetry.instrumentation.botocore import BotocoreInstrumentor

from conftest import CONVERSE_MESSAGES, NOVA, Recorded, bedrock_client, make_recorded
from llm_otel.fake import FakeProvider
from llm_otel.providers.bedrock import BedrockInstrumentor
from llm_otel.telemetry import _names as n


@pytest.fixture
def contrib() -> Iterator[Callable[[Recorded], None]]:
    instrumentor = BotocoreInstrumentor()

    def instrument(recorded: Recorded) -> None:
        instrumentor.instrument(tracer_provider=recorded.tracer_provider, meter_provider=recorded.meter_provider)

    yield instrument
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()


def scopes(recorded: Recorded) -> list[str]:
    return [span.instrumentation_scope.name for span in recorded.spans()]  # type: ignore[union-attr]


def call_all(client: Any) -> None:
    client.converse(modelId=NOVA, messages=CONVERSE_MESSAGES)
    list(client.converse_stream(modelId=NOVA, messages=CONVERSE_MESSAGES)["stream"])
    body = json.dumps({"prompt": "say hello", "max_gen_len": 5})
    client.invoke_model(modelId="meta.llama3-8b-instruct-v1:0", body=body)["body"].read()
    list(client.invoke_model_with_response_stream(modelId="meta.llama3-8b-instruct-v1:0", body=body)["body"])


def test_contrib_alone_traces_bedrock(bedrock: Any, contrib: Callable[[Recorded], None]) -> None:
    recorded = make_recorded()
    contrib(recorded)
    bedrock.converse(modelId=NOVA, messages=CONVERSE_MESSAGES)
    span = recorded.span()
    assert span.instrumentation_scope.name.startswith("opentelemetry.instrumentation.botocore")  # type: ignore[union-attr]
    assert span.name == f"chat {NOVA}"


@pytest.mark.parametrize("ours_first", [True, False])
def test_one_inference_span_with_both(
    bedrock: Any,
    bedrock_otel_with: Callable[..., Recorded],
    contrib: Callable[[Recorded], None],
    ours_first: bool,
) -> None:
    recorded = make_recorded()
    if ours_first:
        bedrock_otel_with(recorded)
        contrib(recorded)
    else:
        contrib(recorded)
        bedrock_otel_with(recorded)
    call_all(bedrock)
    assert scopes(recorded) == [n.INSTRUMENTATION_SCOPE] * 4
    # Nor does the contrib record its own GenAI metrics for them.
    points = recorded.points("gen_ai.client.operation.duration")
    assert sum(point.count for point in points) == 4  # type: ignore[union-attr]
    assert {dict(point.attributes or {})["gen_ai.provider.name"] for point in points} == {"aws.bedrock"}
    if not ours_first:
        # The contrib's uninstrument removes the outermost wrapper, whoever's: undo in reverse order.
        BedrockInstrumentor().uninstrument()


def test_contrib_still_traces_other_calls(
    bedrock_otel_with: Callable[..., Recorded], contrib: Callable[[Recorded], None], fake: FakeProvider
) -> None:
    recorded = make_recorded()
    bedrock_otel_with(recorded)
    contrib(recorded)
    with pytest.raises(ClientError):
        bedrock_client(fake.url, "bedrock").list_foundation_models()
    span = recorded.span()
    assert span.instrumentation_scope.name.startswith("opentelemetry.instrumentation.botocore")  # type: ignore[union-attr]
    assert span.name == "Bedrock.ListFoundationModels"


def test_contrib_traces_bedrock_again_once_we_uninstrument(
    bedrock: Any, bedrock_otel_with: Callable[..., Recorded], contrib: Callable[[Recorded], None]
) -> None:
    recorded = make_recorded()
    bedrock_otel_with(recorded)
    contrib(recorded)
    BedrockInstrumentor().uninstrument()
    bedrock.converse(modelId=NOVA, messages=CONVERSE_MESSAGES)
    assert scopes(recorded) != [n.INSTRUMENTATION_SCOPE]
    assert len(recorded.spans()) == 1


def test_aiobotocore_calls_keep_the_contribs_span(bedrock_otel: Recorded) -> None:
    """aiobotocore's client is not traced here: asked from the contrib's async wrapper, the extension
    still traces Bedrock's operations; asked from its sync one, it does not."""
    import asyncio

    import botocore.session
    from opentelemetry.instrumentation.botocore.extensions.bedrock import _BedrockRuntimeExtension
    from opentelemetry.instrumentation.botocore.extensions.types import _AwsSdkCallContext

    client = botocore.session.get_session().create_client(
        "bedrock-runtime", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    extension = _BedrockRuntimeExtension(_AwsSdkCallContext(client, ("Converse", {"modelId": NOVA})))

    def sync_patched_api_call() -> bool:
        return bool(extension.should_trace_service_call())

    async def async_patched_api_call() -> bool:
        return bool(extension.should_trace_service_call())

    assert sync_patched_api_call() is False
    assert asyncio.run(async_patched_api_call()) is True
