"""Bedrock: instrument/uninstrument, patching deferred to botocore's import, and the contrib botocore
instrumentation's Bedrock extension, imported on its first call, kept to one span in a fresh process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import botocore.client
import pytest
import wrapt

from conftest import CONVERSE_MESSAGES, NOVA, Recorded
from llm_otel.fake import FakeProvider
from llm_otel.providers.bedrock import BedrockInstrumentor


def test_uninstrument_restores_the_original() -> None:
    original = vars(botocore.client.BaseClient)["_make_api_call"]
    BedrockInstrumentor().instrument()
    assert isinstance(vars(botocore.client.BaseClient)["_make_api_call"], wrapt.FunctionWrapper)
    BedrockInstrumentor().uninstrument()
    assert vars(botocore.client.BaseClient)["_make_api_call"] is original


def test_double_instrument_makes_one_span(bedrock: Any, bedrock_otel: Recorded) -> None:
    BedrockInstrumentor().instrument(
        tracer_provider=bedrock_otel.tracer_provider, meter_provider=bedrock_otel.meter_provider
    )
    bedrock.converse(modelId=NOVA, messages=CONVERSE_MESSAGES)
    assert len(bedrock_otel.spans()) == 1


def test_unsupported_botocore_is_a_quiet_no_op(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(BedrockInstrumentor, "requirement", "botocore >= 999")
    BedrockInstrumentor().instrument()
    assert not BedrockInstrumentor().is_instrumented_by_opentelemetry
    assert not isinstance(vars(botocore.client.BaseClient)["_make_api_call"], wrapt.FunctionWrapper)
    assert [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")] == []


def test_instrumenting_before_botocore_is_imported(fake: FakeProvider) -> None:
    # Both instrumentations on before boto3 is imported; the contrib's Bedrock extension is imported
    # by its first Bedrock call, inside that call.
    script = textwrap.dedent(
        f"""
        import sys
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        import llm_otel
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        llm_otel.instrument(tracer_provider=provider, services=False)
        assert "botocore" not in sys.modules
        from opentelemetry.instrumentation.botocore import BotocoreInstrumentor  # imports botocore
        BotocoreInstrumentor().instrument(tracer_provider=provider)
        assert "opentelemetry.instrumentation.botocore.extensions.bedrock" not in sys.modules
        import boto3
        client = boto3.client("bedrock-runtime", endpoint_url="{fake.url}", region_name="us-east-1",
                              aws_access_key_id="x", aws_secret_access_key="x")
        client.converse(modelId="{NOVA}", messages={CONVERSE_MESSAGES!r})
        (span,) = exporter.get_finished_spans()
        print(span.instrumentation_scope.name, span.name, span.attributes["gen_ai.usage.output_tokens"])
        """
    )
    done = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["llm_otel", "chat", NOVA, "12"]
