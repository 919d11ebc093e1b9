"""Instrument, uninstrument, suppression, sampling, entry points."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import Any

import openai
import pytest
import wrapt
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

import llm_otel
from conftest import Api, Recorded, make_recorded
from llm_otel.fake import FakeProvider
from llm_otel.providers.bedrock import BedrockInstrumentor
from llm_otel.providers.cohere import CohereInstrumentor
from llm_otel.providers.mistral import MistralInstrumentor
from llm_otel.providers.openai import OpenAIInstrumentor

pytestmark = pytest.mark.anyio

Completions = openai.resources.chat.completions.Completions
AsyncCompletions = openai.resources.chat.completions.AsyncCompletions


def test_uninstrument_restores_every_original() -> None:
    originals = {
        name: Completions.__dict__[name] for name in ("create", "parse", "stream") if name in vars(Completions)
    }
    originals_async = {name: AsyncCompletions.__dict__[name] for name in originals}
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument()
    assert all(isinstance(Completions.__dict__[name], wrapt.FunctionWrapper) for name in originals)
    instrumentor.uninstrument()
    for name, original in originals.items():
        assert Completions.__dict__[name] is original
        assert AsyncCompletions.__dict__[name] is originals_async[name]
    embeddings = openai.resources.embeddings.Embeddings
    assert not isinstance(embeddings.__dict__["create"], wrapt.FunctionWrapper)


async def test_double_instrument_makes_one_span(api: Api, otel: Recorded) -> None:
    OpenAIInstrumentor().instrument(tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider)
    await api.chat()
    assert len(otel.spans()) == 1
    assert otel.point("gen_ai.client.operation.duration").count == 1


async def test_no_telemetry_after_uninstrument(api: Api, otel_with: Callable[..., Recorded]) -> None:
    recorded = otel_with()
    OpenAIInstrumentor().uninstrument()
    await api.chat()
    assert recorded.spans() == []


async def test_suppressed_instrumentation_records_nothing(api: Api, otel: Recorded) -> None:
    with suppress_instrumentation():
        reply = await api.chat()
    assert reply.choices
    assert otel.spans() == []
    assert otel.points("gen_ai.client.operation.duration") == []


async def test_sampled_out_call_records_metrics_but_reads_no_request_attributes(
    api: Api, monkeypatch: pytest.MonkeyPatch, otel_with: Callable[..., Recorded]
) -> None:
    reads: list[dict[str, Any]] = []
    patches = OpenAIInstrumentor.patches

    def counting(self: OpenAIInstrumentor, config: dict[str, Any]) -> Any:
        for patch in patches(self, config):
            if patch.operation is not None:
                read = patch.operation.request

                def spying(kwargs: Any, read: Any = read) -> Any:
                    reads.append(dict(kwargs))
                    return read(kwargs)

                yield dataclasses.replace(patch, operation=dataclasses.replace(patch.operation, request=spying))
            else:
                yield patch

    monkeypatch.setattr(OpenAIInstrumentor, "patches", counting)
    recorded = otel_with(make_recorded(sampler=ALWAYS_OFF))
    await api.chat(temperature=0.5)
    assert recorded.spans() == []
    assert reads == []
    assert recorded.point("gen_ai.client.operation.duration").count == 1
    assert recorded.point("gen_ai.client.token.usage", gen_ai__token__type="output").sum == 12


def test_unsupported_sdk_version_is_a_quiet_no_op(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(OpenAIInstrumentor, "requirement", "openai >= 999")
    OpenAIInstrumentor().instrument()
    assert not OpenAIInstrumentor().is_instrumented_by_opentelemetry
    assert not isinstance(Completions.__dict__["create"], wrapt.FunctionWrapper)
    assert [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")] == []


def test_entry_point_is_ours_and_loads() -> None:
    points = {ep.name: ep for ep in importlib.metadata.entry_points(group="opentelemetry_instrumentor")}
    assert points["llm_otel_openai"].load() is OpenAIInstrumentor
    assert points["llm_otel_mistral"].load() is MistralInstrumentor
    assert points["llm_otel_cohere"].load() is CohereInstrumentor
    assert points["llm_otel_bedrock"].load() is BedrockInstrumentor


def test_top_level_instrument_reports_what_it_instrumented() -> None:
    try:
        every = [
            "openai >= 1.66",
            "anthropic >= 0.40",
            "ollama >= 0.4",
            "mistralai >= 1.5",
            "cohere >= 5.16",
            "botocore >= 1.34.116",
        ]  # all in the test venvs
        if "google-genai" in importlib.metadata.packages_distributions().get("google", []):
            every.append("google-genai >= 1.8")  # not beside the other SDKs' floors (see the Makefile)
        # The SDKs only: the service instrumentations (tests/test_service.py) would patch httpx for every test after.
        assert llm_otel.instrument(services=False) == every
        assert llm_otel.instrument(services=False) == every  # twice is harmless
        assert isinstance(Completions.__dict__["create"], wrapt.FunctionWrapper)
    finally:
        llm_otel.uninstrument()
    assert not isinstance(Completions.__dict__["create"], wrapt.FunctionWrapper)


def test_instrumenting_before_the_sdk_is_imported(fake: FakeProvider) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        import llm_otel
        assert "openai" not in sys.modules
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        llm_otel.instrument(tracer_provider=provider, services=False)
        assert "openai" not in sys.modules  # patching waits for the SDK's import
        import openai
        client = openai.OpenAI(base_url="{fake.openai_base_url}", api_key="k", max_retries=0)
        client.embeddings.create(model="e", input="a b")
        print([s.name for s in exporter.get_finished_spans()])
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['embeddings e']"
